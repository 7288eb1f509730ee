"""One client connection: bytes in and out, decoded events, and a way to wait for change."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from twisted.internet import defer, error
from twisted.internet.interfaces import IHandshakeListener, IPushProducer, IReactorTime
from twisted.internet.protocol import Protocol
from twisted.protocols.tls import TLSMemoryBIOProtocol
from twisted.python.failure import Failure
from zope.interface import implementer

from conformance.codecs.common import ConnectionClosed, Event
from conformance.driver.recording import Recorder
from conformance.driver.sessions import Pause, Session
from conformance.results import Direction
from conformance.verdicts.expectations import Overflow


@implementer(IPushProducer)
class _Pacer:
    """Told by the transport when its write buffer is full (pause) and drained (resume)."""

    def __init__(self) -> None:
        self.paused = False
        self.stopped = False
        self._waiter: defer.Deferred[None] | None = None

    def pauseProducing(self) -> None:  # noqa: N802 - Twisted's name
        self.paused = True

    def resumeProducing(self) -> None:  # noqa: N802
        self.paused = False
        self._fire()

    def stopProducing(self) -> None:  # noqa: N802
        self.stopped = True
        self._fire()

    def _fire(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.called:
            waiter.callback(None)

    async def resumed(self, reactor: IReactorTime, timeout: float) -> bool:
        """Wait until resumed (True), or stopped or ``timeout`` passed (False)."""
        if not self.paused:
            return not self.stopped
        self._waiter = defer.Deferred()
        timer = reactor.callLater(timeout, self._fire)
        try:
            await self._waiter
        finally:
            if timer.active():
                timer.cancel()
        return not self.paused and not self.stopped


@implementer(IHandshakeListener)
class WireProtocol(Protocol):
    """Records what crosses the wire and feeds received bytes to the protocol session."""

    def __init__(self, *, session: Session, recorder: Recorder, reactor: IReactorTime, byte_cap: int) -> None:
        self.session = session
        self.recorder = recorder
        self.reactor = reactor
        self.byte_cap = byte_cap
        self.events: list[Event] = []
        self.received = 0
        self.sent = 0
        self.ended = False  # nothing more will arrive
        self._waiters: list[defer.Deferred[None]] = []
        self.opened_at: float | None = None  # reactor time of the connection
        self.first_data_at: float | None = None  # and of the first byte received
        self._handshake_done = False
        self._lost: Failure | None = None
        self._handshake_waiters: list[defer.Deferred[None]] = []
        self._streaming = False  # write_stream is writing a payload in pieces
        self._held = bytearray()  # the session's replies meanwhile: they go out after it

    # -- Twisted callbacks

    def connectionMade(self) -> None:  # noqa: N802 - Twisted's name
        self.opened_at = self.reactor.seconds()

    def answer_delay(self) -> float | None:
        """Seconds from the connection to the first byte from the target (None: no byte)."""
        if self.first_data_at is None or self.opened_at is None:
            return None
        return self.first_data_at - self.opened_at

    def handshakeCompleted(self) -> None:  # noqa: N802
        self._handshake_done = True
        waiters, self._handshake_waiters = self._handshake_waiters, []
        for waiter in waiters:
            waiter.callback(None)

    def handshake(self) -> defer.Deferred[None]:
        """Fires when the TLS handshake is done; fails with the reason if the connection is
        lost first."""
        if self._handshake_done:
            return defer.succeed(None)
        if self._lost is not None:
            return defer.fail(self._lost)
        waiter: defer.Deferred[None] = defer.Deferred()
        self._handshake_waiters.append(waiter)
        return waiter

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        if self.ended:
            return
        if self.first_data_at is None:
            self.first_data_at = self.reactor.seconds()
        self.received += len(data)
        self.recorder.data(Direction.RECEIVED, data)
        for event in self.session.receive(data):
            self._emit(event)
        reply = self.session.outgoing()
        if reply and self._streaming:
            self._held += reply  # not inside a frame being streamed: after it
        elif reply:
            self.write(reply)
        if self.received > self.byte_cap:
            self._emit(Overflow(self.byte_cap))
            self.ended = True
            self.transport.abortConnection()
        self._wake()

    def connectionLost(self, reason: Failure = error.ConnectionDone) -> None:  # noqa: N802
        self._lost = reason
        waiters, self._handshake_waiters = self._handshake_waiters, []
        for waiter in waiters:
            waiter.errback(reason)
        if self.ended:
            self._wake()
            return
        for event in self.session.receive_eof():
            self._emit(event)
        reset = not reason.check(error.ConnectionDone)
        message = "" if not reset else reason.getErrorMessage()
        self._emit(ConnectionClosed(reset=reset, reason=message))
        self.ended = True
        self._wake()

    # -- used by the interpreter

    def observe(self, event: Event) -> None:
        """Add an event observed beside the wire (the client under test exited) and wake
        whoever waits for a change."""
        self._emit(event)
        self._wake()

    def _emit(self, event: Any) -> None:
        self.events.append(event)
        if self.recorder.accepting:  # describing 10 000 frames of a flood costs; the cap drops them
            self.recorder.event(event.describe(), event.detail())
        else:
            self.recorder.truncated = True

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.callback(None)

    def write(self, data: bytes) -> bool:
        """Send bytes; False when the connection is already gone (recorded, not an error)."""
        if self.ended or self.transport is None or getattr(self.transport, "disconnected", False):
            self.recorder.event(f"not sent ({len(data)} bytes): the connection is closed")
            return False
        self.sent += len(data)
        self.recorder.data(Direction.SENT, data)
        self.session.sent(data)
        self.transport.write(data)
        return True

    async def write_stream(self, chunks: Iterable[bytes | Pause], *, stall_timeout: float) -> bool:
        """Write pieces as they are produced, waiting while the transport's buffer is full, so
        a 16 MiB frame never sits in memory whole. False when the connection went away or the
        target stopped reading for ``stall_timeout`` seconds (recorded, not an error)."""
        if self.transport is None:
            return False
        pacer = _Pacer()
        self.transport.registerProducer(pacer, True)
        # A session whose streamed pieces cut through frames (a WebSocket message written 64
        # KiB at a time) has its replies held until the payload is out; others (HTTP/2, whose
        # pieces end on frame boundaries but for one filled frame) answer between pieces.
        self._streaming = bool(getattr(self.session, "replies_after_stream", False))
        try:
            for chunk in chunks:
                if isinstance(chunk, Pause):
                    if not await self._until(chunk.ready, stall_timeout):
                        self.recorder.event(
                            f"sending stopped: still {chunk.describe()} after {stall_timeout:g} s"
                        )
                        return False
                    continue
                if not self.write(chunk):
                    return False
                if pacer.paused and not await pacer.resumed(self.reactor, stall_timeout):
                    self.recorder.event(f"sending stopped: the target read nothing for {stall_timeout:g} s")
                    return False
            return True
        finally:
            self._streaming = False
            # Unregister whatever wraps the pacer (TLS puts a membrane around it).
            if self.transport is not None:
                self.transport.unregisterProducer()
            if self._held:  # replies (a close frame, a SETTINGS ACK) that arrived meanwhile
                held, self._held = bytes(self._held), bytearray()
                self.write(held)

    async def _until(self, ready: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``ready()``; False when the connection ended or ``timeout`` passed first."""
        deadline = self.reactor.seconds() + timeout
        while not ready():
            left = deadline - self.reactor.seconds()
            if self.ended or left <= 0:
                return False
            await self.changed(left)
        return True

    async def changed(self, timeout: float) -> None:
        """Wait until something arrives, the connection ends, or ``timeout`` seconds pass."""
        if self.ended:
            return
        waiter: defer.Deferred[None] = defer.Deferred()
        self._waiters.append(waiter)
        timer = self.reactor.callLater(max(0.0, timeout), self._expire, waiter)
        try:
            await waiter
        finally:
            if timer.active():
                timer.cancel()

    def _expire(self, waiter: defer.Deferred[None]) -> None:
        if waiter in self._waiters:
            self._waiters.remove(waiter)
            waiter.callback(None)

    def half_close(self) -> None:
        if self.transport is None or self.ended:
            return
        if isinstance(self.transport, TLSMemoryBIOProtocol):
            # TLS's half-close is its close_notify alert (RFC 8446 §6.1): Twisted sends it,
            # after what is still buffered, and keeps reading until the peer's; a TCP FIN
            # under TLS would drop the buffered bytes and leave the peer a truncated stream.
            self.recorder.event("half-closed (TLS close_notify sent)")
            self.transport.loseConnection()
            return
        self.recorder.event("half-closed (FIN sent)")
        self.transport.loseWriteConnection()

    def abort(self) -> None:
        if self.transport is not None and not getattr(self.transport, "disconnected", False):
            self.transport.abortConnection()
