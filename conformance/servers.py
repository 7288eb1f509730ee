"""Servers under test given as commands: ``--server NAME=COMMAND`` of ``run`` and ``fuzz``.

The command runs through ``/bin/sh -c`` in a session of its own, with ``{port}`` replaced by
a free 127.0.0.1 port; it is ready once that port accepts a connection. Stopping it signals
the whole process group (the shell and whatever it started): SIGTERM, then SIGKILL, so that
nothing outlives the run. ``fuzz`` starts one again on the same port after a crash, so that
Hypothesis can shrink the input that crashed it.

Exit statuses are read without reaping the group's leader (``waitid`` with ``WNOWAIT``):
while it is a zombie its pid, the group's id, cannot be reused, so a signal to the group
reaches only what the command started, until :meth:`ManagedServer.stop` reaps it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NoReturn

from conformance.errors import ConformanceError

#: Seconds a stopped group has to exit after SIGTERM before SIGKILL.
GRACE = 3.0
#: How much of a server's output a start failure quotes.
TAIL_LINES, TAIL_BYTES = 15, 4000


class ServerStartError(ConformanceError):
    """A --server command did not start accepting connections: ``reason`` in one line (with
    the output's last line), and ``str()`` that with the output's last lines below it."""

    def __init__(self, reason: str, tail: str = "") -> None:
        super().__init__(reason + "".join(f"\n    {line}" for line in tail.splitlines()))
        self.reason = reason
        self.tail = tail


def parse_server(spec: str) -> tuple[str, str]:
    """``NAME=COMMAND`` -> (name, command); the command must contain ``{port}``."""
    name, sep, command = spec.partition("=")
    if not sep or not name or not command.strip() or not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"--server {spec!r}: expected NAME=COMMAND, e.g. mine='./myserver --port {{port}}'")
    if "{port}" not in command:
        raise ValueError(f"--server {spec!r}: the command must contain {{port}}, where the port goes")
    return name, command


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status(info: os.waitid_result) -> int:
    """A child's exit status as ``Popen.returncode`` states it: -N when killed by signal N."""
    return -info.si_status if info.si_code in (os.CLD_KILLED, os.CLD_DUMPED) else info.si_status


@dataclass
class ManagedServer:
    """One server started from a command, on 127.0.0.1 (``host``: where it is reached)."""

    name: str
    command: str
    log: Path | None = None  # its stdout and stderr; else they are discarded
    startup: float = 20.0  # seconds to accept a connection, for start()
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    starts: int = 0
    _process: subprocess.Popen[bytes] | None = None
    _log_file: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def running(self) -> bool:
        return self._process is not None and self.exit_status is None

    @property
    def exit_status(self) -> int | None:
        """The command's exit status once it has exited (-N: killed by signal N), else None."""
        process = self._process
        if process is None:
            return None
        if process.returncode is not None:
            return process.returncode
        try:
            info = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:  # reaped by someone else: ask Popen, which knows
            return process.poll()
        return None if info is None else _status(info)

    def launch(self) -> None:
        """Start the command, without waiting for it to listen (:meth:`wait_ready`)."""
        if self.log is not None and self._log_file is None:
            # A new log for a new server (a report directory used again); a restarted one
            # goes on with its own.
            self._log_file = self.log.open("ab" if self.starts else "wb")
        output = self._log_file if self._log_file is not None else subprocess.DEVNULL
        command = self.command.replace("{port}", str(self.port))
        self._process = subprocess.Popen(
            ["/bin/sh", "-c", command],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            start_new_session=True,  # a process group of its own: stop() ends all of it
        )
        self.starts += 1

    def ready(self) -> bool:
        """Whether the port accepts a connection now; a ServerStartError (the server
        stopped) when the command has exited."""
        status = self.exit_status
        if status is not None:
            self._failed(f"exited with status {status} before accepting connections")
        with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=0.5):
            return True
        return False

    def wait_ready(self, deadline: float, interrupted: Callable[[], None] | None = None) -> None:
        """Return once the port accepts a connection; else, by ``deadline`` (monotonic), a
        ServerStartError, the server stopped. ``interrupted`` is called between attempts
        (it raises to abandon the wait)."""
        startup = deadline - time.monotonic()
        while time.monotonic() < deadline:
            if self.ready():
                return
            if interrupted is not None:
                interrupted()
            time.sleep(0.05)
        self._failed(f"did not accept connections on port {self.port} within {startup:.3g} s (stopped)")

    def start(self) -> None:
        self.launch()
        self.wait_ready(time.monotonic() + self.startup)

    def restart(self) -> None:
        self._kill()
        self.start()

    def output_tail(self) -> str:
        """The last lines the server wrote (stdout and stderr), when they go to ``log``."""
        if self.log is None:
            return ""
        if self._log_file is not None:
            self._log_file.flush()
        try:
            with self.log.open("rb") as file:
                file.seek(max(0, file.seek(0, os.SEEK_END) - TAIL_BYTES))
                data = file.read()
        except OSError:
            return ""
        lines = data.decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-TAIL_LINES:]).strip()

    def _failed(self, what: str) -> NoReturn:
        """Stop the server and raise the ServerStartError that says ``what`` it did."""
        self.stop()
        tail = self.output_tail()
        reason = f"server {self.name!r} {what}"
        if self.log is not None:
            last = tail.splitlines()[-1].strip() if tail else ""
            said = f"; its last line: {last[:200]!r}" if last else "; it wrote nothing"
            reason += f"{said} (its output: {self.log})"
        raise ServerStartError(reason, tail)

    def _signal(self, number: int) -> None:
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, number)

    def _leader_exited(self) -> bool:
        process = self._process
        if process is None or process.returncode is not None:
            return True
        try:
            return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    def _reap(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5.0)

    def _kill(self) -> None:
        stop_all([self], close_logs=False)

    def stop(self) -> None:
        self._kill()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


def stop_all(
    servers: Sequence[ManagedServer], *, close_logs: bool = True, hurry: Callable[[], bool] | None = None
) -> None:
    """Stop every server's whole process group: SIGTERM to each, up to :data:`GRACE`
    seconds in all for their leaders to exit (less once ``hurry()`` says so: the user asked
    to quit at once), then SIGKILL to each group (whatever the leader left behind), then
    reap the leaders."""
    started = [server for server in servers if server._process is not None]
    for server in started:
        server._signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE
    while time.monotonic() < deadline and not all(server._leader_exited() for server in started):
        if hurry is not None and hurry():
            break
        time.sleep(0.02)
    for server in started:
        server._signal(signal.SIGKILL)
    for server in started:
        server._reap()
    if close_logs:
        for server in servers:
            if server._log_file is not None:
                server._log_file.close()
                server._log_file = None
