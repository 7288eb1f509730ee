"""The reference target's WebSocket echo server: wsproto over Twisted, strict per RFC 6455
and RFC 7692.

The opening handshake is read and checked here first (RFC 6455 §4.2.1: GET, HTTP/1.1 or
higher, Host, ``Upgrade: websocket``, ``Connection: Upgrade``, a key of 16 base64-encoded
bytes, version 13 — else 426 with ``Sec-WebSocket-Version``), then handed to wsproto, which
negotiates permessage-deflate and a subprotocol and reads the frames: masking, reserved
bits and opcodes, control frames, close codes and UTF-8 (failing fast, frame by frame).
Every message is echoed whole, with its type; pings are answered; a close is answered and
the TCP connection then closed by the server (RFC 6455 §7.1.1).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from twisted.internet import defer, protocol
from twisted.python.failure import Failure
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.extensions import PerMessageDeflate
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import RemoteProtocolError

from conformance.codecs.ws.deflate import ExtensionOffer, parse_extensions

HEAD_CAP = 16 * 1024
MESSAGE_CAP = 64 * 1024 * 1024  # a larger message is refused with 1009
SUBPROTOCOLS = ("chat", "superchat", "echo")
LINGER_SECONDS = 2.0  # after shutting our side, how long to read and discard


def _tokens(headers: dict[str, list[str]], name: str) -> list[str]:
    return [t.strip().lower() for v in headers.get(name, []) for t in v.split(",") if t.strip()]


def check_handshake(head: bytes) -> tuple[int, str, list[tuple[str, str]]] | None:
    """What is wrong with an opening handshake (RFC 6455 §4.2.1): a status, a reason and
    headers for the refusal, or None when wsproto may take it from here."""
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes anything
        return 400, "Bad Request", []
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        return 400, "Bad Request", []
    method, _target, version = parts
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            return 400, "Bad Request", []
        headers.setdefault(name.lower(), []).append(value.strip())
    # §4.2.1 item 1: an HTTP/1.1 or higher GET request.
    if method != "GET":
        return 405, "Method Not Allowed", [("Allow", "GET")]
    if version not in ("HTTP/1.1",):
        return 400, "Bad Request", []
    # items 2-4: Host, Upgrade: websocket, Connection: Upgrade (case-insensitive tokens).
    if len(headers.get("host", [])) != 1:
        return 400, "Bad Request", []
    if "websocket" not in _tokens(headers, "upgrade"):
        return 426, "Upgrade Required", [("Upgrade", "websocket"), ("Connection", "Upgrade")]
    if "upgrade" not in _tokens(headers, "connection"):
        return 400, "Bad Request", []
    # item 5: a key of 16 bytes, base64-encoded.
    keys = headers.get("sec-websocket-key", [])
    if len(keys) != 1:
        return 400, "Bad Request", []
    try:
        decoded = base64.b64decode(keys[0], validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) != 16:
        return 400, "Bad Request", []
    # item 6: version 13; §4.4: else 426 with the versions understood.
    versions = headers.get("sec-websocket-version", [])
    if versions != ["13"]:
        return 426, "Upgrade Required", [("Sec-WebSocket-Version", "13")]
    return None


_WINDOW = re.compile(r"[0-9]{1,2}")


def _valid_offer(offer: ExtensionOffer) -> bool:
    """RFC 7692 §7.1: a server MUST decline an offer with an unknown parameter, an invalid
    value or a parameter given twice."""
    names = [name for name, _ in offer.params]
    if len(names) != len(set(names)):
        return False
    for name, value in offer.params:
        if name in ("server_no_context_takeover", "client_no_context_takeover"):
            if value is not None:
                return False
        elif name in ("server_max_window_bits", "client_max_window_bits"):
            if value is None and name == "client_max_window_bits":
                continue
            if value is None or not _WINDOW.fullmatch(value) or not 8 <= int(value) <= 15:
                return False
        else:
            return False
    return True


def only_acceptable_offer(head: bytes) -> bytes:
    """The handshake head with its Sec-WebSocket-Extensions reduced to the first valid
    permessage-deflate offer (wsproto would accept offers RFC 7692 §7.1 says to decline)."""
    lines = head.split(b"\r\n")
    values = [
        line.split(b":", 1)[1].decode("latin-1")
        for line in lines[1:]
        if line.split(b":", 1)[0].strip().lower() == b"sec-websocket-extensions"
    ]
    kept = [line for line in lines if line.split(b":", 1)[0].strip().lower() != b"sec-websocket-extensions"]
    offers, _problems = parse_extensions(", ".join(values))
    chosen = next((o for o in offers if o.name == "permessage-deflate" and _valid_offer(o)), None)
    if chosen is not None:
        kept.append(b"Sec-WebSocket-Extensions: " + chosen.render().encode("latin-1"))
    return b"\r\n".join(kept)


class WsEchoChannel(protocol.Protocol):
    """One WebSocket connection of the reference target."""

    def __init__(self) -> None:
        self.ws = WSConnection(ConnectionType.SERVER)
        self.head = bytearray()
        self.open = False
        self.parts: list[Any] = []
        self.size = 0
        self.closing = False
        self.linger: Any = None  # the delayed full close after our side is shut

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted's name
        if self.closing:
            return
        if not self.open:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                if len(self.head) > HEAD_CAP:
                    self._refuse(431, "Request Header Fields Too Large", [])
                return
            refusal = check_handshake(bytes(self.head[:end]))
            if refusal is not None:
                self._refuse(*refusal)
                return
            self.open = True
            data = only_acceptable_offer(bytes(self.head[:end])) + bytes(self.head[end:])
            self.head = bytearray()
        try:
            self.ws.receive_data(data)
        except RemoteProtocolError as exc:
            hint = exc.event_hint
            if isinstance(hint, RejectConnection):
                self._refuse(
                    hint.status_code, "Bad Request", [(n.decode(), v.decode()) for n, v in hint.headers]
                )
            else:
                self._refuse(400, "Bad Request", [])
            return
        for event in self.ws.events():
            if self.closing:
                return
            self._handle(event)

    def _handle(self, event: Any) -> None:
        if isinstance(event, Request):
            chosen = next((p for p in event.subprotocols if p in SUBPROTOCOLS), None)
            self._send(AcceptConnection(subprotocol=chosen, extensions=[PerMessageDeflate()]))
        elif isinstance(event, TextMessage | BytesMessage):
            self.parts.append(event.data)
            self.size += len(event.data)
            if self.size > MESSAGE_CAP:
                self._close(CloseReason.MESSAGE_TOO_BIG)
                return
            if event.message_finished:
                whole = "".join(self.parts) if isinstance(event, TextMessage) else b"".join(self.parts)
                self.parts, self.size = [], 0
                if isinstance(event, TextMessage):
                    self._send(TextMessage(data=whole))
                else:
                    self._send(BytesMessage(data=whole))
        elif isinstance(event, Ping):
            self._send(event.response())
        elif isinstance(event, CloseConnection):
            if self.ws.state is ConnectionState.REMOTE_CLOSING:
                self._send(event.response())
                self._drop()
            else:  # wsproto found a protocol error: fail the connection with its code
                self._close(event.code)

    def _send(self, event: Any) -> None:
        self.transport.write(self.ws.send(event))

    def _close(self, code: int) -> None:
        if self.ws.state is ConnectionState.OPEN:
            self._send(CloseConnection(code=code))
        self._drop()

    def _drop(self) -> None:
        """Close TCP, the server first (RFC 6455 §7.1.1), reading on for a while: closing a
        socket with unread data in it resets the connection, and a reset can destroy the
        close frame before the client has read it."""
        from twisted.internet import reactor

        self.closing = True
        self.transport.loseWriteConnection()
        self.linger = reactor.callLater(LINGER_SECONDS, self.transport.loseConnection)  # type: ignore[attr-defined]

    def connectionLost(self, reason: Failure | None = None) -> None:  # noqa: N802
        if self.linger is not None and self.linger.active():
            self.linger.cancel()

    def _refuse(self, status: int, reason: str, headers: list[tuple[str, str]]) -> None:
        lines = [f"HTTP/1.1 {status} {reason}", *(f"{n}: {v}" for n, v in headers)]
        lines += ["Content-Length: 0", "Connection: close"]
        self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        self._drop()


class WsEchoFactory(protocol.Factory):
    """Builds channels and keeps the open ones, so that the target can close them all."""

    noisy = False

    def __init__(self) -> None:
        self.channels: set[WsEchoChannel] = set()

    def buildProtocol(self, addr: Any) -> WsEchoChannel:  # noqa: N802
        channel = _Tracked(self.channels)
        channel.factory = self
        return channel

    def close_all(self) -> defer.Deferred[None]:
        gone: list[defer.Deferred[None]] = []
        for channel in list(self.channels):
            done: defer.Deferred[None] = defer.Deferred()
            channel.on_lost.append(done)
            channel.transport.abortConnection()
            gone.append(done)
        return defer.gatherResults(gone, consumeErrors=True).addCallback(lambda _: None)


class _Tracked(WsEchoChannel):
    def __init__(self, registry: set[WsEchoChannel]) -> None:
        super().__init__()
        self.registry = registry
        self.on_lost: list[defer.Deferred[None]] = []

    def connectionMade(self) -> None:  # noqa: N802
        self.registry.add(self)

    def connectionLost(self, reason: Failure | None = None) -> None:  # noqa: N802
        super().connectionLost(reason)
        self.registry.discard(self)
        waiters, self.on_lost = self.on_lost, []
        for waiter in waiters:
            waiter.callback(None)
