"""One input on one connection, with blocking sockets and hard deadlines.

The fuzzer sends one input at a time and waits for its answer, so there is nothing to
interleave: plain sockets are enough here (the driver, Twisted, is for running many cases at
once). Every wait has a deadline and every read a byte cap. The bytes that come back are read
with the project's own response parser (:class:`conformance.codecs.http1.ResponseParser`), so
the oracles see framing and syntax violations exactly as ``conformance run`` would.
"""

from __future__ import annotations

import select
import socket
import time
from dataclasses import dataclass, field

from conformance.codecs.http1 import Garbage, Response, ResponseParser

#: pause between two writes of one input (TCP_NODELAY: each write its own segment)
FUZZ_WRITE_DELAY_MS = 5
#: the ``wait`` step a finding writes between two writes: longer, so a replay never merges
#: what the fuzzer kept apart
WRITE_DELAY_MS = 20


@dataclass(frozen=True, kw_only=True)
class Exchange:
    """What one target did with one input."""

    connected: bool
    responses: tuple[Response, ...] = ()
    garbage: Garbage | None = None
    closed: bool = False  # the target closed (FIN or RST) before we stopped reading
    reset: bool = False
    timed_out: bool = False  # the deadline passed with no final response and no close
    received: int = 0  # bytes read
    error: str = ""  # why it could not connect

    @property
    def finals(self) -> list[Response]:
        return [r for r in self.responses if not r.is_interim]

    def describe(self) -> str:
        if not self.connected:
            return f"no connection ({self.error})"
        parts = [r.describe() for r in self.responses]
        if self.garbage is not None:
            parts.append(self.garbage.describe())
        if self.timed_out:
            parts.append("no answer and no close within the deadline" if not parts else "then nothing more")
        elif self.closed:
            parts.append("connection reset" if self.reset else "connection closed")
        return "; ".join(parts) or "nothing"


@dataclass
class Counters:
    """Totals the bounds are checked against."""

    connections: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    extra: dict[str, int] = field(default_factory=dict)


def exchange(
    host: str,
    port: int,
    writes: list[bytes],
    *,
    method: str,
    deadline: float,
    idle: float,
    max_read: int = 1 << 20,
    counters: Counters | None = None,
) -> Exchange:
    """Send ``writes`` (a pause between two) and read until the target closes, the deadline
    passes with no final response, or ``idle`` seconds pass with nothing new after one."""
    counters = counters or Counters()
    counters.connections += 1
    try:
        sock = socket.create_connection((host, port), timeout=min(deadline, 5.0))
    except OSError as exc:
        return Exchange(connected=False, error=exc.strerror or str(exc))
    parser = ResponseParser(body_cap=max_read)
    parser.expect_response_to(method)
    events: list[Response | Garbage] = []
    closed = reset = False
    received = 0
    start = time.monotonic()
    with sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        send_writes(sock, writes, start + deadline, counters)
        last_news = time.monotonic()
        while True:
            now = time.monotonic()
            answered = any(isinstance(e, Garbage) or not e.is_interim for e in events)
            if parser.done:
                break
            if answered and now - last_news >= idle:
                break
            if now - start >= deadline:
                break
            wait = min(start + deadline - now, (last_news + idle - now) if answered else deadline)
            readable, _, _ = select.select([sock], [], [], max(0.0, wait))
            if not readable:
                continue
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                data, reset = b"", True
            except OSError:
                data, reset = b"", True
            if not data:
                closed = True
                events += parser.feed_eof()
                break
            received += len(data)
            counters.bytes_received += len(data)
            events += parser.feed(data)
            last_news = time.monotonic()
            if received >= max_read:
                break
    responses = tuple(e for e in events if isinstance(e, Response))
    garbage = next((e for e in events if isinstance(e, Garbage)), None)
    answered = any(not r.is_interim for r in responses) or garbage is not None
    return Exchange(
        connected=True,
        responses=responses,
        garbage=garbage,
        closed=closed,
        reset=reset,
        timed_out=not closed and not answered and not parser.done,
        received=received,
    )


def send_writes(sock: socket.socket, writes: list[bytes], until: float, counters: Counters) -> None:
    """Each write in turn, a pause between two; stop at the first the target does not take
    (it closed or reset: the caller reads what it said)."""
    for number, piece in enumerate(writes):
        if number:
            time.sleep(FUZZ_WRITE_DELAY_MS / 1000)
        if not _send_all(sock, piece, until):
            return
        counters.bytes_sent += len(piece)


def _send_all(sock: socket.socket, data: bytes, until: float) -> bool:
    view = memoryview(data)
    while view:
        remaining = until - time.monotonic()
        if remaining <= 0:
            return False
        _, writable, _ = select.select([], [sock], [], remaining)
        if not writable:
            return False
        try:
            sent = sock.send(view)
        except OSError:
            return False
        view = view[sent:]
    return True


def alive(host: str, port: int, path: str, *, deadline: float, counters: Counters | None = None) -> Exchange:
    """The liveness probe: a plain GET must get a complete response (any status)."""
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode("latin-1")
    return exchange(host, port, [request], method="GET", deadline=deadline, idle=0.05, counters=counters)


def is_alive(result: Exchange) -> bool:
    return result.connected and any(r.complete and r.status is not None for r in result.finals)
