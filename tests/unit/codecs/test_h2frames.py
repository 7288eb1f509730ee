"""HTTP/2 frames: every type encodes and decodes, the encoder lies on request, the decoder
reports what a frame breaks and never raises."""

from __future__ import annotations

import pytest

from conformance.codecs import h2frames as fr


def decode_one(data: bytes) -> fr.Frame:
    frames = fr.FrameDecoder(max_frame_size=fr.MAX_FRAME_SIZE_LIMIT).feed(data)
    assert len(frames) == 1
    return frames[0]


@pytest.mark.parametrize(
    ("frame", "text"),
    [
        (
            fr.GoAwayFrame(last_stream_id=1, error_code=fr.ErrorCode.PROTOCOL_ERROR),
            "GOAWAY (error: PROTOCOL_ERROR, last stream 1)",
        ),
        (fr.SettingsFrame(flags=fr.Flag.ACK), "SETTINGS (ACK)"),
        (fr.SettingsFrame(settings=((4, 0),)), "SETTINGS (INITIAL_WINDOW_SIZE=0)"),
        (fr.PingFrame(opaque=bytes(8), flags=1), "PING (data 0000000000000000, ACK)"),
        (fr.RstStreamFrame(stream_id=3, error_code=8), "RST_STREAM on stream 3 (error: CANCEL)"),
        (fr.DataFrame(stream_id=1, data=b"abc", flags=1), "DATA on stream 1 (3 bytes, END_STREAM)"),
        (fr.WindowUpdateFrame(increment=10), "WINDOW_UPDATE (increment 10)"),
        (fr.UnknownFrame(type=0xF0, payload=b"xx", length=2), "UNKNOWN(0xf0) (2 bytes)"),
    ],
)
def test_frames_describe_themselves_in_one_line(frame: fr.Frame, text: str) -> None:
    assert frame.describe() == text


@pytest.mark.parametrize(
    "frame",
    [
        fr.DataFrame(stream_id=1, data=b"hello", flags=fr.Flag.END_STREAM),
        fr.DataFrame(stream_id=1, data=b"hello", flags=fr.Flag.PADDED, pad_length=3),
        fr.HeadersFrame(stream_id=3, block=b"\x82\x84", flags=fr.Flag.END_HEADERS),
        fr.HeadersFrame(
            stream_id=3,
            block=b"\x82",
            flags=fr.Flag.PRIORITY | fr.Flag.END_HEADERS,
            priority=fr.Priority(exclusive=True, depends_on=1, weight=256),
        ),
        fr.PriorityFrame(stream_id=5, priority=fr.Priority(depends_on=3, weight=1)),
        fr.RstStreamFrame(stream_id=1, error_code=fr.ErrorCode.CANCEL),
        fr.SettingsFrame(settings=((1, 4096), (4, 65535))),
        fr.PushPromiseFrame(stream_id=1, promised_stream_id=2, block=b"\x82", flags=fr.Flag.END_HEADERS),
        fr.PingFrame(opaque=b"12345678"),
        fr.GoAwayFrame(last_stream_id=7, error_code=2, debug=b"bye"),
        fr.WindowUpdateFrame(stream_id=1, increment=1000),
        fr.ContinuationFrame(stream_id=1, block=b"\x84", flags=fr.Flag.END_HEADERS),
        fr.PriorityUpdateFrame(prioritized_stream_id=1, field_value=b"u=1"),
        fr.UnknownFrame(type=0xF0, flags=0xFF, stream_id=9, payload=b"ext"),
    ],
)
def test_every_frame_type_round_trips(frame: fr.Frame) -> None:
    decoded = decode_one(fr.encode(frame))
    assert decoded.violations == ()
    assert fr.encode(decoded) == fr.encode(frame)
    assert type(decoded) is type(frame)


def test_every_header_field_can_be_overridden() -> None:
    data = fr.encode_frame(fr.FrameType.PING, b"\0" * 6, flags=0xFF, stream_id=3, reserved=True, length=6)
    assert data[:9] == bytes.fromhex("000006 06 ff 80000003")
    frame = decode_one(data)
    codes = {v.code for v in frame.violations}
    assert codes == {"h2-reserved-bit", "h2-bad-frame-size", "h2-ping-on-stream"}


def test_a_declared_length_can_lie() -> None:
    data = fr.encode_frame(fr.FrameType.DATA, b"abc", stream_id=1, length=10)
    decoder = fr.FrameDecoder()
    assert decoder.feed(data) == []  # waits for the 7 octets the header promised
    assert decoder.pending > 0


def test_padding_longer_than_the_payload_is_reported() -> None:
    frame = decode_one(fr.encode_frame(fr.FrameType.DATA, b"\x06Test", flags=fr.Flag.PADDED, stream_id=1))
    assert [v.code for v in frame.violations] == ["h2-bad-padding"]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (fr.encode_frame(fr.FrameType.SETTINGS, b"\0\x02\0\0\0\x02"), "h2-bad-setting"),
        (fr.encode_frame(fr.FrameType.SETTINGS, b"\0\x02\0"), "h2-bad-frame-size"),
        (fr.encode_frame(fr.FrameType.SETTINGS, b"\0\x03\0\0\0\x01", flags=1), "h2-bad-frame-size"),
        (fr.encode_frame(fr.FrameType.GOAWAY, b"\0\0", stream_id=1), "h2-goaway-on-stream"),
        (fr.encode_frame(fr.FrameType.WINDOW_UPDATE, b"\0\0\0\0"), "h2-zero-window-increment"),
        (fr.encode_frame(fr.FrameType.DATA, b"x"), "h2-data-on-stream-0"),
        (fr.encode_frame(fr.FrameType.HEADERS, b"x", flags=fr.Flag.PRIORITY, stream_id=1), "h2-bad-priority"),
    ],
)
def test_malformed_frames_carry_violations(data: bytes, code: str) -> None:
    assert code in {v.code for v in decode_one(data).violations}


def test_a_frame_over_our_max_frame_size_is_reported_and_still_decoded() -> None:
    frame = fr.FrameDecoder().feed(fr.encode_frame(fr.FrameType.DATA, b"x" * 16385, stream_id=1))[0]
    assert isinstance(frame, fr.DataFrame) and len(frame.data) == 16385
    assert [v.code for v in frame.violations] == ["h2-frame-too-large"]


def test_the_decoder_keeps_only_a_capped_part_of_a_huge_payload() -> None:
    decoder = fr.FrameDecoder(max_frame_size=fr.MAX_FRAME_SIZE_LIMIT, payload_cap=1000)
    header = fr.frame_header(length=1 << 20, frame_type=fr.FrameType.DATA, stream_id=1)
    frames = decoder.feed(header)
    for _ in range(16):
        frames += decoder.feed(b"y" * (1 << 16))
    (frame,) = frames
    assert isinstance(frame, fr.DataFrame)
    assert len(frame.data) == 1000 and frame.truncated == (1 << 20) - 1000
    assert frame.describe() == "DATA on stream 1 (1048576 bytes)"


def test_frames_split_at_every_byte_decode_the_same() -> None:
    data = fr.encode(fr.SettingsFrame(settings=((3, 100),))) + fr.encode(fr.PingFrame(opaque=b"abcdefgh"))
    decoder = fr.FrameDecoder()
    frames = [f for i in range(len(data)) for f in decoder.feed(data[i : i + 1])]
    assert [f.name for f in frames] == ["SETTINGS", "PING"]


def test_enums_name_the_rfc_values() -> None:
    assert fr.ErrorCode.HTTP_1_1_REQUIRED == 0xD
    assert fr.Setting.ENABLE_CONNECT_PROTOCOL == 8
    assert fr.FrameType.PRIORITY_UPDATE == 0x10
    assert fr.error_name(0xFF) == "0xff"
    assert fr.flag_names(fr.FrameType.HEADERS, 0x25) == ["END_STREAM", "END_HEADERS", "PRIORITY"]
    assert fr.flag_names(fr.FrameType.PING, 0x16) == ["0x16"]
