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

from conformance.codecs.common import Event
from conformance.codecs.http1_requests import Request, RequestParser
from conformance.codecs.ws.answer import DeflateAgreement, WsAnswer
from conformance.codecs.ws.frames import FrameDecoder
from conformance.codecs.ws.handshake import HandshakeOutcome, check_request
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

    def agree(self, answer: WsAnswer) -> DeflateAgreement | str | None:
        """permessage-deflate as the answer accepts the client's offer (None: the answer does
        not); a text: why the client's handshake leaves the case nothing to exercise."""
        if answer.deflate is None:
            return None
        request = self.handshake.request if self.handshake is not None else None
        values = request.header_values("sec-websocket-extensions") if request is not None else []
        return answer.deflate.agree(", ".join(values) or None)

    def answer(self, answer: WsAnswer, deflate: DeflateAgreement | None = None) -> tuple[bytes, list[Event]]:
        """Our answer to the client's handshake (with ``deflate``'s response element), and the
        events of what the client sent meanwhile (decoded as frames once the answer is a 101)."""
        key = self.handshake.key if self.handshake is not None else None
        data = answer.render(key, deflate.response if deflate is not None else None)
        events: list[Event] = []
        if answer.status == 101:
            self.outcome = HandshakeOutcome(problems=())
            self.upgraded = True
            if deflate is not None and answer.deflate is not None and answer.deflate.response is None:
                self.use_deflate(
                    peer_reset=deflate.client_reset,
                    peer_bits=deflate.client_bits,
                    own_reset=deflate.server_reset,
                    own_bits=deflate.server_bits,
                )
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
