"""The reference target's WebSocket over HTTP/2 (RFC 8441): an echo endpoint on every path
of the HTTP/2 server, one WebSocket per stream opened by an extended CONNECT.

The HTTP/2 server (:mod:`conformance.targets.http2`) advertises
SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 and hands each CONNECT with ``:protocol`` here.
:func:`accept` checks the request as RFC 8441 §5 and RFC 6455 §4.2.1 ask (the protocol is
``websocket``, the version 13) and negotiates a subprotocol and permessage-deflate as the
HTTP/1.1 endpoint does; :class:`StreamEcho` then reads the stream's octets with wsproto's
frame handling (no handshake: the 2xx was it) and echoes every message, answers pings, and
answers a close — after which the server ends the stream, its TCP close (RFC 8441 §5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wsproto import ConnectionType
from wsproto.connection import Connection, ConnectionState
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
from wsproto.extensions import PerMessageDeflate
from wsproto.frame_protocol import CloseReason

from conformance.codecs.ws.deflate import parse_extensions
from conformance.targets.ws import MESSAGE_CAP, SUBPROTOCOLS, _valid_offer


@dataclass(frozen=True)
class Answer:
    """The answer to an extended CONNECT: a status and fields, and for a 2xx the WebSocket."""

    status: int
    fields: list[tuple[bytes, bytes]]
    echo: StreamEcho | None = None


def accept(headers: list[tuple[bytes, bytes]]) -> Answer:
    """https://www.rfc-editor.org/rfc/rfc8441#section-5: a CONNECT whose ``:protocol`` is
    ``websocket`` is a WebSocket handshake; another protocol is one this server does not
    implement (501). Sec-WebSocket-Version must be 13 (RFC 6455 §4.4: otherwise an error
    naming the versions understood — 400 here, as 426 would need an Upgrade field, which
    HTTP/2 forbids)."""
    protocol = next((v for n, v in headers if n == b":protocol"), b"")
    if protocol != b"websocket":
        return Answer(501, [])
    versions = [v for n, v in headers if n == b"sec-websocket-version"]
    if versions != [b"13"]:
        return Answer(400, [(b"sec-websocket-version", b"13")])
    fields: list[tuple[bytes, bytes]] = []
    offered = [
        p.strip()
        for n, v in headers
        if n == b"sec-websocket-protocol"
        for p in v.decode("latin-1").split(",")
        if p.strip()
    ]
    chosen = next((p for p in offered if p in SUBPROTOCOLS), None)
    if chosen is not None:
        fields.append((b"sec-websocket-protocol", chosen.encode("latin-1")))
    extensions: list[Any] = []
    offers, _ = parse_extensions(
        ", ".join(v.decode("latin-1") for n, v in headers if n == b"sec-websocket-extensions")
    )
    # RFC 7692 §7.1: decline offers with unknown, invalid or repeated parameters.
    offer = next((o for o in offers if o.name == "permessage-deflate" and _valid_offer(o)), None)
    if offer is not None:
        deflate = PerMessageDeflate()
        agreed = deflate.accept(offer.render())
        if isinstance(agreed, str):
            response = "permessage-deflate" + (f"; {agreed}" if agreed else "")
            fields.append((b"sec-websocket-extensions", response.encode("latin-1")))
            extensions.append(deflate)
    return Answer(200, fields, StreamEcho(Connection(ConnectionType.SERVER, extensions=extensions)))


@dataclass
class StreamEcho:
    """One WebSocket on a stream: octets in, octets to send out, and whether the stream is
    to be ended (after our close frame)."""

    ws: Connection
    parts: list[Any] = field(default_factory=list)
    size: int = 0
    done: bool = False  # closed: nothing more is read; END_STREAM follows what is pending

    def receive(self, data: bytes) -> bytes:
        """What to send back for ``data`` (the echoes, pongs and close frames)."""
        if self.done:
            return b""
        self.ws.receive_data(data)
        out = bytearray()
        for event in self.ws.events():
            out += self._handle(event)
            if self.done:
                break
        return bytes(out)

    def _handle(self, event: Any) -> bytes:
        if isinstance(event, TextMessage | BytesMessage):
            self.parts.append(event.data)
            self.size += len(event.data)
            if self.size > MESSAGE_CAP:
                return self._close(CloseReason.MESSAGE_TOO_BIG)
            if not event.message_finished:
                return b""
            whole = "".join(self.parts) if isinstance(event, TextMessage) else b"".join(self.parts)
            self.parts, self.size = [], 0
            reply = TextMessage(data=whole) if isinstance(event, TextMessage) else BytesMessage(data=whole)
            return self.ws.send(reply)
        if isinstance(event, Ping):
            return self.ws.send(event.response())
        if isinstance(event, CloseConnection):
            if self.ws.state is ConnectionState.REMOTE_CLOSING:
                self.done = True
                return self.ws.send(event.response())
            return self._close(event.code)  # wsproto found a protocol error: fail with its code
        return b""

    def _close(self, code: int) -> bytes:
        self.done = True
        if self.ws.state is ConnectionState.OPEN:
            return self.ws.send(CloseConnection(code=code))
        return b""
