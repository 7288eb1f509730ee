"""The pre-flight probe: before a suite runs against a target, does the target speak what its
URL says?

A user's first mistakes (``h2c://`` against an HTTP/1.1-only server, ``ws://`` against a
plain HTTP server, ``http://`` against a TLS port or the other way round, a self-signed
certificate) would otherwise turn into hundreds of FAILs, each true of the bytes and none
telling what is wrong. One well-formed exchange per target and suite, within a deadline,
tells it once: the runner then gives every case of that suite one ERROR with the diagnosis
and a hint (:func:`conformance.driver.runner.run_suite`).

A probe diagnoses only what no conforming server of the suite could do — answer a
well-formed request of the protocol in another protocol, close every connection without a
byte, fail the TLS handshake — and says nothing of a target that is slow, silent, or wrong
in any way a case judges: those are the cases' to find.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass

from twisted.internet import defer
from twisted.internet.error import (
    ConnectError,
    ConnectingCancelledError,
    DNSLookupError,
    TCPTimedOutError,
    UserError,
)
from twisted.internet.interfaces import IHandshakeListener
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from zope.interface import implementer

from conformance.driver.context import connect_error_reason, tls_error_reason
from conformance.driver.endpoints import TLSSettings, endpoint_for
from conformance.driver.recording import Recorder
from conformance.results import Direction, TranscriptEntry
from conformance.target import Target

#: What :meth:`_Probe.exchange` returns when a connection attempt timed out.
_NO_ANSWER = "the connection attempt timed out"
#: Seconds a probe waits for an answer at most (less when the run's step timeout is less):
#: a target that answers later is not diagnosed, its cases judge it.
ANSWER_DEADLINE = 3.0
#: Bytes of the target's answer a probe reads at most (a status line and headers).
READ_CAP = 4096
#: The HTTP/2 connection preface and an empty SETTINGS frame (RFC 9113 §3.4).
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
#: A TLS record (handshake or alert, any version 3.x): what a TLS server sends to cleartext.
_TLS_RECORD = (b"\x15\x03", b"\x16\x03")


@dataclass(frozen=True)
class Diagnosis:
    """Why no case of a suite can run against a target, and what to do about it."""

    reason: str
    connected: bool  # a connection was made: the target is reachable, just not as the URL says
    transcript: tuple[TranscriptEntry, ...] = ()


@implementer(IHandshakeListener)
class _Exchange(Protocol):
    """Writes ``request`` and reads until ``enough`` says so, the target closes, or the
    deadline passes."""

    def __init__(self, request: bytes, enough: Callable[[bytes], bool], recorder: Recorder) -> None:
        self.request = request
        self.enough = enough
        self.recorder = recorder
        self.data = bytearray()
        self.closed = False
        self.lost: Failure | None = None
        self.handshake_done = False
        self.negotiated: bytes | None = None
        self.done: defer.Deferred[None] = defer.Deferred()

    def connectionMade(self) -> None:  # noqa: N802 - Twisted's name
        if self.request:
            self.recorder.data(Direction.SENT, self.request)
            self.transport.write(self.request)  # type: ignore[union-attr]

    def handshakeCompleted(self) -> None:  # noqa: N802
        self.handshake_done = True
        self.negotiated = getattr(self.transport, "negotiatedProtocol", None)
        if not self.request:
            self._finish()

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        self.recorder.data(Direction.RECEIVED, data)
        self.data += data
        if len(self.data) >= READ_CAP or self.enough(bytes(self.data)):
            self._finish()

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]  # noqa: N802
        self.closed = True
        self.lost = reason
        self._finish()

    def _finish(self) -> None:
        if not self.done.called:
            self.done.callback(None)


@dataclass
class _Probe:
    reactor: object
    target: Target
    tls: TLSSettings
    deadline: float  # seconds to wait for the answer
    connect_timeout: float = 5.0

    def __post_init__(self) -> None:
        self.recorder = Recorder(self.reactor, byte_cap=8 * 1024)

    @property
    def where(self) -> str:
        return f"{self.target.host}:{self.target.port}"

    async def exchange(
        self, request: bytes, enough: Callable[[bytes], bool], *, tls: bool, alpn: tuple[str, ...] = ()
    ) -> _Exchange | str:
        """One connection: the exchange, or why no connection could be made."""
        endpoint = endpoint_for(
            self.reactor, self.target, tls=tls, alpn=alpn, settings=self.tls, timeout=self.connect_timeout
        )
        self.recorder.connection += 1
        exchange = _Exchange(request, enough, self.recorder)
        self.recorder.event(f"pre-flight probe: connecting to {self.where}" + (" (TLS)" if tls else ""))
        try:
            await endpoint.connect(_factory(exchange))
        except (TCPTimedOutError, UserError, ConnectingCancelledError):
            return _NO_ANSWER  # a busy target may not have accepted in time: the cases try again
        except (ConnectError, DNSLookupError, OSError) as exc:
            return _connect_reason(exc)
        exchange.done.addTimeout(self.deadline, self.reactor)
        try:
            await exchange.done
        except defer.TimeoutError:
            pass
        finally:
            if exchange.transport is not None:
                exchange.transport.abortConnection()  # type: ignore[attr-defined]
        return exchange

    def diagnosis(self, reason: str, *, connected: bool = True) -> Diagnosis:
        self.recorder.event(f"pre-flight diagnosis: {reason}")
        return Diagnosis(reason=reason, connected=connected, transcript=tuple(self.recorder.entries))

    async def speaks_tls(self) -> bool:
        """Whether a TLS handshake (certificate unchecked) succeeds on the target's port."""
        saved, self.tls = self.tls, TLSSettings(insecure=True)
        try:
            exchange = await self.exchange(b"", lambda data: False, tls=True, alpn=("http/1.1",))
        finally:
            self.tls = saved
        return isinstance(exchange, _Exchange) and exchange.handshake_done

    async def speaks_cleartext_http(self) -> str | None:
        """The status line a cleartext request gets on the target's port, if any."""
        exchange = await self.exchange(_get(self.target), _has_line, tls=False)
        if isinstance(exchange, _Exchange) and bytes(exchange.data).startswith(b"HTTP/"):
            return _first_line(exchange.data)
        return None


def _factory(exchange: _Exchange) -> object:
    from twisted.internet.protocol import Factory

    return Factory.forProtocol(lambda: exchange)


def _connect_reason(exc: BaseException) -> str:
    return connect_error_reason(exc)


def _get(target: Target, extra: str = "") -> bytes:
    return (
        f"GET {target.path} HTTP/1.1\r\nHost: {target.authority}\r\n{extra}Connection: close\r\n\r\n"
    ).encode("latin-1")


def _has_line(data: bytes) -> bool:
    return b"\n" in data or (len(data) >= 2 and data[:2] in _TLS_RECORD)


def _has_head(data: bytes) -> bool:
    return b"\r\n\r\n" in data or b"\n\n" in data or (len(data) >= 2 and data[:2] in _TLS_RECORD)


def _h2_connection_frame(data: bytes) -> bool:
    """Whether ``data`` starts with an HTTP/2 SETTINGS or GOAWAY frame header on stream 0 (RFC
    9113 §4.1), of a plausible length: how an HTTP/2-only server answers HTTP/1.1."""
    if len(data) < 9 or data[3] not in (0x4, 0x7) or data[5:9] != b"\0\0\0\0":
        return False
    return int.from_bytes(data[:3], "big") <= 16384


def _first_line(data: bytes | bytearray) -> str:
    line = bytes(data).split(b"\n", 1)[0].rstrip(b"\r")[:120]
    return line.decode("latin-1").encode("unicode_escape").decode("ascii")


_INSECURE_HINT = (
    "pass --ca-file PEM to trust the CA that signed it, or --insecure to test without checking it"
)
_SCHEME_FOR = {"h1": "http://", "h2": "h2c:// (HTTP/2 by prior knowledge)", "ws": "ws://"}
_TLS_SCHEME_FOR = {"h1": "https://", "h2": "https://", "ws": "wss://"}


async def probe(
    reactor: object,
    target: Target,
    suite: str,
    tls: TLSSettings,
    deadline: float,
    connect_timeout: float = 5.0,
) -> Diagnosis | None:
    """Check that ``target`` speaks ``suite`` ("h1", "h2" or "ws") as its URL says; a
    :class:`Diagnosis` when it does not, None when it does or when the probe cannot tell."""
    check = _Probe(reactor, target, tls, min(deadline, ANSWER_DEADLINE), connect_timeout)
    over_h2 = suite == "h2" or (suite == "ws" and target.scheme in ("h2c", "https"))
    if over_h2:
        request, enough, alpn = H2_PREFACE, (lambda data: len(data) >= 9 or _has_line(data)), ("h2",)
    elif suite == "ws":
        key = base64.b64encode(b"conformance-prb!").decode("ascii")
        upgrade = f"Upgrade: websocket\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        request = _get(target, upgrade).replace(b"Connection: close", b"Connection: Upgrade")
        enough, alpn = _has_head, ("http/1.1",)
    else:
        request, enough, alpn = _get(target), _has_line, ("http/1.1",)
    exchange = await check.exchange(request, enough, tls=target.tls, alpn=alpn)
    if exchange is _NO_ANSWER:
        return None
    if isinstance(exchange, str):
        return check.diagnosis(f"could not connect to {check.where}: {exchange}", connected=False)
    if target.tls and not exchange.handshake_done:
        return await _tls_failed(check, exchange, suite)
    if target.tls and over_h2 and exchange.negotiated != b"h2":
        return None  # no HTTP/2 by ALPN: the cases say UNIMPLEMENTED, with that reason
    data = bytes(exchange.data)
    if data[:2] in _TLS_RECORD:
        return check.diagnosis(
            f"the target answered in TLS ({_first_line(data[:8])}…), not cleartext: use "
            f"{_TLS_SCHEME_FOR[suite]} for a TLS port"
        )
    if over_h2:
        if data.startswith(b"HTTP/"):
            return check.diagnosis(
                f"the target answered the HTTP/2 preface with HTTP/1.1 ({_first_line(data)!r}): it does "
                "not speak HTTP/2 by prior knowledge on this port; use http:// for its HTTP/1.1 suite"
            )
        if len(data) >= 9:
            return None  # a frame: whether it is the SETTINGS it must be is for the cases
    elif suite == "ws":
        if data.startswith(b"HTTP/"):
            line = _first_line(data)
            status = line.split(" ")[1:2]
            if status == ["101"]:
                return None
            return check.diagnosis(
                f"the target answered a well-formed WebSocket opening handshake with {line!r}, not "
                f"101 Switching Protocols: is {target.path} its WebSocket endpoint? (http:// runs the "
                "HTTP/1.1 suite)"
            )
    elif data.startswith(b"HTTP/"):
        return None
    if not over_h2 and _h2_connection_frame(data):
        kind = "SETTINGS" if data[3] == 0x4 else "GOAWAY"
        return check.diagnosis(
            f"the target answered an HTTP/1.1 request with an HTTP/2 {kind} frame: it speaks HTTP/2 "
            "by prior knowledge on this port; use h2c:// for its HTTP/2 suite"
        )
    if data or not exchange.closed:
        return None  # something else, or silence: the cases judge it
    # Closed without a byte: a TLS port, or a target that closes every connection at once.
    if not target.tls and await check.speaks_tls():
        return check.diagnosis(
            f"the target closed the connection without a byte, and speaks TLS on this port: use "
            f"{_TLS_SCHEME_FOR[suite]}"
        )
    # A server may close without an answer after reading what it rejects (some cases accept
    # that); one that closes a connection before anything was sent on it closes every one.
    if target.tls:
        return None
    idle = await check.exchange(b"", lambda data: True, tls=False)
    if isinstance(idle, _Exchange) and idle.closed and not idle.data:
        what = {"h1": "a well-formed GET request", "ws": "a well-formed WebSocket opening handshake"}.get(
            suite, "the HTTP/2 connection preface"
        )
        return check.diagnosis(
            f"the target closed every connection at once, before any request (and without answering {what})"
        )
    return None


async def _tls_failed(check: _Probe, exchange: _Exchange, suite: str) -> Diagnosis:

    lost = exchange.lost
    reason = tls_error_reason(lost) if lost is not None else "no handshake within the deadline"
    if "certificate" in reason.lower():
        return check.diagnosis(f"the target's TLS certificate was not accepted ({reason}): {_INSECURE_HINT}")
    status = await check.speaks_cleartext_http()
    if status is not None:
        return check.diagnosis(
            f"the TLS handshake failed ({reason}), and the port answers cleartext HTTP ({status!r}): "
            f"use {_SCHEME_FOR[suite]} for a cleartext port"
        )
    return check.diagnosis(f"the TLS handshake with {check.where} failed: {reason}")
