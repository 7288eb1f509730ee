"""Hostile targets: servers that misbehave in every way a harness must survive.

Each is a Twisted protocol; :func:`listen` starts one on a free loopback port in the
reactor it is given. Every loop is bounded in count and time and stops by itself.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import protocol, task

STATUS = b"HTTP/1.1 200 OK\r\n"


class NeverAnswers(protocol.Protocol):
    """Accepts the connection, reads everything, says nothing, never closes."""


class Trickle(protocol.Protocol):
    """Answers one byte at a time, one per second (at most 60 bytes)."""

    def connectionMade(self) -> None:  # noqa: N802
        self._data = iter(STATUS + b"Content-Length: 5\r\n\r\nhello")
        self._loop = task.LoopingCall(self._next)
        self._loop.clock = self.factory.reactor
        self._loop.start(1.0, now=False)
        self._sent = 0

    def _next(self) -> None:
        byte = next(self._data, None)
        self._sent += 1
        if byte is None or self._sent > 60:
            self._loop.stop()
            return
        self.transport.write(bytes([byte]))

    def connectionLost(self, reason: Any = None) -> None:  # noqa: N802
        if self._loop.running:
            self._loop.stop()


class Endless(protocol.Protocol):
    """A chunked response that never ends (bounded: at most 256 MiB, 30 s)."""

    head = STATUS + b"Transfer-Encoding: chunked\r\n\r\n"
    unit = b"4000\r\n" + b"x" * 0x4000 + b"\r\n"

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        if getattr(self, "_started", False):
            return
        self._started = True
        self._written = 0
        self._deadline = self.factory.reactor.seconds() + 30
        self.transport.write(self.head)
        self.transport.registerProducer(self, True)

    def resumeProducing(self) -> None:  # noqa: N802
        reactor = self.factory.reactor
        while self._written < 256 * 2**20 and reactor.seconds() < self._deadline:
            self.transport.write(self.unit * 16)
            self._written += len(self.unit) * 16
            if getattr(self, "_paused", False):
                self._paused = False
                return
        self.transport.unregisterProducer()
        self.transport.loseConnection()

    def pauseProducing(self) -> None:  # noqa: N802
        self._paused = True

    def stopProducing(self) -> None:  # noqa: N802
        self._written = 1 << 40


class EndlessHeaders(Endless):
    """A header section that never ends."""

    head = STATUS
    unit = b"X-Filler: " + b"y" * 1000 + b"\r\n"


class Garbage(protocol.Protocol):
    """Answers binary garbage with NUL bytes and markup, then closes."""

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        self.transport.write(b"\x00\xff<script>alert(1)</script>\x1b[31m" + bytes(range(256)))
        self.transport.loseConnection()


class ResetMidResponse(protocol.Protocol):
    """Starts a response, then resets the connection."""

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        self.transport.write(STATUS + b"Content-Length: 100\r\n\r\npartial")
        self.factory.reactor.callLater(0.05, self.transport.abortConnection)


HOSTILE = {
    "never-answers": NeverAnswers,
    "trickle": Trickle,
    "endless-body": Endless,
    "endless-headers": EndlessHeaders,
    "garbage": Garbage,
    "reset-mid-response": ResetMidResponse,
}


def listen(reactor: Any, kind: str) -> Any:
    factory = protocol.Factory.forProtocol(HOSTILE[kind])
    factory.reactor = reactor
    return reactor.listenTCP(0, factory, interface="127.0.0.1")
