"""The WebSocket session: HTTP until a valid 101, then frames and messages; echoes
matched against what we sent; a close answered; permessage-deflate as negotiated."""

from __future__ import annotations

import zlib

from conformance.codecs import http1
from conformance.codecs.ws import frames, handshake
from conformance.codecs.ws.frames import Frame, Opcode
from conformance.codecs.ws.messages import Message
from conformance.driver.ws import WsSession
from conformance.scenario import samples
from conformance.scenario.kinds.ws import HandshakeOptions, WsFrame, WsMessage
from conformance.scenario.payloads import Concat, Repeat, Sample, Text
from conformance.scenario.templates import TargetContext
from conformance.verdicts.ws import HandshakeResponse

CONTEXT = TargetContext(host="127.0.0.1", port=80, authority="127.0.0.1", path="/", scheme="ws")


def upgraded(extensions: str = "", offer: tuple[str, ...] = ()) -> WsSession:
    session = WsSession()
    request = HandshakeOptions(key=handshake.SAMPLE_KEY, extensions=offer).request(CONTEXT)
    session.handshake_sent(request)
    head = (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {handshake.accept_value(handshake.SAMPLE_KEY)}\r\n"
        + (f"Sec-WebSocket-Extensions: {extensions}\r\n" if extensions else "")
        + "\r\n"
    )
    (event,) = session.receive(head.encode())
    assert isinstance(event, HandshakeResponse) and event.outcome.ok, event.describe()
    return session


def test_a_101_and_frames_in_one_read() -> None:
    session = WsSession()
    session.handshake_sent(HandshakeOptions(key=handshake.SAMPLE_KEY).request(CONTEXT))
    data = (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        + frames.encode_frame(Opcode.PONG, b"x", mask_key=None)
    )
    events = session.receive(data)
    assert isinstance(events[0], HandshakeResponse) and events[0].outcome.ok
    assert isinstance(events[1], Frame) and events[1].opcode == Opcode.PONG


def test_a_refusal_stays_http() -> None:
    session = WsSession()
    events = session.receive(
        b"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n"
    )
    assert isinstance(events[0], http1.Response) and events[0].status == 426
    assert not session.upgraded


def test_a_refusal_of_a_head_handshake_has_no_content() -> None:
    # hypercorn answers a HEAD handshake 404 with Transfer-Encoding: chunked and (rightly, RFC
    # 9112 §6.3 item 1) no body: the response is whole at the end of its head.
    session = WsSession()
    session.handshake_sent(HandshakeOptions(method="HEAD").request(CONTEXT))
    (event,) = session.receive(b"HTTP/1.1 404 \r\nTransfer-Encoding: chunked\r\n\r\n")
    assert isinstance(event, http1.Response) and event.status == 404 and event.complete
    assert event.body_length == 0


def test_echoes_are_matched_against_what_was_sent() -> None:
    session = upgraded()
    for payload in (WsMessage(kind="text", payload=Text(text="one", encoding="utf-8")), Concat(parts=())):
        data = session.render(payload, CONTEXT)
        session.sent(data)
    events = session.receive(frames.encode_frame(Opcode.TEXT, b"one", mask_key=None))
    message = events[-1]
    assert isinstance(message, Message) and message.echo is True
    events = session.receive(frames.encode_frame(Opcode.TEXT, b"two", mask_key=None))
    assert isinstance(events[-1], Message) and events[-1].echo is False


def test_messages_sent_as_raw_frames_are_followed_too() -> None:
    session = upgraded()
    raw = WsFrame(opcode=Opcode.BINARY, payload=Text(text="abc"), fin=False)
    rest = WsFrame(opcode=Opcode.CONTINUATION, payload=Text(text="def"))
    data = session.render(Concat(parts=(raw, rest)), CONTEXT)
    session.sent(data[:5])
    session.sent(data[5:])
    events = session.receive(frames.encode_frame(Opcode.BINARY, b"abcdef", mask_key=None))
    assert isinstance(events[-1], Message) and events[-1].echo is True


def test_a_close_is_answered_once_and_recorded() -> None:
    session = upgraded()
    session.receive(frames.encode_frame(Opcode.CLOSE, b"\x03\xea", mask_key=None))
    reply = session.outgoing()
    (frame,) = frames.FrameDecoder(from_server=False).feed(reply)
    assert isinstance(frame, Frame) and frame.close_code == 1002
    session.sent(reply)
    session.receive_eof()
    facts = session.closing_facts()
    assert (facts.first, facts.target_code, facts.harness_closed, facts.eof) == ("target", 1002, True, True)
    assert session.outgoing() == b""


def test_repeated_messages_are_compressed_one_after_another() -> None:
    session = upgraded("permessage-deflate", ("permessage-deflate; client_max_window_bits",))
    payload = Repeat(
        payload=WsMessage(kind="text", payload=Text(text="hello " * 50, encoding="utf-8")), count=3
    )
    data = session.render(payload, CONTEXT)
    decoded = frames.FrameDecoder(from_server=False).feed(data)
    assert len(decoded) == 3 and all(isinstance(f, Frame) and f.rsv1 for f in decoded)
    sizes = [len(f.payload) for f in decoded if isinstance(f, Frame)]
    assert sizes[1] < sizes[0]  # the context carried over


def test_server_frames_that_break_rules_carry_violations_into_the_message() -> None:
    session = upgraded()
    events = session.receive(frames.encode_frame(Opcode.TEXT, b"hi", mask_key=b"abcd"))
    message = events[-1]
    assert isinstance(message, Message) and [v.code for v in message.violations] == ["ws-server-masked"]


def _compressed(data: bytes, window_bits: int) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -window_bits)
    out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4]


def test_a_repeat_of_sample_messages_sends_successive_windows() -> None:
    session = upgraded()
    payload = Repeat(payload=WsMessage(kind="binary", payload=Sample(kind="prose", size=100)), count=3)
    decoded = frames.FrameDecoder(from_server=False).feed(session.render(payload, CONTEXT))
    sent = [f.payload for f in decoded if isinstance(f, Frame)]
    assert sent == [samples.window("prose", 100, index=i) for i in range(3)]


def test_echoes_are_inflated_with_the_window_the_server_agreed_to() -> None:
    data = samples.window("json", 8192)  # JSON repeats its keys from further back than 256 bytes
    offer = ("permessage-deflate; server_max_window_bits=8",)
    within = upgraded("permessage-deflate; server_max_window_bits=8", offer)
    # zlib's smallest raw window (9 bits) reaches back at most 250 bytes: within 8 bits.
    frame = frames.encode_frame(Opcode.TEXT, _compressed(data, 9), rsv1=True, mask_key=None)
    (message,) = [e for e in within.receive(frame) if isinstance(e, Message)]
    assert message.length == len(data) and not message.violations
    beyond = upgraded("permessage-deflate; server_max_window_bits=8", offer)
    events = beyond.receive(frames.encode_frame(Opcode.TEXT, _compressed(data, 15), rsv1=True, mask_key=None))
    (message,) = [e for e in events if isinstance(e, Message)]
    assert [v.code for v in message.violations] == ["ws-deflate-invalid"]
    assert "256-byte window of max_window_bits=8" in message.violations[0].message


def test_the_client_no_context_takeover_hint_of_the_offer_is_kept() -> None:
    # RFC 7692 §7.1.1.2: offered, the client does not take over its context even when the
    # server's answer leaves the parameter out.
    hinted = upgraded("permessage-deflate", ("permessage-deflate; client_no_context_takeover",))
    plain = upgraded("permessage-deflate", ("permessage-deflate",))
    message = Repeat(
        payload=WsMessage(kind="text", payload=Text(text="hello " * 50, encoding="utf-8")), count=2
    )
    for session, reset in ((hinted, True), (plain, False)):
        decoded = frames.FrameDecoder(from_server=False).feed(session.render(message, CONTEXT))
        sizes = [len(f.payload) for f in decoded if isinstance(f, Frame)]
        assert (sizes[0] == sizes[1]) is reset


def test_a_finished_session_releases_its_compression_contexts() -> None:
    session = upgraded("permessage-deflate", ("permessage-deflate",))
    assert session.compressor is not None
    session.release()
    assert session.compressor is None
