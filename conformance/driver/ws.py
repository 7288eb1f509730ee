"""WebSocket on a connection: the session (HTTP/1.1 until a 101, frames after it) and the
``websocket`` opening (the handshake as a ``connect`` mode).

The session decodes what the target sends into frames and messages, follows what we send
(so it knows the messages the target should echo, and who sent the first close frame),
and answers a close frame with one of its own — the only reply it makes on its own: pings
are answered only when a case sends the pong (cases say what to expect, as in Autobahn).
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import replace

from conformance.codecs import http1
from conformance.codecs.common import Event, Violation
from conformance.codecs.ws import close as wsclose
from conformance.codecs.ws.deflate import MessageCompressor
from conformance.codecs.ws.frames import Frame, FrameDecoder, Garbled, Opcode, close_code_of, encode_frame
from conformance.codecs.ws.handshake import HandshakeOutcome, HandshakeRequest, check_response
from conformance.codecs.ws.messages import KEEP, Message, MessageAssembler
from conformance.driver.openers import Opener, OpeningContext, OpeningFailed, register_opener
from conformance.driver.sessions import SESSIONS
from conformance.scenario.kinds.ws import HandshakeOptions, WsMessage
from conformance.scenario.payloads import Concat, Payload, Repeat
from conformance.scenario.templates import TargetContext
from conformance.verdicts.ws import ClosingFacts, HandshakeResponse

#: A response head longer than this is handed to the HTTP/1.1 parser (which reports it).
HEAD_CAP = 64 * 1024
#: Frame events kept per connection for data frames; past it, only messages are reported
#: (a 16 MiB message in 64-byte fragments is 262 144 frames).
DATA_FRAME_EVENTS = 200
_STATUS_101 = re.compile(rb"HTTP/\d\.\d 101[ \r\n]")


class WsSession:
    """One WebSocket connection's state, from the handshake to the TCP close."""

    #: A close frame we answer with must not land inside a message being streamed.
    replies_after_stream = True

    def __init__(self, *, max_message: int = 64 * 1024 * 1024) -> None:
        self.max_message = max_message
        self.request: HandshakeRequest | None = None  # the last handshake we sent
        self.outcome: HandshakeOutcome | None = None
        self.upgraded = False
        self.reply_close = True
        self._head = bytearray()
        self._http: http1.ResponseParser | None = None  # after a non-101 response
        self._decoder = FrameDecoder(from_server=True, max_payload=max_message)
        self._assembler = MessageAssembler(max_message=max_message)
        self._ours = FrameDecoder(from_server=False, max_payload=max_message)
        self._our_messages = MessageAssembler(max_message=max_message)
        self.compressor: MessageCompressor | None = None
        self._sent: deque[Message] = deque()
        self._outgoing = bytearray()
        self._data_frames = 0
        self._frame_violations: list[Violation] = []  # of the frames of the message being read
        self._noting = False  # rendering whole messages, noted as they are made
        self._skip = 0  # bytes of noted messages still to be sent
        self.facts = ClosingFacts()

    # -- what we send

    def handshake_sent(self, request: HandshakeRequest) -> None:
        self.request = request

    def render(self, payload: Payload, context: TargetContext) -> bytes:
        # Whole messages rendered here are noted as they are made (their digest), and their
        # bytes need not be decoded again when they are sent: a 16 MiB message is not
        # copied and unmasked twice. Anything else is followed by decoding what is sent.
        known = self.upgraded and self._ours.pending() == 0 and not self._our_messages.in_message
        if known and _only_messages(payload):
            self._noting = True
            try:
                data = self._render(payload, context)
            finally:
                self._noting = False
            self._skip += len(data)
            return data
        return self._render(payload, context)

    def render_chunks(self, payload: Payload, context: TargetContext) -> Iterator[bytes]:
        """A lone uncompressed message is written as it is produced (its digest noted first):
        a 16 MiB message never sits in memory whole, as payload or as frames. Anything else
        is rendered whole, now (so a payload that cannot be built fails before any write)."""
        known = self.upgraded and self._ours.pending() == 0 and not self._our_messages.in_message
        stream = payload.stream_ws(context, self) if known and isinstance(payload, WsMessage) else None
        if stream is None:
            return iter((self.render(payload, context),))
        return self._skipped(stream)

    def _skipped(self, stream: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in stream:
            self._skip += len(chunk)  # noted already: :meth:`sent` need not decode it again
            yield chunk

    def message_noted(self, opcode: int, head: bytes, length: int, digest: str) -> None:
        """A whole message is about to be sent in pieces (called by the ``message`` payload)."""
        if len(self._sent) < 10000:
            self._sent.append(Message(opcode=opcode, payload=head, length=length, digest=digest))

    def _render(self, payload: Payload, context: TargetContext) -> bytes:
        if isinstance(payload, Concat):
            return b"".join(self._render(part, context) for part in payload.parts)
        if isinstance(payload, Repeat) and _stateful(payload.payload):
            # Each repetition through the session: messages compressed one after another,
            # each told its index (a ``sample`` takes the next window of its corpus).
            return b"".join(
                self._render(payload.payload, replace(context, repetition=index))
                for index in range(payload.count)
            )
        render_ws = getattr(payload, "render_ws", None)
        if render_ws is not None:
            data: bytes = render_ws(context, self)
            return data
        return payload.render(context)

    def message_rendered(self, opcode: int, payload: bytes) -> None:
        """A whole message is about to be sent (called by the ``message`` payload)."""
        if self._noting and len(self._sent) < 10000:
            digest = hashlib.sha256(payload).hexdigest()
            self._sent.append(
                Message(opcode=opcode, payload=payload[:KEEP], length=len(payload), digest=digest)
            )

    def sent(self, data: bytes) -> None:
        if not self.upgraded:
            return
        if self._skip:
            taken = min(self._skip, len(data))
            self._skip -= taken
            data = data[taken:]
            if not data:
                return
        for frame in self._ours.feed(data):
            if not isinstance(frame, Frame):
                return
            if frame.opcode == Opcode.CLOSE and not self.facts.harness_closed:
                self.facts = replace(
                    self.facts,
                    harness_closed=True,
                    harness_code=frame.close_code,
                    first=self.facts.first or "harness",
                )
            _, message = self._our_messages.frame(frame)
            if message is not None and len(self._sent) < 10000:
                self._sent.append(message)

    def outgoing(self) -> bytes:
        data, self._outgoing = bytes(self._outgoing), bytearray()
        return data

    # -- what the target sends

    def receive(self, data: bytes) -> list[Event]:
        if self._http is not None:
            return list(self._http.feed(data))
        if self.upgraded:
            return self._frames(data)
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head) > HEAD_CAP:
                return self._plain_http()
            return []
        if not _STATUS_101.match(self._head):
            return self._plain_http()
        head, rest = bytes(self._head[: end + 4]), bytes(self._head[end + 4 :])
        self._head = bytearray()
        parser = http1.ResponseParser()
        parsed = parser.feed(head)
        events: list[Event] = []
        for response in parsed:
            if isinstance(response, http1.Response) and response.status == 101:
                events.append(self._upgrade(response))
            else:
                events.append(response)
        if self.upgraded:
            events += self._frames(rest)
        return events

    def _plain_http(self) -> list[Event]:
        self._http = http1.ResponseParser()
        if self.request is not None:
            # The answer to a HEAD handshake has no content, whatever its framing fields say
            # (RFC 9112 §6.3, item 1): the parser must know the method it answers.
            self._http.expect_response_to(self.request.method)
        data, self._head = bytes(self._head), bytearray()
        return list(self._http.feed(data))

    def _upgrade(self, response: http1.Response) -> HandshakeResponse:
        request = self.request
        offered_deflate = request.offered_deflates() if request is not None else None
        outcome = check_response(
            response,
            key=request.sent_key if request is not None else None,
            subprotocols=request.subprotocols if request is not None else (),
            offered_deflate=offered_deflate,
            offered_names=[offer.name for offer in request.offered_extensions()] if request else (),
        )
        self.establish(outcome)
        fields = {name: getattr(response, name) for name in response.__dataclass_fields__}
        return HandshakeResponse(**fields, outcome=outcome)

    def establish(self, outcome: HandshakeOutcome) -> None:
        """The handshake succeeded: frames from here on, decoded (and ours compressed) as it
        negotiated. (Over HTTP/2, a stream's session is established by its 2xx answer.)"""
        self.outcome = outcome
        self.upgraded = True
        deflate = outcome.deflate
        if deflate is not None:
            # RFC 7692 §7.1.1.2: client_no_context_takeover in the accepted offer is a promise
            # that holds even when the response leaves it out.
            hinted = outcome.accepted_offer is not None and outcome.accepted_offer.client_no_context_takeover
            self.use_deflate(
                peer_reset=deflate.server_no_context_takeover,
                peer_bits=deflate.server_max_window_bits,
                own_reset=deflate.client_no_context_takeover or hinted,
                own_bits=deflate.client_max_window_bits,
            )

    def use_deflate(
        self, *, peer_reset: bool, peer_bits: int | None, own_reset: bool, own_bits: int | None
    ) -> None:
        """permessage-deflate is agreed (RFC 7692 §7.2): the peer's messages are inflated under
        its side of the agreement (a fresh context per message when it takes none over, no
        back-reference beyond its window), ours compressed, and followed, under ours."""
        self._assembler = MessageAssembler(
            deflate=True,
            max_message=self.max_message,
            no_context_takeover=peer_reset,
            window_bits=peer_bits or 15,
        )
        self._our_messages = MessageAssembler(
            deflate=True,
            max_message=self.max_message,
            no_context_takeover=own_reset,
            window_bits=own_bits or 15,
        )
        self.compressor = MessageCompressor(window_bits=own_bits, no_context_takeover=own_reset)

    def _frames(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        for frame in self._decoder.feed(data):
            if isinstance(frame, Garbled):
                events.append(frame)
                continue
            found, message = self._assembler.frame(frame)
            if found:
                frame = replace(frame, violations=frame.violations + tuple(found))
            if frame.opcode in (Opcode.CONTINUATION, Opcode.TEXT, Opcode.BINARY):
                self._frame_violations += [v for v in frame.violations if v not in self._frame_violations]
                if frame.length > KEEP:  # the message keeps its digest; events keep a head
                    frame = replace(frame, payload=frame.payload[:KEEP])
                self._data_frames += 1
                if self._data_frames <= DATA_FRAME_EVENTS or frame.violations:
                    events.append(frame)
            else:
                events.append(frame)
            if frame.opcode == Opcode.CLOSE:
                self._target_closed(frame)
            if message is not None:
                extra = tuple(v for v in self._frame_violations if v not in message.violations)
                self._frame_violations = []
                events.append(self._echoed(replace(message, violations=message.violations + extra)))
        return events

    def _echoed(self, message: Message) -> Message:
        if not self._sent:
            return replace(message, echo=False, echo_problem="no message of ours was waiting to be echoed")
        ours = self._sent.popleft()
        if ours.opcode != message.opcode:
            problem = f"we sent a {ours.kind} message"
        elif ours.length != message.length:
            problem = f"we sent {ours.length} bytes"
        elif ours.digest != message.digest:
            problem = "other bytes than we sent"
        else:
            return replace(message, echo=True)
        return replace(message, echo=False, echo_problem=problem)

    def _target_closed(self, frame: Frame) -> None:
        if self.facts.target_closed:
            return
        self.facts = replace(
            self.facts,
            target_closed=True,
            target_code=frame.close_code,
            first=self.facts.first or "target",
        )
        if self.reply_close and not self.facts.harness_closed:
            # RFC 6455 §5.5.1: an endpoint that receives a Close frame and has not sent one
            # MUST send one in response, typically echoing the status code it received.
            code = frame.close_code
            payload = (
                b""
                if code is None
                else wsclose.encode_close_payload(
                    code if wsclose.is_valid_on_wire(code) else wsclose.CloseCode.PROTOCOL_ERROR
                )
            )
            self._outgoing += encode_frame(Opcode.CLOSE, payload)
            self.facts = replace(self.facts, harness_closed=True, harness_code=close_code_of(payload)[0])

    def receive_eof(self) -> list[Event]:
        self.facts = replace(self.facts, eof=True)
        if self._http is not None:
            return list(self._http.feed_eof())
        if not self.upgraded and self._head:
            return self._plain_http() + list(self._http.feed_eof() if self._http else [])
        return []

    def closing_facts(self) -> ClosingFacts:
        return self.facts

    def release(self) -> None:
        """The case is over: drop the compression contexts (zlib keeps some 300 KiB each)."""
        self.compressor = None
        self._assembler = MessageAssembler(max_message=self.max_message)
        self._our_messages = MessageAssembler(max_message=self.max_message)
        self._sent.clear()


def _stateful(payload: Payload) -> bool:
    if isinstance(payload, Concat):
        return any(_stateful(part) for part in payload.parts)
    if isinstance(payload, Repeat):
        return _stateful(payload.payload)
    return hasattr(payload, "render_ws")


def _only_messages(payload: Payload) -> bool:
    if isinstance(payload, Concat):
        return all(_only_messages(part) for part in payload.parts)
    if isinstance(payload, Repeat):
        return _only_messages(payload.payload)
    return isinstance(payload, WsMessage)


SESSIONS["ws"] = WsSession


# ---------------------------------------------------------------- the opening


async def open_websocket(ctx: OpeningContext) -> None:
    """Send the opening handshake and require a valid 101 (RFC 6455 §4.1)."""
    connection = ctx.connection
    session = connection.session
    if not isinstance(session, WsSession):
        raise OpeningFailed(expected="a WebSocket session", observed=type(session).__name__)
    options = ctx.step.options if isinstance(ctx.step.options, HandshakeOptions) else HandshakeOptions()
    request = options.request(ctx.run.target.context())
    session.handshake_sent(request)
    connection.write(request.render())
    reactor = ctx.run.reactor
    deadline = reactor.seconds() + ctx.run.step_timeout  # type: ignore[attr-defined]
    expected = "a 101 response completing the WebSocket handshake (RFC 6455 §4.1)"
    while True:
        for event in connection.events:
            if isinstance(event, HandshakeResponse):
                if event.outcome.problems:
                    raise OpeningFailed(expected=expected, observed=event.describe())
                negotiated = {ext.name for ext in event.outcome.extensions}
                missing = [name for name in options.require if name.lower() not in negotiated]
                if missing:
                    raise OpeningFailed(
                        expected=f"the {', '.join(missing)} extension",
                        observed=f"{event.describe()} without {', '.join(missing)}",
                        unimplemented=True,
                    )
                return
            refused = isinstance(event, http1.Response) and 400 <= (event.status or 0) < 500
            raise OpeningFailed(
                expected=expected,
                observed=event.describe(),
                acceptable=refused and options.refusal == "non-strict",
            )
        left = deadline - reactor.seconds()  # type: ignore[attr-defined]
        if connection.ended or left <= 0:
            observed = (
                "the connection closed"
                if connection.ended
                else f"no answer within {ctx.run.step_timeout:g} s"
            )
            raise OpeningFailed(expected=expected, observed=observed)
        await connection.changed(left)


register_opener("websocket", Opener(open=open_websocket, alpn=("http/1.1",)))
