"""The WebSocket codec: frames, masking, messages, UTF-8, close codes, deflate, handshake."""

from __future__ import annotations

import zlib

import pytest

from conformance.codecs import http1
from conformance.codecs.ws import close, deflate, frames, handshake, messages, utf8
from conformance.codecs.ws.frames import Frame, FrameDecoder, Garbled, Opcode, encode_frame


def decode(data: bytes, *, from_server: bool = True) -> list[Frame | Garbled]:
    return FrameDecoder(from_server=from_server).feed(data)


def codes(frame: Frame | Garbled) -> list[str]:
    if isinstance(frame, Garbled):
        return [frame.violation.code]
    return [v.code for v in frame.violations]


def test_rfc_6455_examples() -> None:
    # RFC 6455 §5.7: a single-frame masked text message "Hello".
    wire = bytes.fromhex("818537fa213d7f9f4d5158")
    assert encode_frame(Opcode.TEXT, b"Hello", mask_key=bytes.fromhex("37fa213d")) == wire
    (frame,) = decode(wire, from_server=False)
    assert isinstance(frame, Frame)
    assert (frame.payload, frame.fin, frame.mask_key, frame.violations) == (b"Hello", True, wire[2:6], ())
    # An unmasked ping, and a 256-byte binary frame in the 16-bit form.
    assert encode_frame(Opcode.PING, b"Hello", mask_key=None) == bytes.fromhex("890548656c6c6f")
    assert encode_frame(Opcode.BINARY, bytes(256), mask_key=None)[:4] == bytes.fromhex("827e0100")
    assert encode_frame(Opcode.BINARY, bytes(65536), mask_key=None)[:10] == bytes.fromhex(
        "827f0000000000010000"
    )


def test_any_header_can_be_written() -> None:
    wire = encode_frame(
        0xB, b"ab", fin=False, rsv1=True, rsv2=True, rsv3=True, mask_key=None, encoding=64, declared_length=2
    )
    assert wire == bytes.fromhex("7b7f0000000000000002") + b"ab"
    (frame,) = decode(wire)
    assert isinstance(frame, Frame)
    assert (frame.opcode, frame.fin, frame.rsv, frame.encoding) == (0xB, False, (True, True, True), 64)
    assert set(codes(frame)) == {"ws-reserved-opcode", "ws-length-not-minimal", "ws-control-fragmented"}
    with pytest.raises(ValueError):
        frames.encode_header(opcode=1, length=300, encoding=7)


def test_the_decoder_reports_rule_breaking_frames() -> None:
    assert codes(decode(encode_frame(Opcode.TEXT, b"x", mask_key=b"abcd"))[0]) == ["ws-server-masked"]
    assert codes(decode(encode_frame(Opcode.TEXT, b"x", mask_key=None), from_server=False)[0]) == [
        "ws-client-unmasked"
    ]
    assert codes(decode(encode_frame(Opcode.PING, bytes(126), mask_key=None))[0]) == ["ws-control-too-long"]
    assert codes(decode(encode_frame(Opcode.PONG, b"", fin=False, mask_key=None))[0]) == [
        "ws-control-fragmented"
    ]
    assert codes(decode(encode_frame(Opcode.CLOSE, b"\x03", mask_key=None))[0]) == ["ws-close-1-byte"]
    assert codes(decode(frames.encode_header(opcode=2, length=1 << 63, encoding=64))[0]) == ["ws-length-msb"]


def test_the_decoder_takes_bytes_in_any_pieces_and_caps_frames() -> None:
    wire = encode_frame(Opcode.BINARY, bytes(range(256)) * 300, mask_key=b"\x01\x02\x03\x04")
    decoder = FrameDecoder(from_server=False)
    got = []
    for i in range(0, len(wire), 7):
        got += decoder.feed(wire[i : i + 7])
    assert len(got) == 1 and isinstance(got[0], Frame) and got[0].payload == bytes(range(256)) * 300
    assert decoder.pending() == 0
    small = FrameDecoder(max_payload=10)
    (garbled,) = small.feed(encode_frame(Opcode.BINARY, bytes(11), mask_key=None) + b"more")
    assert isinstance(garbled, Garbled) and small.dead and small.feed(b"x") == []


def test_masking_is_its_own_inverse_across_slices() -> None:
    data = bytes(range(256)) * (frames.MASK_SLICE // 256 + 3) + b"tail"
    key = b"\x9a\x01\xff\x10"
    masked = frames.mask(data, key)
    assert masked[:8] == bytes(a ^ b for a, b in zip(data[:8], key * 2, strict=True))
    assert masked[frames.MASK_SLICE : frames.MASK_SLICE + 4] == bytes(
        a ^ b for a, b in zip(data[frames.MASK_SLICE : frames.MASK_SLICE + 4], key, strict=True)
    )
    assert frames.mask(masked, key) == data
    assert frames.mask(b"", key) == b""


def test_utf8_validation_is_incremental_and_fails_fast() -> None:
    text = "κόσμε".encode()
    validator = utf8.Utf8Validator()
    for byte in text:
        assert validator.feed(bytes([byte])) is None
    assert validator.finish() is None
    # A surrogate is invalid as soon as its second byte arrives.
    validator = utf8.Utf8Validator()
    assert validator.feed(text + b"\xed") is None
    assert validator.feed(b"\xa0") == len(text)
    # Cut inside a character, then a bad continuation byte.
    validator = utf8.Utf8Validator()
    assert validator.feed(b"ab\xe2\x82") is None
    assert validator.feed(b"A") == 2
    assert utf8.first_invalid(b"ok\xf4\x90\x80\x80") == 2
    assert utf8.first_invalid(b"\xce") == 0
    assert utf8.first_invalid("\U0010ffff".encode()) is None


def test_close_codes_and_ranges() -> None:
    assert close.CloseCode.PROTOCOL_ERROR == 1002
    assert close.code_range(999) is close.CodeRange.UNUSED
    assert close.code_range(4999) is close.CodeRange.PRIVATE
    valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]
    invalid = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]
    assert all(close.is_valid_on_wire(code) for code in valid)
    assert not any(close.is_valid_on_wire(code) for code in invalid)
    assert close.encode_close_payload(1000, b"bye") == b"\x03\xe8bye"
    assert [v.code for v in close.check_close_payload(b"\x03\xed\xce")] == [
        "ws-close-code-invalid",
        "ws-close-reason-utf8",
    ]
    assert close.check_close_payload(b"") == ()


def assemble(frames_: list[bytes], **kwargs: object) -> list[object]:
    decoder = FrameDecoder(from_server=False)
    assembler = messages.MessageAssembler(**kwargs)  # type: ignore[arg-type]
    out: list[object] = []
    for frame in decoder.feed(b"".join(frames_)):
        assert isinstance(frame, Frame)
        found, message = assembler.frame(frame)
        out += [v.code for v in found]
        if message is not None:
            out.append(message)
    return out


def test_messages_from_fragments_with_control_frames_interleaved() -> None:
    parts = messages.encode_message(Opcode.TEXT, "Hello, wörld".encode(), sizes=messages.cut(13, 3))
    ping = encode_frame(Opcode.PING, b"p")
    out = assemble([parts[0], ping, parts[1], parts[2]])
    (message,) = out
    assert isinstance(message, messages.Message)
    assert (message.kind, message.payload.decode(), message.frames) == ("text", "Hello, wörld", 3)
    assert message.describe() == 'text message (13 bytes in 3 frames): "Hello, w\\xc3\\xb6rld"'


def test_message_layer_violations() -> None:
    cont = encode_frame(Opcode.CONTINUATION, b"x")
    assert assemble([cont]) == ["ws-orphan-continuation"]
    out = assemble([encode_frame(Opcode.TEXT, b"a", fin=False), encode_frame(Opcode.TEXT, b"b")])
    assert out[0] == "ws-interleaved-message"
    (bad,) = assemble([encode_frame(Opcode.TEXT, b"ok\xff")])
    assert isinstance(bad, messages.Message) and bad.utf8_error == 2
    assert [v.code for v in bad.violations] == ["ws-invalid-utf8"]
    assert assemble([encode_frame(Opcode.BINARY, b"x", rsv2=True)])[0] == "ws-rsv-set"


def test_large_messages_keep_only_a_head_and_a_digest() -> None:
    payload = bytes(range(256)) * 1024
    (message,) = assemble(
        messages.encode_message(Opcode.BINARY, payload, sizes=messages.cut(len(payload), 4))
    )
    assert isinstance(message, messages.Message)
    import hashlib

    assert message.length == len(payload) and len(message.payload) == messages.KEEP
    assert message.digest == hashlib.sha256(payload).hexdigest()


def test_cutting_payloads() -> None:
    assert messages.cut(10, 3) == [3, 3, 4]
    assert messages.cut(10, fragment_size=4) == [4, 4, 2]
    assert messages.cut(0, fragment_size=4) == [0]
    assert messages.cut(10, [2, 2]) == [2, 2, 6]
    assert messages.cut(4, [2, 5]) == [2, 2]


def test_permessage_deflate_round_trip_with_and_without_context_takeover() -> None:
    for takeover in (False, True):
        compressor = deflate.MessageCompressor(no_context_takeover=takeover)
        sent = [b"Hello" * 100, b"Hello" * 100, b""]
        wire = [f for p in sent for f in messages.encode_message(Opcode.TEXT, p, compressor=compressor)]
        out = assemble(wire, deflate=True, no_context_takeover=takeover)
        assert [m.payload for m in out if isinstance(m, messages.Message)] == sent
        assert all(isinstance(m, messages.Message) and m.compressed for m in out)
    # The second message, compressed with context, is shorter than the first.
    compressor = deflate.MessageCompressor()
    assert len(compressor.compress(b"abc" * 50)) > len(compressor.compress(b"abc" * 50))
    garbage = encode_frame(Opcode.BINARY, b"\xff\xff\xff", rsv1=True)
    (message,) = assemble([garbage], deflate=True)
    assert isinstance(message, messages.Message)
    assert [v.code for v in message.violations] == ["ws-deflate-invalid"]


def test_deflate_negotiation_parameters() -> None:
    offers, problems = deflate.parse_extensions(
        'permessage-deflate; client_max_window_bits; server_max_window_bits="10", x-foo'
    )
    assert problems == []
    assert offers[0].params == (("client_max_window_bits", None), ("server_max_window_bits", "10"))
    assert offers[1].name == "x-foo"
    offered = deflate.DeflateParams(client_max_window_bits=0, server_no_context_takeover=True)
    assert (
        offered.offer().render() == "permessage-deflate; server_no_context_takeover; client_max_window_bits"
    )
    ok, problems = deflate.check_response(
        deflate.ExtensionOffer(
            name="permessage-deflate",
            params=(("server_no_context_takeover", None), ("client_max_window_bits", "9")),
        ),
        offered,
    )
    assert problems == [] and ok == deflate.DeflateParams(
        server_no_context_takeover=True, client_max_window_bits=9
    )
    bad, problems = deflate.check_response(
        deflate.ExtensionOffer(
            name="permessage-deflate", params=(("server_max_window_bits", "7"), ("x", None))
        ),
        deflate.DeflateParams(),
    )
    assert bad is None and len(problems) == 2  # bad window bits, an unknown parameter


def response(text: str) -> http1.Response:
    parser = http1.ResponseParser()
    (parsed,) = parser.feed(text.replace("\n", "\r\n").encode() + b"\r\n")
    assert isinstance(parsed, http1.Response)
    return parsed


GOOD = """HTTP/1.1 101 Switching Protocols
Upgrade: websocket
Connection: Upgrade
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
"""


def test_handshake_requests_are_written_as_told() -> None:
    request = handshake.HandshakeRequest(
        host="example.com",
        target="/chat",
        key=handshake.SAMPLE_KEY,
        subprotocols=("chat", "superchat"),
        extensions=("permessage-deflate; client_max_window_bits",),
        omit=frozenset({"upgrade"}),
        override=(("Sec-WebSocket-Version", "8"),),
        extra=(("X-Extra", "1"),),
    )
    assert request.render() == (
        b"GET /chat HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n"
        b"Sec-WebSocket-Protocol: chat, superchat\r\n"
        b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nX-Extra: 1\r\n\r\n"
    )
    assert request.offered_deflate() == deflate.DeflateParams(client_max_window_bits=0)
    assert len(handshake.new_key()) == 24


def test_handshake_responses_are_checked_completely() -> None:
    key = handshake.SAMPLE_KEY
    assert handshake.check_response(response(GOOD), key=key).ok
    wrong = handshake.check_response(response(GOOD.replace("s3pP", "AAAA")), key=key)
    assert wrong.problems == (
        "Sec-WebSocket-Accept: AAAALMBiTxaQ9kYGzzhZRbK+xOo=, not s3pPLMBiTxaQ9kYGzzhZRbK+xOo= (§4.1, item 4)",
    )
    assert not handshake.check_response(response(GOOD.replace("Upgrade: websocket\n", "")), key=key).ok
    assert not handshake.check_response(
        response(GOOD.replace("Connection: Upgrade", "Connection: close")), key=key
    ).ok
    assert not handshake.check_response(response("HTTP/1.1 200 OK\nContent-Length: 0\n"), key=key).ok
    chosen = handshake.check_response(
        response(GOOD + "Sec-WebSocket-Protocol: chat\n"), key=key, subprotocols=("chat",)
    )
    assert chosen.ok and chosen.subprotocol == "chat"
    assert not handshake.check_response(response(GOOD + "Sec-WebSocket-Protocol: chat\n"), key=key).ok
    negotiated = handshake.check_response(
        response(GOOD + "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\n"),
        key=key,
        offered_deflate=deflate.DeflateParams(),
        offered_names=("permessage-deflate",),
    )
    assert negotiated.ok and negotiated.deflate == deflate.DeflateParams(server_no_context_takeover=True)
    unoffered = handshake.check_response(
        response(GOOD + "Sec-WebSocket-Extensions: permessage-deflate\n"), key=key
    )
    assert unoffered.problems == (
        "extension 'permessage-deflate' in use, which was not offered (§4.1, item 5)",
    )


def test_zlib_interoperates() -> None:
    compressor = deflate.MessageCompressor()
    data = compressor.compress(b"interop" * 10)
    assert zlib.decompressobj(-15).decompress(data + deflate.TAIL) == b"interop" * 10
