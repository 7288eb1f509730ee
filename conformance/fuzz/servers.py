"""Servers under test given as commands: ``--server NAME=COMMAND``.

The command runs through ``/bin/sh -c`` in a session of its own, with ``{port}`` replaced by
a free 127.0.0.1 port; it is ready once that port accepts a connection. Stopping it signals
the whole process group (the shell and whatever it started): SIGTERM, then SIGKILL, so that
nothing outlives the fuzzer. After a crash it is started again on the same port, so that
Hypothesis can shrink the input that crashed it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from conformance.errors import ConformanceError


class ServerStartError(ConformanceError):
    """A --server command did not start accepting connections."""


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


@dataclass
class ManagedServer:
    """One server started from a command, on 127.0.0.1."""

    name: str
    command: str
    log: Path | None = None
    startup: float = 20.0
    port: int = field(default_factory=free_port)
    starts: int = 0
    _process: subprocess.Popen[bytes] | None = None
    _log_file: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def exit_status(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def start(self) -> None:
        if self.log is not None and self._log_file is None:
            self._log_file = self.log.open("ab")
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
        deadline = time.monotonic() + self.startup
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                status = self._process.returncode
                self.stop()
                raise ServerStartError(
                    f"server {self.name!r} exited with status {status} before accepting connections"
                    + (f" (its output: {self.log})" if self.log else "")
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return
            time.sleep(0.05)
        self.stop()
        raise ServerStartError(
            f"server {self.name!r} did not accept connections on port {self.port} in {self.startup:g} s"
        )

    def restart(self) -> None:
        self._kill()
        self.start()

    def _kill(self) -> None:
        process = self._process
        if process is None:
            return
        self._process = None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGTERM)
        # Wait for the leader without reaping it (WNOWAIT): while it is a zombie its pid, the
        # group's id, cannot be reused, so the SIGKILL below reaches only what it started.
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            try:
                if os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                    break
            except ChildProcessError:
                break
            time.sleep(0.02)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5.0)

    def stop(self) -> None:
        self._kill()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
