"""WebSocket with the harness as the server (client mode, ``--suite ws``).

The client under test connects; its opening handshake arrives as a :class:`ClientHandshake`
event (the request, and every way it departs from RFC 6455 §4.1's requirements); the
``accept`` step answers it (:meth:`WsServerSession.answer`) with a 101 that is right or wrong
on purpose. From there the session is :class:`~conformance.driver.ws.WsSession` with the roles
swapped: the client's frames are decoded with the client's masking rule (RFC 6455 §5.1: each
MUST be masked; an unmasked one is a violation, which no frame or message pattern accepts),
ours are written unmasked unless a case says otherwise, and once close frames went both ways
the harness closes the TCP connection, as RFC 6455 §7.1.1 says the server MUST.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.codecs.common import Event, printable
from conformance.codecs.http1_requests import Request, RequestParser
from conformance.codecs.ws.frames import FrameDecoder
from conformance.codecs.ws.handshake import HandshakeOutcome, accept_value, check_request
from conformance.driver.ws import WsSession


@dataclass(frozen=True, kw_only=True)
class ClientHandshake:
    """The client's opening handshake, and what is wrong with it (empty: nothing)."""

    request: Request
    problems: tuple[str, ...]

    @property
    def key(self) -> str | None:
        values = self.request.header_values("sec-websocket-key")
        return values[0].strip() if len(values) == 1 else None

    def describe(self) -> str:
        text = f"the client's opening handshake: {self.request.describe()}"
        return text + (" — " + "; ".join(self.problems) if self.problems else "")

    def detail(self) -> dict[str, Any]:
        return {**self.request.detail(), "type": "ws-client-handshake", "problems": list(self.problems)}


@dataclass(frozen=True, kw_only=True)
class WsAnswer:
    """How the harness answers the client's handshake; every part may be wrong on purpose.

    ``accept``: ``right`` (RFC 6455 §4.2.2's value), ``wrong`` (the value of another key),
    ``missing``, or a literal value. ``upgrade`` / ``connection``: None leaves the field out.
    ``subprotocol`` / ``extensions``: a Sec-WebSocket-Protocol / -Extensions field to add."""

    status: int = 101
    reason: str = "Switching Protocols"
    accept: str = "right"
    upgrade: str | None = "websocket"
    connection: str | None = "Upgrade"
    subprotocol: str | None = None
    extensions: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def render(self, key: str | None) -> bytes:
        lines = [f"HTTP/1.1 {self.status} {self.reason}"]
        if self.upgrade is not None:
            lines.append(f"Upgrade: {self.upgrade}")
        if self.connection is not None:
            lines.append(f"Connection: {self.connection}")
        if self.accept == "right":
            lines.append(f"Sec-WebSocket-Accept: {accept_value(key or '')}")
        elif self.accept == "wrong":
            # A well-formed accept value, for another key: only a client that checks it
            # against its own key sees that it is wrong.
            lines.append(f"Sec-WebSocket-Accept: {accept_value('AAAAAAAAAAAAAAAAAAAAAA==')}")
        elif self.accept != "missing":
            lines.append(f"Sec-WebSocket-Accept: {self.accept}")
        if self.subprotocol is not None:
            lines.append(f"Sec-WebSocket-Protocol: {self.subprotocol}")
        if self.extensions is not None:
            lines.append(f"Sec-WebSocket-Extensions: {self.extensions}")
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.status != 101:
            lines.append("Content-Length: 0")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def describe(self) -> str:
        parts = []
        if self.status != 101:
            parts.append(f"status {self.status}")
        if self.accept != "right":
            parts.append(f"Sec-WebSocket-Accept {self.accept}")
        if self.upgrade != "websocket":
            parts.append("no Upgrade" if self.upgrade is None else f"Upgrade: {self.upgrade}")
        if self.connection != "Upgrade":
            parts.append("no Connection" if self.connection is None else f"Connection: {self.connection}")
        if self.subprotocol is not None:
            parts.append(f"subprotocol {self.subprotocol}")
        if self.extensions is not None:
            parts.append(f"extensions {printable(self.extensions.encode('latin-1'), 60)}")
        parts += [f"{n}: {v}" for n, v in self.headers]
        return "a 101 answer" if not parts else "an answer with " + ", ".join(parts)


class WsServerSession(WsSession):
    """One accepted WebSocket connection, the harness playing the server."""

    #: Read by the frame and message payloads: ``mask: auto`` means unmasked here.
    server_side = True

    def __init__(self, *, max_message: int = 64 * 1024 * 1024) -> None:
        super().__init__(max_message=max_message)
        self._decoder = FrameDecoder(from_server=False, max_payload=max_message)
        self._ours = FrameDecoder(from_server=True, max_payload=max_message)
        self._requests = RequestParser()
        self.handshake: ClientHandshake | None = None
        self._early = bytearray()  # what the client sent after its handshake, before our answer
        self.close_now = False  # the closing handshake is complete: the server closes TCP

    def receive(self, data: bytes) -> list[Event]:
        if self.upgraded:
            events = self._frames(data)
            self._closing_done()
            return events
        if self.handshake is not None:
            self._early += data
            return []
        events: list[Event] = []
        for item in self._requests.feed(data):
            if isinstance(item, Request) and self.handshake is None:
                problems = check_request(item.method, item.version, item.header_values)
                self.handshake = ClientHandshake(request=item, problems=problems)
                events.append(self.handshake)
            else:
                events.append(item)
        return events

    def answer(self, answer: WsAnswer) -> tuple[bytes, list[Event]]:
        """Our answer to the client's handshake, and the events of what the client sent
        meanwhile (decoded as frames once the answer is a 101)."""
        key = self.handshake.key if self.handshake is not None else None
        data = answer.render(key)
        events: list[Event] = []
        if answer.status == 101:
            self.outcome = HandshakeOutcome(problems=())
            self.upgraded = True
            self._skip += len(data)  # the answer itself is no frame of ours: not decoded
            early, self._early = bytes(self._early), bytearray()
            if early:
                events = self._frames(early)
        return data, events

    def sent(self, data: bytes) -> None:
        super().sent(data)
        self._closing_done()

    def _closing_done(self) -> None:
        if self.facts.target_closed and self.facts.harness_closed:
            self.close_now = True

    def receive_eof(self) -> list[Event]:
        events = super().receive_eof()
        if not self.upgraded:
            events += list(self._requests.feed_eof())
        return events
