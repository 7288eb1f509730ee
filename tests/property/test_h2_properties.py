"""Properties of the HTTP/2 codecs: frames round-trip and agree with hyperframe on valid
input, HPACK blocks agree with the hpack package, and no decoder raises on any bytes."""

from __future__ import annotations

import hpack
import hyperframe.frame as hf
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.codecs import h2fields
from conformance.codecs import h2frames as fr
from conformance.codecs import h2hpack as hp

streams = st.integers(min_value=1, max_value=fr.STREAM_MASK)
payloads = st.binary(max_size=200)


@st.composite
def valid_frames(draw: st.DrawFn) -> fr.Frame:
    kind = draw(
        st.sampled_from(
            ["data", "headers", "priority", "rst", "settings", "ping", "goaway", "window", "cont"]
        )
    )
    stream = draw(streams)
    if kind == "data":
        pad = draw(st.none() | st.integers(0, 255))
        return fr.DataFrame(
            stream_id=stream,
            data=draw(payloads),
            pad_length=pad,
            flags=draw(st.sampled_from([0, 1])) | (fr.Flag.PADDED if pad is not None else 0),
        )
    if kind == "headers":
        prio = draw(
            st.none()
            | st.builds(fr.Priority, exclusive=st.booleans(), depends_on=streams, weight=st.integers(1, 256))
        )
        return fr.HeadersFrame(
            stream_id=stream,
            block=draw(payloads),
            priority=prio,
            flags=fr.Flag.END_HEADERS | (fr.Flag.PRIORITY if prio else 0),
        )
    if kind == "priority":
        return fr.PriorityFrame(
            stream_id=stream,
            priority=fr.Priority(
                exclusive=draw(st.booleans()), depends_on=draw(streams), weight=draw(st.integers(1, 256))
            ),
        )
    if kind == "rst":
        return fr.RstStreamFrame(stream_id=stream, error_code=draw(st.integers(0, 0xFFFFFFFF)))
    if kind == "settings":
        # hyperframe keeps settings in a dict: one value per identifier here
        unique = draw(
            st.dictionaries(st.sampled_from([1, 3, 6, 0x20]), st.integers(0, 0xFFFFFFFF), max_size=4)
        )
        return fr.SettingsFrame(settings=tuple(unique.items()))
    if kind == "ping":
        return fr.PingFrame(
            opaque=draw(st.binary(min_size=8, max_size=8)), flags=draw(st.sampled_from([0, 1]))
        )
    if kind == "goaway":
        return fr.GoAwayFrame(
            last_stream_id=draw(streams), error_code=draw(st.integers(0, 13)), debug=draw(payloads)
        )
    if kind == "window":
        return fr.WindowUpdateFrame(
            stream_id=draw(st.integers(0, 9)), increment=draw(st.integers(1, fr.MAX_WINDOW))
        )
    return fr.ContinuationFrame(stream_id=stream, block=draw(payloads), flags=fr.Flag.END_HEADERS)


@given(valid_frames())
def test_frames_round_trip(frame: fr.Frame) -> None:
    data = fr.encode(frame)
    (decoded,) = fr.FrameDecoder().feed(data)
    assert fr.encode(decoded) == data
    assert decoded.violations == ()


@given(valid_frames())
def test_hyperframe_reads_what_we_encode(frame: fr.Frame) -> None:
    data = fr.encode(frame)
    parsed, length = hf.Frame.parse_frame_header(memoryview(data[:9]))
    parsed.parse_body(memoryview(data[9 : 9 + length]))
    assert parsed.type == frame.type
    assert parsed.stream_id == frame.stream_id
    assert parsed.serialize() == data


@given(st.lists(st.binary(max_size=64), max_size=30), st.integers(1, 1 << 14), st.integers(0, 2000))
def test_the_frame_decoder_never_raises(chunks: list[bytes], max_size: int, cap: int) -> None:
    decoder = fr.FrameDecoder(max_frame_size=max_size, payload_cap=cap)
    for chunk in chunks:
        for frame in decoder.feed(chunk):
            assert frame.describe()
            frame.detail()


names = st.binary(min_size=1, max_size=20).map(lambda b: b.lower())


@given(st.lists(st.tuples(names, st.binary(max_size=40)), max_size=10), st.booleans())
def test_hpack_reads_our_blocks(fields: list[tuple[bytes, bytes]], use_huffman: bool) -> None:
    block = hp.encode_fields(fields, use_huffman=use_huffman)
    assert hpack.Decoder().decode(block, raw=True) == fields


@given(st.integers(0, 1 << 40), st.integers(1, 8), st.integers(0, 5))
def test_integers_agree_with_hpack(value: int, prefix: int, extra: int) -> None:
    data = hp.encode_integer(value, prefix, extra_continuations=extra)
    if len(data) - 1 <= hpack.hpack.VARINT_MAX_LENGTH:
        assert hpack.hpack.decode_integer(data, prefix)[0] == value
    else:  # an integer longer than a decoder's limit: refused (RFC 7541 §5.1)
        with pytest.raises(hpack.HPACKDecodingError):
            hpack.hpack.decode_integer(data, prefix)


@given(st.binary(max_size=300))
def test_the_block_decoder_never_raises(block: bytes) -> None:
    fields, error = hp.BlockDecoder().decode(block)
    assert error is None or isinstance(error, str)
    h2fields.response_violations(fields)


@given(st.lists(st.tuples(st.binary(max_size=12), st.binary(max_size=12)), max_size=8), st.booleans())
def test_field_checks_never_raise(fields: list[tuple[bytes, bytes]], trailers: bool) -> None:
    for violation in h2fields.response_violations(fields, trailers=trailers) + h2fields.request_violations(
        fields
    ):
        assert violation.describe()


frame_bytes = st.one_of(
    valid_frames().map(fr.encode),
    st.builds(
        fr.encode_frame,
        st.integers(0, 0x20),
        st.binary(max_size=40),
        flags=st.integers(0, 255),
        stream_id=st.integers(0, 9),
        reserved=st.booleans(),
    ),
    st.binary(max_size=30),
    st.just(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
)


@given(st.lists(frame_bytes, max_size=20), st.booleans())
def test_the_h2_session_never_raises(chunks: list[bytes], upgrade: bool) -> None:
    from conformance.driver.h2 import H2Session

    session = H2Session()
    if upgrade:
        session.begin_upgrade()
    session.sent(fr.PREFACE + fr.encode(fr.SettingsFrame(settings=((1, 0), (4, 0)))))
    session.sent(
        fr.encode(fr.HeadersFrame(stream_id=1, block=hp.encode_fields([(b":method", b"HEAD")]), flags=5))
    )
    for chunk in chunks:
        for event in session.receive(chunk):
            assert event.describe()
            event.detail()
        session.outgoing()
    for event in session.receive_eof():
        assert event.describe()


@given(
    st.lists(
        st.one_of(st.binary(max_size=60), st.just(fr.PREFACE), frame_bytes),
        max_size=15,
    ),
    st.booleans(),
)
def test_the_h2_session_reads_anything_we_send(chunks: list[bytes], upgrade: bool) -> None:
    from conformance.driver.h2 import H2Session

    session = H2Session()
    if upgrade:
        session.begin_upgrade()
    for chunk in chunks:
        session.sent(chunk)
        session.outgoing()
