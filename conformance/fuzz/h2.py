"""HTTP/2 inputs and their oracles (``--suite h2``).

An input is a valid request (a HEADERS frame on stream 1: GET ``/``, END_STREAM and
END_HEADERS), optionally the frames one of the h2 suite's cases sends (its seed, on streams
two up from the case's, so as not to meet the request), plus a list of extra frames, each
drawn as one record of data: its type (the ten of RFC 9113 and an unknown one), flags,
stream, a payload and a declared length off by up to two; a HEADERS, PUSH_PROMISE or
CONTINUATION payload may be drawn as a field block of HPACK representations instead of bytes
(indexed fields in and past the tables, literals of each indexing kind, table size updates,
Huffman strings padded wrong, lengths that lie). Then a PING whose acknowledgement shows that
the server processed every frame before it (RFC 9113 §6.7: frames are processed in order);
and the offsets where the bytes are cut into TCP writes. Shrinking deletes frames, drops the
seed, and simplifies what is left. The connection preface and an empty SETTINGS frame go
first, as a client sends them.

What RFC 9113 asks of the server is read from the bytes as the server reads them, frame by
frame (:func:`due`): the first frame that the RFC says the server MUST treat as a connection
error, or else, when every frame before the PING is one whose handling no state of the
server can change, the PING's acknowledgement. Any frame it cannot decide that way (a HEADERS
that opens a stream, a DATA frame on the request's stream, a GOAWAY) leaves nothing decided
from there on. The oracles:

- *crash*: a new connection no longer gets a response to a GET;
- *rule*: a connection error was due and the PING was acknowledged with no GOAWAY before it
  (the case is the bundled one's rule, at MUST);
- *hang*: something was due (a connection error, or the acknowledgement) and nothing came,
  no GOAWAY and no close, within the deadline (MUST, RFC 9113 §6.7 or the error's rule);
- *invalid*: the server's frames and field blocks break RFC 9113, as the harness's own
  HTTP/2 reader (:class:`~conformance.driver.h2.H2Session`) finds (the violations the suite
  judges); those whose cause our frames could have timed (a window or a setting changed in
  flight) are not counted.

A close or a GOAWAY is never a finding: a server may end a connection at any time.
"""

from __future__ import annotations

import select
import socket
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from hypothesis import strategies as st

from conformance.codecs import h2hpack as hp
from conformance.codecs.h2frames import ErrorCode, FrameType, encode_frame, error_name
from conformance.fuzz.oracles import Signature
from conformance.fuzz.wire import FUZZ_WRITE_DELAY_MS, Counters, Exchange

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#: DATA .. CONTINUATION, then a type no extension defines here
FRAME_TYPES = (0x0, 0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x7, 0x8, 0x9, 0xFA)
STREAMS = (1, 0, 3, 2, 0x7FFFFFFF, 5)
#: :method GET, :scheme http, :path / (static table), :authority localhost (literal)
REQUEST_BLOCK = bytes.fromhex("828684") + b"\x41\x09localhost"
END_STREAM_END_HEADERS = 0x1 | 0x4
#: The opaque data of the PING that ends every input.
PROBE = b"fuzz-ack"
PROBE_FRAME = encode_frame(0x6, PROBE)


@dataclass(frozen=True)
class H2Frame:
    """One frame, every field as drawn: nothing checks it."""

    type: int
    flags: int
    stream: int
    payload: bytes
    length_delta: int = 0

    kind = "frame"

    def encode(self) -> bytes:
        length = max(0, len(self.payload) + self.length_delta)
        return encode_frame(self.type, self.payload, flags=self.flags, stream_id=self.stream, length=length)


@dataclass(frozen=True, kw_only=True)
class H2Input:
    frames: tuple[H2Frame, ...] = ()
    splits: tuple[int, ...] = ()
    #: the frames of a suite case (:func:`suite_seeds`), sent as they are before ``frames``
    seed: tuple[H2Frame, ...] = ()

    method = "GET"

    @property
    def mutations(self) -> tuple[H2Frame, ...]:
        return self.frames

    def body(self) -> bytes:
        """Everything after our SETTINGS: the request, the seed's frames, the extra frames,
        the probe PING."""
        request = encode_frame(0x1, REQUEST_BLOCK, flags=END_STREAM_END_HEADERS, stream_id=1)
        drawn = b"".join(frame.encode() for frame in (*self.seed, *self.frames))
        return request + drawn + PROBE_FRAME

    def writes(self) -> list[bytes]:
        data = self.body()
        cuts = sorted({1 + offset % (len(data) - 1) for offset in self.splits}) if len(data) > 1 else []
        pieces, start = [], 0
        for cut in cuts:
            pieces.append(data[start:cut])
            start = cut
        pieces.append(data[start:])
        return pieces

    def render(self, fill: object = None) -> list[bytes]:
        pieces = self.writes()
        pieces[0] = PREFACE + encode_frame(0x4) + pieces[0]
        return pieces

    def kinds(self) -> set[str]:
        kinds = {f"frame-{frame.type:#x}" for frame in self.frames}
        if len(self.writes()) > 1:
            kinds.add("split")
        if self.seed:
            kinds.add("suite-seed")
        return kinds

    def describe(self) -> str:
        drawn = ", ".join(f"type {f.type:#x} flags {f.flags:#x} stream {f.stream}" for f in self.frames)
        if self.seed:
            seeded = f"{len(self.seed)} frames of a suite case"
            return f"{seeded}, then {drawn}" if drawn else seeded
        return drawn or "GET only"


KIND_NAMES = (*(f"frame-{kind:#x}" for kind in FRAME_TYPES), "split", "suite-seed")
#: The frame types whose payload is a field block (RFC 9113 §4.3).
FIELD_BLOCK_TYPES = (0x1, 0x5, 0x9)


def decode_frame(record: bytes, payload: bytes) -> H2Frame:
    return H2Frame(
        type=FRAME_TYPES[record[0] % len(FRAME_TYPES)],
        flags=record[1],
        stream=STREAMS[record[2] % len(STREAMS)],
        payload=payload,
        length_delta=(record[3] % 5) - 2 if record[4] % 4 == 0 else 0,
    )


#: Field names and values the drawn literals use: request pseudo-fields, fields RFC 9113
#: §8.2.2 forbids, a name with an uppercase letter, and values with bytes §8.2.1 rejects.
NAMES = (
    b":path",
    b":method",
    b":authority",
    b":scheme",
    b":status",
    b"connection",
    b"te",
    b"x-a",
    b"X-B",
    b"",
)
VALUES = (b"/", b"GET", b"localhost", b"trailers", b"keep-alive", b"a", b"", b" a", b"a\r\nb", b"\x00")
INDEXING = ("without", "incremental", "never")
HUFFMAN = (None, "zero-padding", "long-padding", "eos")


def _representation(record: bytes) -> hp.Indexed | hp.Literal | hp.SizeUpdate:
    """One HPACK representation from 6 drawn bytes: an index up to a little past the static
    table (62 and on name dynamic entries, which may not exist), a literal, or a size update."""
    kind, index, name, value, how, length = record
    if kind % 5 == 0:
        return hp.SizeUpdate(size=(index * 64) % 8192)
    if kind % 5 == 1:
        return hp.Indexed(index=index % 70)
    text = VALUES[value % len(VALUES)]
    huffman = (how // 3) % 2 == 1
    return hp.Literal(
        name=NAMES[name % len(NAMES)],
        value=text,
        name_index=((index % 70) or None) if kind % 5 == 2 else None,
        indexing=INDEXING[how % 3],
        huffman=huffman,
        huffman_variant=HUFFMAN[(how // 6) % 4] if huffman else None,
        # a declared length one off either way (of a string sent as it is)
        value_length=max(0, len(text) + (length % 3) - 1) if not huffman and length % 8 == 0 else None,
    )


def hpack_blocks(*, max_size: int = 4) -> st.SearchStrategy[bytes]:
    """Field blocks as lists of HPACK representations (RFC 7541 §6), each drawn as 6 bytes."""
    return st.lists(st.binary(min_size=6, max_size=6), max_size=max_size).map(
        lambda records: hp.encode_block(_representation(record) for record in records)
    )


def h2_inputs(
    *, max_frames: int = 5, seeds: tuple[tuple[H2Frame, ...], ...] = ()
) -> st.SearchStrategy[H2Input]:
    """Inputs, seeded from ``seeds`` (see :func:`suite_seeds`; the first choice, which
    shrinking goes back to, is no seed)."""

    def frame(record: bytes, payload: bytes, block: bytes) -> H2Frame:
        drawn = decode_frame(record, payload)
        if drawn.type in FIELD_BLOCK_TYPES and record[3] % 2:  # a field block of representations
            prefix = drawn.payload[:4] if drawn.type == 0x5 else b""  # PUSH_PROMISE: the promised id
            return H2Frame(drawn.type, drawn.flags, drawn.stream, prefix + block, drawn.length_delta)
        return drawn

    frames = st.builds(frame, st.binary(min_size=5, max_size=5), st.binary(max_size=12), hpack_blocks())
    return st.builds(
        H2Input,
        frames=st.lists(frames, max_size=max_frames).map(tuple),
        splits=st.lists(st.integers(0, 10_000), max_size=2).map(tuple),
        # Half the inputs have no seed: a seed's HEADERS opens a stream, after which nothing
        # is decided (a hang or a rule needs the frames before the PING read alike in every
        # state). An index, not sampled_from: its repr would hold every seed.
        seed=st.one_of(st.just(()), st.integers(0, len(seeds) - 1).map(seeds.__getitem__))
        if seeds
        else st.just(()),
    )


@cache
def suite_seeds(
    cases_dir: Path | None = None, *, max_frames: int = 8, max_bytes: int = 512
) -> tuple[tuple[H2Frame, ...], ...]:
    """The frames each case of the h2 suite sends on its first connection, after the preface
    and SETTINGS the harness sends for it: rendered for a target at 127.0.0.1 as the harness
    renders them, read back frame by frame, their stream identifiers moved two up (so that
    the input's own request on stream 1 stays the only one there). Cases whose bytes need the
    target's settings or a response (a captured value), that send their own preface, or
    that send more than ``max_frames`` frames or ``max_bytes`` bytes, give none."""
    from conformance.scenario import bundled_cases_dir
    from conformance.scenario.loader import load_cases
    from conformance.scenario.model import Connect, Send
    from conformance.scenario.templates import TargetContext

    context = TargetContext(host="127.0.0.1", port=80, authority="127.0.0.1", path="/", scheme="h2c")
    found: set[tuple[H2Frame, ...]] = set()
    for case in load_cases([cases_dir or bundled_cases_dir() / "h2"]):
        if case.protocol != "h2":
            continue
        steps = list(case.steps)
        if steps and isinstance(steps[0], Connect):
            if steps[0].mode != "h2" or steps[0].options is not None:
                continue  # another opening (h2c upgrade, our own preface, settings of its own)
            steps = steps[1:]
        data = b""
        for step in steps:
            if isinstance(step, Connect):
                break  # only the first connection
            if not isinstance(step, Send):
                continue
            try:
                data += step.payload.render(context)
            except Exception:  # noqa: BLE001 - bytes that need the target (settings, captures)
                data = b""
                break
            if len(data) > max_bytes:
                break
        frames, end = parse_frames(data)
        if not data or end != len(data) or len(data) > max_bytes or len(frames) > max_frames:
            continue
        found.add(
            tuple(
                H2Frame(kind, flags, stream + 2 if stream else 0, payload)
                for kind, flags, stream, payload in frames
            )
        )
    return tuple(sorted(found, key=lambda seq: (len(seq), sum(len(f.payload) for f in seq), repr(seq))))


# -- what the input asks of the server

PROTOCOL_ERROR, FRAME_SIZE_ERROR = ErrorCode.PROTOCOL_ERROR, ErrorCode.FRAME_SIZE_ERROR
FLOW_CONTROL_ERROR = ErrorCode.FLOW_CONTROL_ERROR
MAX_WINDOW = (1 << 31) - 1
#: The bundled case of the PING's acknowledgement (RFC 9113 §6.7).
PING_ANSWERED = "h2/9113/6.7/ping-answered"


@dataclass(frozen=True)
class Due:
    """What RFC 9113 asks of the server for one input's bytes: ``kind`` is ``"error"`` (a
    connection error of ``error``, by the rule of the bundled case ``case``), ``"ack"`` (the
    probe PING's acknowledgement, :data:`PING_ANSWERED`), or ``""`` (nothing decided).
    ``frame`` says which frame decided it."""

    kind: str = ""
    case: str = ""
    errors: tuple[int, ...] = ()
    frame: str = ""
    #: The probe PING reads as a whole frame after the others: the server has every byte it
    #: needs. Otherwise it may be waiting, as the RFC lets it, for the rest of a frame (a
    #: declared length that lies) or of a header block: no hang to judge.
    complete: bool = False

    @property
    def key(self) -> str:
        return self.case or "nothing"


Frame = tuple[int, int, int, bytes]  # type, flags, stream, payload


def parse_frames(data: bytes) -> tuple[list[Frame], int]:
    """The whole frames in ``data`` by their declared lengths, as a peer reads them, and the
    offset where the last whole one ends."""
    found: list[Frame] = []
    at = 0
    while at + 9 <= len(data):
        length = int.from_bytes(data[at : at + 3], "big")
        if at + 9 + length > len(data):
            break
        stream = int.from_bytes(data[at + 5 : at + 9], "big") & 0x7FFFFFFF
        found.append((data[at + 3], data[at + 4], stream, data[at + 9 : at + 9 + length]))
        at += 9 + length
    return found, at


def due(body: bytes) -> Due:
    """Read ``body`` (our frames after the preface and SETTINGS) frame by frame as the server
    reads it, and say what the first frame that decides anything asks (see the module)."""
    frames, end = parse_frames(body)
    complete = end == len(body) and frames[-1:] == [(0x6, 0, 0, PROBE)]
    state = _State()
    for number, frame in enumerate(frames):
        if number == 0:
            continue  # our request: HEADERS on stream 1, END_STREAM (stream 1 half-closed)
        kind, stream, payload = frame[0], frame[2], frame[3]
        shown = f"type {kind:#x}, flags {frame[1]:#x}, stream {stream}, {len(payload)} octets"
        if complete and number == len(frames) - 1:
            return Due("ack", PING_ANSWERED, frame="the probe PING", complete=True)
        verdict = state.read(frame)
        if verdict is None:
            continue
        if verdict == "undecided":
            return Due(frame=shown)
        case, errors = verdict
        # A frame that opens a header block (no END_HEADERS) may wait for the block's end.
        block_open = kind in (0x1, 0x5) and not frame[1] & 0x4
        return Due("error", case, errors, frame=shown, complete=complete and not block_open)
    return Due()


class _State:
    """The little a server's handling of our frames depends on: stream 1 (ours, half-closed
    by END_STREAM), whether we reset it, and the windows our WINDOW_UPDATEs and SETTINGS
    could push past 2^31-1."""

    def __init__(self) -> None:
        self.reset = False
        self.connection_increments = 0
        self.stream_increments = 0
        self.initial_window = 65535

    def read(self, frame: Frame) -> tuple[str, tuple[int, ...]] | str | None:
        """A connection error due (its bundled case and codes), ``"undecided"``, or None (the
        frame is handled alike in every state: go on)."""
        kind, flags, stream, payload = frame
        reader = getattr(self, f"_type_{kind:#x}", None)
        if reader is None:
            return None  # §5.5: a frame of an unknown type MUST be ignored
        return reader(flags, stream, payload)  # type: ignore[no-any-return]

    def _idle(self, stream: int) -> bool:
        """An odd stream we never opened (we open none but 1: any HEADERS stops the reading)."""
        return stream % 2 == 1 and stream != 1

    def _type_0x0(self, flags: int, stream: int, payload: bytes) -> object:  # DATA
        if stream == 0:
            return "h2/9113/6.1/data-on-stream-0", (PROTOCOL_ERROR,)
        if self._idle(stream) or stream % 2 == 0:
            return "h2/9113/5.1/idle-data", (PROTOCOL_ERROR,)
        return "undecided"  # stream 1: a stream error or, once answered, a connection error

    def _type_0x1(self, flags: int, stream: int, payload: bytes) -> object:  # HEADERS
        if stream == 0:
            return "h2/9113/6.2/headers-on-stream-0", (PROTOCOL_ERROR,)
        if stream % 2 == 0:
            return "h2/9113/5.1.1/even-stream-id", (PROTOCOL_ERROR,)
        return "undecided"  # a new stream, or trailers on a closed one: depends on the block

    def _type_0x2(self, flags: int, stream: int, payload: bytes) -> object:  # PRIORITY
        if stream == 0:
            return "h2/9113/6.3/priority-on-stream-0", (PROTOCOL_ERROR,)
        if len(payload) != 5 or int.from_bytes(payload[:4], "big") & MAX_WINDOW == stream:
            return "undecided"  # a stream error (§6.3, §5.3.1)
        return None

    def _type_0x3(self, flags: int, stream: int, payload: bytes) -> object:  # RST_STREAM
        if stream == 0:
            return "h2/9113/6.4/rst-stream-on-stream-0", (PROTOCOL_ERROR, FRAME_SIZE_ERROR)
        if len(payload) != 4:
            return "h2/9113/6.4/rst-stream-wrong-length", (FRAME_SIZE_ERROR, PROTOCOL_ERROR)
        if self._idle(stream):
            return "h2/9113/5.1/idle-rst-stream", (PROTOCOL_ERROR,)
        if stream == 1 and not self.reset:
            self.reset = True
            return None
        return "undecided"  # a stream the server may have reserved (even), or reset twice

    def _type_0x4(self, flags: int, stream: int, payload: bytes) -> object:  # SETTINGS
        if stream != 0:
            return "h2/9113/6.5/settings-on-stream", (PROTOCOL_ERROR,)
        if flags & 0x1:
            return ("h2/9113/6.5/ack-with-payload", (FRAME_SIZE_ERROR,)) if payload else None
        if len(payload) % 6:
            return "h2/9113/6.5/length-not-multiple-of-6", (FRAME_SIZE_ERROR,)
        for at in range(0, len(payload), 6):
            key, value = (
                int.from_bytes(payload[at : at + 2], "big"),
                int.from_bytes(payload[at + 2 : at + 6], "big"),
            )
            if key == 0x2 and value > 1:
                return "h2/9113/6.5.2/enable-push-2", (PROTOCOL_ERROR,)
            if key == 0x4 and value > MAX_WINDOW:
                return "h2/9113/6.5.2/initial-window-size-over-max", (FLOW_CONTROL_ERROR,)
            if key == 0x5 and not (1 << 14) <= value <= (1 << 24) - 1:
                return "h2/9113/6.5.2/max-frame-size-too-small", (PROTOCOL_ERROR,)
            if key == 0x4:
                if value + self.stream_increments > MAX_WINDOW:
                    return "undecided"  # §6.9.2: overflows stream 1's window if still open
                self.initial_window = value
        return None

    def _type_0x5(self, flags: int, stream: int, payload: bytes) -> object:  # PUSH_PROMISE
        return "h2/9113/8.4/push-promise-from-client", (PROTOCOL_ERROR,)

    def _type_0x6(self, flags: int, stream: int, payload: bytes) -> object:  # PING
        if stream != 0:
            return "h2/9113/6.7/ping-on-stream", (PROTOCOL_ERROR, FRAME_SIZE_ERROR)
        if len(payload) != 8:
            return "h2/9113/6.7/ping-wrong-length", (FRAME_SIZE_ERROR,)
        return "undecided" if payload == PROBE else None  # its own acknowledgement is due too

    def _type_0x7(self, flags: int, stream: int, payload: bytes) -> object:  # GOAWAY
        if stream != 0:
            return "h2/9113/6.8/goaway-on-stream", (PROTOCOL_ERROR,)
        return "undecided"  # the server may close, gracefully, at once

    def _type_0x8(self, flags: int, stream: int, payload: bytes) -> object:  # WINDOW_UPDATE
        if len(payload) != 4:
            return "h2/9113/6.9/wrong-length", (FRAME_SIZE_ERROR,)
        increment = int.from_bytes(payload, "big") & MAX_WINDOW  # the reserved bit is ignored
        if stream == 0:
            if increment == 0:
                return "h2/9113/6.9/zero-increment-on-connection", (PROTOCOL_ERROR,)
            self.connection_increments += increment
            # Past 2^31-1 only if the server sent little enough DATA meanwhile: timing.
            return "undecided" if 65535 + self.connection_increments > MAX_WINDOW else None
        if self._idle(stream):
            return "h2/9113/5.1/idle-window-update", (PROTOCOL_ERROR,)
        if stream == 1 and increment and not self.reset:
            self.stream_increments += increment
            return "undecided" if self.initial_window + self.stream_increments > MAX_WINDOW else None
        return "undecided"  # a stream error, or a stream the server may have reserved

    def _type_0x9(self, flags: int, stream: int, payload: bytes) -> object:  # CONTINUATION
        if stream == 0:
            return "h2/9113/6.10/continuation-on-stream-0", (PROTOCOL_ERROR,)
        return "h2/9113/6.10/after-end-headers", (PROTOCOL_ERROR,)  # no header block is open


# -- the exchange and what the oracles read from it


@dataclass(frozen=True, kw_only=True)
class H2Exchange(Exchange):
    data: bytes = b""  # what the server sent (up to the cap)

    def describe(self) -> str:
        if not self.connected:
            return f"no connection ({self.error})"
        frames, _ = parse_frames(self.data)
        parts = [_describe_frame(frame) for frame in frames[:12]]
        if len(frames) > 12:
            parts.append(f"{len(frames) - 12} frames more")
        if self.timed_out:
            parts.append("no answer and no close within the deadline" if not parts else "then nothing more")
        elif self.closed:
            parts.append("connection reset" if self.reset else "connection closed")
        return ", ".join(parts) or "nothing"


def _describe_frame(frame: Frame) -> str:
    kind, flags, stream, payload = frame
    name = FrameType(kind).name if kind in FrameType._value2member_map_ else f"type {kind:#x}"
    if _is_probe_ack(frame):
        return "PING ACK (the probe's)"
    if kind == 0x7 and len(payload) >= 8:
        code = int.from_bytes(payload[4:8], "big")
        return f"GOAWAY {error_name(code)}"
    if kind == 0x3 and len(payload) == 4:
        code = int.from_bytes(payload, "big")
        return f"RST_STREAM {stream} {error_name(code)}"
    return f"{name} {stream}" + (f" flags {flags:#x}" if flags else "")


def exchange(
    host: str,
    port: int,
    writes: list[bytes],
    *,
    deadline: float,
    counters: Counters,
    until_response: bool = False,
    idle: float = 0.02,
) -> H2Exchange:
    """Send ``writes``; read until the target closes, ``deadline`` passes, the probe PING is
    acknowledged and stream 1 ended (then ``idle`` seconds more, for frames sent with them),
    or (``until_response``) a HEADERS frame on stream 1 arrives."""
    counters.connections += 1
    try:
        sock = socket.create_connection((host, port), timeout=min(deadline, 5.0))
    except OSError as exc:
        return H2Exchange(connected=False, error=exc.strerror or str(exc))
    data = bytearray()
    closed = reset = answered = False
    start = time.monotonic()
    until = start + deadline
    with sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for number, piece in enumerate(writes):
                if number:
                    time.sleep(FUZZ_WRITE_DELAY_MS / 1000)
                sock.sendall(piece)
                counters.bytes_sent += len(piece)
        except OSError:
            pass
        sock.setblocking(False)
        while time.monotonic() < until and len(data) < (1 << 20):
            readable, _, _ = select.select([sock], [], [], max(0.0, until - time.monotonic()))
            if not readable:
                break
            try:
                chunk = sock.recv(65536)
            except OSError:
                chunk, reset = b"", True
            if not chunk:
                closed = True
                break
            data += chunk
            counters.bytes_received += len(chunk)
            frames, _ = parse_frames(bytes(data))
            if until_response and any(t == 0x1 and s == 1 for t, _, s, _ in frames):
                answered = True
                break
            if not answered and any(_is_probe_ack(frame) for frame in frames) and _ended(frames, 1):
                answered = True
                until = min(until, time.monotonic() + idle)
    return H2Exchange(
        connected=True,
        closed=closed,
        reset=reset,
        timed_out=not closed and not answered,
        received=len(data),
        data=bytes(data),
    )


def _ended(frames: list[Frame], stream: int) -> bool:
    """The server ended ``stream``: END_STREAM on it, or RST_STREAM, or a GOAWAY."""
    return any(
        (s == stream and (t in (0x0, 0x1) and f & 0x1 or t == 0x3)) or t == 0x7 for t, f, s, _ in frames
    )


def _is_probe_ack(frame: Frame) -> bool:
    return frame[0] == 0x6 and bool(frame[1] & 0x1) and frame[3] == PROBE


def signatures(
    name: str, result: H2Exchange, wanted: Due, sent: bytes, *, drawn: tuple[H2Frame, ...]
) -> list[Signature]:
    """The rule, hang and invalid signatures of one target's exchange (a crash is the
    liveness probe's business)."""
    if not result.connected:
        return []
    frames, _ = parse_frames(result.data)
    acked = next((i for i, frame in enumerate(frames) if _is_probe_ack(frame)), None)
    goaway = next((i for i, frame in enumerate(frames) if frame[0] == 0x7), None)
    found: list[Signature] = []
    if wanted.kind == "error" and acked is not None and (goaway is None or goaway > acked):
        found.append(("rule", name, wanted.case))
    elif wanted.complete and acked is None and goaway is None and not result.closed:
        found.append(("hang", name, wanted.case))
    codes = output_codes(sent, result, drawn)
    if codes:
        found.append(("invalid", name, codes))
    return found


#: Violations our own frames may have timed: a window or a setting changed while the server's
#: frames were in flight (a SETTINGS of ours, drawn or a seed's), so not counted when the
#: input has one.
TIMED_BY_SETTINGS = frozenset(
    {
        "h2-data-beyond-window",
        "h2-push-disabled",
        "h2-frame-too-large",
        "h2-hpack-error",
        "hpack-missing-size-update",
    }
)


def output_codes(sent: bytes, result: H2Exchange, drawn: tuple[H2Frame, ...]) -> tuple[str, ...]:
    """The violation codes of the server's frames and field blocks, read by the harness's own
    HTTP/2 reader as it reads them in a case."""
    from conformance.driver.h2 import H2Session

    session = H2Session()
    session.ack_settings = False
    session.sent(sent)
    events = session.receive(result.data)
    if result.closed:
        events += session.receive_eof()
    codes = {violation.code for event in events for violation in (getattr(event, "violations", ()) or ())}
    if any(frame.type == 0x4 and not frame.flags & 0x1 for frame in drawn):
        codes -= TIMED_BY_SETTINGS
    return tuple(sorted(codes))


def alive(host: str, port: int, *, deadline: float, counters: Counters) -> H2Exchange:
    """The liveness probe: a GET on a new connection gets a HEADERS frame on stream 1."""
    return exchange(host, port, H2Input().render(), deadline=deadline, counters=counters, until_response=True)


def is_alive(result: Exchange) -> bool:
    return result.connected and not result.timed_out and not result.closed
