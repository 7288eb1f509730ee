"""Property tests of the WebSocket codec: round trips, agreement with wsproto on valid
input, and decoders that never raise on any bytes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from wsproto.frame_protocol import FrameProtocol
from wsproto.frame_protocol import Opcode as WsprotoOpcode

from conformance.codecs.ws import deflate, frames, messages, utf8
from conformance.codecs.ws.frames import Frame, FrameDecoder, Opcode

keys = st.one_of(st.none(), st.binary(min_size=4, max_size=4))
encodings = st.sampled_from([None, 16, 64])


@given(
    opcode=st.integers(0, 15),
    payload=st.binary(max_size=300),
    fin=st.booleans(),
    rsv=st.tuples(st.booleans(), st.booleans(), st.booleans()),
    key=keys,
    encoding=encodings,
    cuts=st.lists(st.integers(1, 50), max_size=10),
)
def test_frames_round_trip_in_any_pieces(opcode, payload, fin, rsv, key, encoding, cuts) -> None:  # type: ignore[no-untyped-def]
    if encoding == 16 and len(payload) > 0xFFFF:
        encoding = None
    wire = frames.encode_frame(
        opcode, payload, fin=fin, rsv1=rsv[0], rsv2=rsv[1], rsv3=rsv[2], mask_key=key, encoding=encoding
    )
    decoder = FrameDecoder()
    got: list[object] = []
    at = 0
    for size in cuts:
        got += decoder.feed(wire[at : at + size])
        at += size
    got += decoder.feed(wire[at:])
    (frame,) = got
    assert isinstance(frame, Frame)
    assert (frame.opcode, frame.payload, frame.fin, frame.rsv, frame.mask_key) == (
        opcode,
        payload,
        fin,
        rsv,
        key,
    )
    assert frame.length == len(payload)


@given(st.binary(max_size=2000), st.lists(st.integers(1, 300), max_size=8))
def test_the_frame_decoder_never_raises(data, cuts) -> None:  # type: ignore[no-untyped-def]
    decoder = FrameDecoder(max_payload=1000)
    assembler = messages.MessageAssembler(deflate=True, max_message=5000)
    at = 0
    for size in [*cuts, len(data)]:
        for event in decoder.feed(data[at : at + size]):
            if isinstance(event, Frame):
                assembler.frame(event)
                event.describe()
                event.detail()
        at += size


valid_masked_frames = st.builds(
    lambda op, payload, key: (op, payload, frames.encode_frame(op, payload, mask_key=key)),
    st.sampled_from([Opcode.BINARY, Opcode.PING, Opcode.PONG]),
    st.binary(max_size=125),
    st.binary(min_size=4, max_size=4),
)


@given(valid_masked_frames)
def test_wsproto_reads_our_frames(case) -> None:  # type: ignore[no-untyped-def]
    opcode, payload, wire = case
    server = FrameProtocol(client=False, extensions=[])
    server.receive_bytes(wire)
    (frame,) = list(server.received_frames())
    assert frame.opcode == WsprotoOpcode(opcode)
    assert bytes(frame.payload) == payload


@given(st.sampled_from([WsprotoOpcode.BINARY, WsprotoOpcode.PING]), st.binary(max_size=70000))
@settings(max_examples=30)
def test_we_read_wsproto_frames(opcode, payload) -> None:  # type: ignore[no-untyped-def]
    if opcode is WsprotoOpcode.PING:
        payload = payload[:125]
    server = FrameProtocol(client=False, extensions=[])
    wire = server._serialize_frame(opcode, payload)
    (frame,) = FrameDecoder().feed(wire)
    assert isinstance(frame, Frame) and frame.violations == ()
    assert (frame.opcode, frame.payload) == (int(opcode), payload)


@given(st.text(max_size=200), st.lists(st.integers(1, 10), max_size=20))
def test_utf8_validation_accepts_every_valid_text_in_any_pieces(text, cuts) -> None:  # type: ignore[no-untyped-def]
    data = text.encode("utf-8", "surrogatepass")
    validator = utf8.Utf8Validator()
    at = 0
    for size in cuts:
        validator.feed(data[at : at + size])
        at += size
    validator.feed(data[at:])
    has_surrogate = any(0xD800 <= ord(c) <= 0xDFFF for c in text)
    assert (validator.finish() is None) is not has_surrogate


@given(st.binary(max_size=60), st.lists(st.integers(1, 5), max_size=10))
def test_utf8_errors_are_where_python_finds_them(data, cuts) -> None:  # type: ignore[no-untyped-def]
    validator = utf8.Utf8Validator()
    at = 0
    for size in cuts:
        validator.feed(data[at : at + size])
        at += size
    validator.feed(data[at:])
    found = validator.finish()
    try:
        data.decode("utf-8")
        assert found is None
    except UnicodeDecodeError as exc:
        assert found is not None
        # We may only say "invalid" at the first byte Python says cannot be decoded.
        assert found == exc.start


@given(
    st.lists(st.binary(max_size=500), min_size=1, max_size=5),
    st.booleans(),
    st.integers(1, 4),
)
def test_messages_round_trip_fragmented_and_compressed(payloads, takeover, pieces) -> None:  # type: ignore[no-untyped-def]
    compressor = deflate.MessageCompressor(no_context_takeover=takeover)
    assembler = messages.MessageAssembler(deflate=True, no_context_takeover=takeover)
    decoder = FrameDecoder(from_server=False)
    for payload in payloads:
        wire = b"".join(
            messages.encode_message(
                Opcode.BINARY, payload, sizes=messages.cut(len(payload), pieces), compressor=compressor
            )
        )
        done = [assembler.frame(f)[1] for f in decoder.feed(wire) if isinstance(f, Frame)]
        message = done[-1]
        assert message is not None and message.payload == payload and message.violations == ()
