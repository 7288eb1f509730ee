"""The client under test as a process: started per case, watched, and never left behind.

The command is split into argv as a POSIX shell splits words (:func:`shlex.split`, no shell
runs it), its placeholders filled. The process runs in a session of its own
(``start_new_session``), so that ending it ends everything it started (a wrapper script and
the client under it) with one ``killpg``; every process still alive when the reactor shuts down,
or the interpreter exits, is ended the same way.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shlex
import signal
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from typing import IO

from twisted.internet import defer

from conformance.verdicts.client import STDERR_TAIL, STDOUT_CAP, ClientExited

#: Seconds between two looks at whether the process ended.
POLL_INTERVAL = 0.02
PLACEHOLDERS = ("url", "host", "port", "path", "case", "ca")

_LIVE: set[ClientProcess] = set()


def argv_for(command: str, values: Mapping[str, str]) -> list[str]:
    """``command`` split as a shell splits words, each word's placeholders filled in
    (``{url}``, ``{host}``, ``{port}``, ``{path}``, ``{case}``, ``{ca}``; ``{{`` and ``}}`` for
    braces)."""

    def fill(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole in ("{{", "}}"):
            return whole[0]
        return values.get(match.group(1), "")

    return [_PLACEHOLDER.sub(fill, word) for word in shlex.split(command)]


_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{(" + "|".join(PLACEHOLDERS) + r")\}")


class ClientProcess:
    """One started client. ``on_exit`` is called once, with what it did, when it ends."""

    def __init__(self, reactor: object, argv: list[str], *, on_exit: Callable[[ClientExited], None]) -> None:
        self.reactor = reactor
        self.argv = argv
        self.on_exit = on_exit
        self.exited: ClientExited | None = None
        # Files, not pipes: a client that writes much and exits late never blocks on a full
        # pipe, and nothing needs reading until it has ended. Closed in _read.
        self._stdout: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self._started = reactor.seconds()  # type: ignore[attr-defined]
        self._killed = False
        self._waiters: list[defer.Deferred[None]] = []
        self._process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._stdout,
            stderr=self._stderr,
            start_new_session=True,
            close_fds=True,
        )
        _LIVE.add(self)
        self._timer = reactor.callLater(POLL_INTERVAL, self._poll)  # type: ignore[attr-defined]

    @property
    def pid(self) -> int:
        return self._process.pid

    def _poll(self) -> None:
        code = self._process.poll()
        if code is None:
            self._timer = self.reactor.callLater(POLL_INTERVAL, self._poll)  # type: ignore[attr-defined]
            return
        self._finish(code)

    def _finish(self, code: int) -> None:
        _LIVE.discard(self)
        _kill_group(self._process.pid)  # whatever it left running in its session
        stdout, length = _read(self._stdout, STDOUT_CAP, head=True)
        stderr, _ = _read(self._stderr, STDERR_TAIL, head=False)
        self.exited = ClientExited(
            status=code if code >= 0 else None,
            signal=-code if code < 0 else None,
            killed=self._killed,
            after=self.reactor.seconds() - self._started,  # type: ignore[attr-defined]
            stdout=stdout,
            stdout_length=length,
            stderr=stderr,
        )
        waiters, self._waiters = self._waiters, []
        self.on_exit(self.exited)
        for waiter in waiters:
            waiter.callback(None)

    async def wait(self, timeout: float) -> bool:
        """Wait until the process ended (True) or ``timeout`` seconds passed (False)."""
        if self.exited is not None:
            return True
        waiter: defer.Deferred[None] = defer.Deferred()
        self._waiters.append(waiter)
        timer = self.reactor.callLater(max(0.0, timeout), _fire, waiter)  # type: ignore[attr-defined]
        try:
            await waiter
        finally:
            if timer.active():
                timer.cancel()
            # A wait that timed out leaves: its fired waiter must not be called again at the exit.
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        return self.exited is not None

    def kill(self) -> None:
        """End the process and its session now (it outlived its deadline, or the case ended);
        its exit is reported at once, as killed."""
        if self.exited is not None:
            return
        self._killed = True
        _kill_group(self._process.pid)
        try:
            code = self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
            code = -signal.SIGKILL
        if self._timer.active():
            self._timer.cancel()
        self._finish(code)


def _fire(waiter: defer.Deferred[None]) -> None:
    if not waiter.called:
        waiter.callback(None)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _read(file: IO[bytes], cap: int, *, head: bool) -> tuple[bytes, int]:
    """The first (``head``) or last ``cap`` bytes of a finished output file, and its size."""
    file.flush()
    size = file.seek(0, os.SEEK_END)
    file.seek(0 if head else max(0, size - cap))
    data = file.read(cap)
    file.close()
    return data, size


def kill_all() -> None:
    """End every client still running (reactor shutdown, interpreter exit)."""
    for process in list(_LIVE):
        _LIVE.discard(process)
        _kill_group(process.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process._process.wait(timeout=5)


def live_count() -> int:
    """Clients started and not yet ended (tests check it returns to zero)."""
    return len(_LIVE)


atexit.register(kill_all)
