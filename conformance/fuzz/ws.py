"""WebSocket inputs and the oracles for them (``--suite ws``).

An input is an opening handshake (the codec's :class:`HandshakeRequest`, valid) and then
frames: a sequence the ws suite itself sends (a *seed*, read from the ``send`` steps of
``cases/ws``: opcodes, FIN and payloads, valid and masked), a list of *edits* to it and a
list of *extra* frames after it, each drawn as one record of data: an opcode (the six of
RFC 6455 and two reserved ones), FIN, the reserved bits, the mask bit and key, the length's
form (7, 16 or 64 bits), a declared length that may lie, and a payload the suite sends
(its texts, hex payloads and close codes) or drawn bytes. The offsets where the bytes are
cut into TCP writes are drawn too. The empty seed comes first and a record of zero bytes
changes nothing (an edit) or is a valid masked text frame (an extra frame), so shrinking
goes to the shortest seed and the fewest deviations.

What the input asks of a server is read from the bytes with the codecs (:func:`demand`):
the first frame that calls for an answer decides it — a frame a server MUST (or SHOULD)
fail the connection on, a ping (a pong), a close (a close), a whole message (its echo) —
provided nothing before it called for one. The oracles:

- **crash**: a new connection no longer completes a handshake and an echo;
- **hang**: the input calls for an answer and nothing at all came, no close either;
- **rule**: the input has a frame RFC 6455 says the server fails the connection on, and it
  answered without failing it (no close frame, no TCP close) within the deadline;
- **invalid**: what the server sent breaks RFC 6455 (decoded by the codecs: masked frames,
  reserved bits or opcodes, control frames too long or fragmented, bad close payloads,
  invalid UTF-8 in its text, frames after its close frame);
- **differential** (two targets or more): the targets echoed different messages for the
  same bytes. No RFC sentence decides it: INFO.

Closing is never a finding (an endpoint may close at any time, and may limit what it takes,
RFC 6455 §7.1.7, §10.4): hang and rule judge only a connection left open for the whole
deadline. An input that asks nothing of the server is read for a moment only.
"""

from __future__ import annotations

import hashlib
import re
import select
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from hypothesis import strategies as st

from conformance.codecs.ws.close import encode_close_payload
from conformance.codecs.ws.frames import (
    Frame,
    FrameDecoder,
    Garbled,
    LengthEncoding,
    Opcode,
    encode_frame,
    minimal_encoding,
)
from conformance.codecs.ws.handshake import SAMPLE_KEY, HandshakeRequest, accept_value
from conformance.codecs.ws.messages import Message, MessageAssembler
from conformance.fuzz.oracles import Signature
from conformance.fuzz.wire import Counters, _send_all, send_writes

#: index 0 is a text frame: what a record of zero bytes shrinks to
OPCODES = (
    Opcode.TEXT,
    Opcode.BINARY,
    Opcode.CONTINUATION,
    Opcode.PING,
    Opcode.PONG,
    Opcode.CLOSE,
    0x3,
    0xB,
)
LENGTH_DELTAS = (0,) * 11 + (1, -1, 2, -2, 100)
ALIVE_TEXT = b"conformance-fuzz-alive"
RECORD = 8


@dataclass(frozen=True)
class WsFrame:
    """One frame, every field as drawn: nothing checks it."""

    opcode: int
    payload: bytes
    fin: bool = True
    rsv: int = 0  # RSV1 = 4, RSV2 = 2, RSV3 = 1
    mask_key: bytes | None = b"\0\0\0\0"  # None: unmasked
    encoding: LengthEncoding | None = None  # None: the minimal form
    length_delta: int = 0

    @property
    def declared(self) -> int:
        return max(0, len(self.payload) + self.length_delta)

    @property
    def length_form(self) -> LengthEncoding | None:
        """The form written: the one drawn if the declared length fits it, else the minimal one."""
        if self.encoding is None or minimal_encoding(self.declared) > self.encoding:
            return None
        return self.encoding

    def encode(self) -> bytes:
        return encode_frame(
            self.opcode,
            self.payload,
            fin=self.fin,
            rsv1=bool(self.rsv & 4),
            rsv2=bool(self.rsv & 2),
            rsv3=bool(self.rsv & 1),
            mask_key=self.mask_key,
            encoding=self.length_form,
            declared_length=self.declared,
        )

    def deviations(self) -> list[str]:
        """The mutation kinds this frame carries (for the progress line and the comments)."""
        found = []
        if not self.fin:
            found.append("fin-clear")
        if self.rsv:
            found.append("rsv")
        if self.mask_key is None:
            found.append("unmasked")
        if self.length_form is not None and self.length_form != minimal_encoding(self.declared):
            found.append("length-form")
        if self.length_delta:
            found.append("length-lie")
        return found

    def describe(self) -> str:
        return " ".join([Opcode.name_of(self.opcode), f"{len(self.payload)} bytes", *self.deviations()])


@dataclass(frozen=True)
class Edit:
    """A deviation applied to one frame of the seed sequence (``index`` modulo its length):
    each field None (or 0, False) leaves the frame as it is."""

    index: int
    opcode: int | None = None
    flip_fin: bool = False
    rsv: int = 0
    unmasked: bool = False
    mask_key: bytes | None = None
    encoding: LengthEncoding | None = None
    length_delta: int = 0
    payload: bytes | None = None

    def apply(self, frame: WsFrame) -> WsFrame:
        return replace(
            frame,
            opcode=frame.opcode if self.opcode is None else self.opcode,
            fin=frame.fin != self.flip_fin,
            rsv=frame.rsv | self.rsv,
            mask_key=None if self.unmasked else (self.mask_key or frame.mask_key),
            encoding=self.encoding or frame.encoding,
            length_delta=frame.length_delta + self.length_delta,
            payload=frame.payload if self.payload is None else self.payload,
        )


@dataclass(frozen=True, kw_only=True)
class WsInput:
    """A frame sequence the ws suite sends (``seed``), the edits applied to it in order, more
    frames after it, and the offsets where the bytes are cut into TCP writes."""

    seed: tuple[WsFrame, ...] = ()
    edits: tuple[Edit, ...] = ()
    extra: tuple[WsFrame, ...] = ()
    splits: tuple[int, ...] = ()

    @property
    def frames(self) -> tuple[WsFrame, ...]:
        frames = list(self.seed)
        for edit in self.edits:
            if frames:
                at = edit.index % len(frames)
                frames[at] = edit.apply(frames[at])
        return (*frames, *self.extra)

    @property
    def mutations(self) -> tuple[Edit | WsFrame, ...]:
        return (*self.edits, *self.extra)

    def body(self) -> bytes:
        return b"".join(frame.encode() for frame in self.frames)

    def cuts(self) -> list[int]:
        data = self.body()
        return sorted({1 + offset % (len(data) - 1) for offset in self.splits}) if len(data) > 1 else []

    def writes(self) -> list[bytes]:
        """The frames' bytes in TCP writes (never an empty one)."""
        data = self.body()
        pieces, start = [], 0
        for cut in self.cuts():
            pieces.append(data[start:cut])
            start = cut
        pieces.append(data[start:])
        return [piece for piece in pieces if piece]

    def kinds(self) -> set[str]:
        kinds = {Opcode.name_of(frame.opcode) for frame in self.frames}
        kinds |= {kind for frame in self.frames for kind in frame.deviations()}
        if len(self.writes()) > 1:
            kinds.add("split")
        return kinds

    def describe(self) -> str:
        return ", ".join(frame.describe() for frame in self.frames) or "no frames"


KIND_NAMES = (
    *(Opcode.name_of(op) for op in OPCODES),
    "fin-clear",
    "rsv",
    "unmasked",
    "length-form",
    "length-lie",
    "split",
)


# -- the suite's own frames


@dataclass(frozen=True)
class Payloads:
    data: tuple[bytes, ...]  # text and binary payloads, shortest first
    close: tuple[bytes, ...]  # close frame payloads
    seeds: tuple[tuple[WsFrame, ...], ...] = ((),)  # frame sequences, the empty one first


CLOSE_REASONS = (b"", b"bye", b"\xce\xba\xed\xa0\x80")  # the last: a UTF-16 surrogate, invalid UTF-8
_OPCODE_NAMES = {op.name.lower(): int(op) for op in Opcode}


@cache
def suite_payloads(cases_dir: Path | None = None) -> Payloads:
    """What the ws suite sends: its payloads (strings and hex, up to 64 bytes), its close codes,
    and the frame sequences of its ``send`` steps (``ws_frame`` payloads with literal opcodes,
    FIN and payloads; masks, reserved bits and length forms left out: the edits put those back)."""
    if cases_dir is None:
        from conformance.scenario import bundled_cases_dir

        cases_dir = bundled_cases_dir() / "ws"
    data: set[bytes] = {b"Hello, world!"}
    codes: set[int] = {1000}
    seeds: set[tuple[WsFrame, ...]] = {()}
    for path in sorted(cases_dir.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in re.finditer(r'payload: "([^"{}\\]{0,64})"', text):
            data.add(match.group(1).encode("utf-8"))
        for match in re.finditer(r'hex: "([0-9a-fA-F ]{2,192})"', text):
            data.add(bytes.fromhex(match.group(1)))
        for match in re.finditer(r"code: (\d{1,5})\b", text):
            codes.add(int(match.group(1)))
        seeds |= _sequences(text)
    close = tuple(
        encode_close_payload(code, reason)
        for code in sorted(c for c in codes if c < 65536)
        for reason in CLOSE_REASONS
    )
    return Payloads(
        data=tuple(sorted(data, key=lambda b: (len(b), b))),
        close=(b"", *close),
        seeds=tuple(sorted(seeds, key=lambda seq: (len(seq), sum(len(f.payload) for f in seq), repr(seq)))),
    )


def _sequences(text: str) -> set[tuple[WsFrame, ...]]:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def hex_bytes(loader: yaml.SafeLoader, node: yaml.Node) -> bytes:
        assert isinstance(node, yaml.ScalarNode)
        return bytes.fromhex(str(loader.construct_scalar(node)).replace(" ", ""))

    Loader.add_constructor("!hex", hex_bytes)
    try:
        document = yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader with !hex
    except yaml.YAMLError:
        return set()
    found: set[tuple[WsFrame, ...]] = set()
    for case in document.get("cases", []) if isinstance(document, dict) else []:
        for step in case.get("steps", []) if isinstance(case, dict) else []:
            send = step.get("send") if isinstance(step, dict) else None
            if isinstance(send, dict) and "concat" in send:
                send = send["concat"]
            items = send if isinstance(send, list) else [send]
            frames = [_seed_frame(item.get("ws_frame")) if isinstance(item, dict) else None for item in items]
            if frames and all(frame is not None for frame in frames):
                found.add(tuple(frames))  # type: ignore[arg-type]
    return found


def _seed_frame(spec: object) -> WsFrame | None:
    """A suite ``ws_frame`` as a valid masked frame of its opcode, FIN and payload."""
    if not isinstance(spec, dict):
        return None
    opcode = spec.get("opcode")
    opcode = _OPCODE_NAMES.get(opcode) if isinstance(opcode, str) else opcode
    payload = spec.get("payload", b"")
    if isinstance(payload, dict) and isinstance(payload.get("hex"), str) and "{" not in payload["hex"]:
        payload = bytes.fromhex(payload["hex"].replace(" ", ""))
    if isinstance(payload, str) and "{" not in payload:
        payload = payload.encode("utf-8")
    if opcode == Opcode.CLOSE and isinstance(spec.get("code"), int):
        reason = spec.get("reason", "")
        payload = encode_close_payload(spec["code"], reason.encode() if isinstance(reason, str) else b"")
    fin = spec.get("fin", True)
    if not isinstance(opcode, int) or not isinstance(payload, bytes) or not isinstance(fin, bool):
        return None
    if len(payload) > 125:
        return None
    return WsFrame(opcode=opcode, payload=payload, fin=fin)


def _payload(payloads: Payloads, opcode: int, choice: int, drawn: bytes) -> bytes:
    if choice >= 250:
        return b"\xfe" * 126  # one byte too many for a control frame
    if choice >= 192:
        return drawn
    if opcode == Opcode.CLOSE:
        return payloads.close[choice % len(payloads.close)]
    return payloads.data[choice % len(payloads.data)]


def _flags(flags: int, key: bytes) -> dict[str, object]:
    """The deviations a flags byte stands for: none at 0, each one rare."""
    return {
        "rsv": (flags >> 5) if flags % 8 == 7 else 0,
        "unmasked": flags % 16 == 3,
        "mask_key": key if flags % 16 == 4 else None,
        "encoding": {5: 16, 6: 64}.get(flags % 16),
    }


def decode_frame(payloads: Payloads, record: bytes, drawn: bytes) -> WsFrame:
    """The frame a record of :data:`RECORD` bytes (and drawn payload bytes) stands for."""
    opcode = OPCODES[record[0] % len(OPCODES)]
    flags = _flags(record[2], record[3:7])
    return WsFrame(
        opcode=opcode,
        payload=_payload(payloads, opcode, record[7], drawn),
        fin=record[1] % 3 != 1,
        rsv=flags["rsv"],  # type: ignore[arg-type]
        mask_key=None if flags["unmasked"] else (flags["mask_key"] or b"\0\0\0\0"),  # type: ignore[arg-type]
        encoding=flags["encoding"],  # type: ignore[arg-type]
        length_delta=LENGTH_DELTAS[(record[1] // 3) % len(LENGTH_DELTAS)],
    )


def decode_edit(payloads: Payloads, record: bytes, drawn: bytes) -> Edit:
    """The edit a record of :data:`RECORD` + 4 bytes stands for."""
    choice = record[1] % (len(OPCODES) + 4)
    opcode = OPCODES[choice - 4] if choice >= 4 else None
    flags = _flags(record[3], record[4:8])
    return Edit(
        index=record[0],
        opcode=opcode,
        flip_fin=record[2] % 3 == 1,
        length_delta=LENGTH_DELTAS[(record[2] // 3) % len(LENGTH_DELTAS)],
        payload=_payload(payloads, opcode or 0, record[8], drawn) if record[8] >= 128 else None,
        **flags,  # type: ignore[arg-type]
    )


def ws_inputs(payloads: Payloads | None = None, *, max_frames: int = 4) -> st.SearchStrategy[WsInput]:
    payloads = payloads or suite_payloads()
    frame = st.tuples(st.binary(min_size=RECORD, max_size=RECORD), st.binary(max_size=16)).map(
        lambda drawn: decode_frame(payloads, *drawn)
    )
    edit = st.tuples(st.binary(min_size=RECORD + 4, max_size=RECORD + 4), st.binary(max_size=16)).map(
        lambda drawn: decode_edit(payloads, *drawn)
    )
    return st.builds(
        WsInput,
        seed=st.sampled_from(payloads.seeds),
        edits=st.lists(edit, max_size=3).map(tuple),
        extra=st.lists(frame, max_size=max_frames).map(tuple),
        splits=st.lists(st.integers(0, 10_000), max_size=2).map(tuple),
    )


def simpler(item: WsInput) -> Iterator[WsInput]:
    """Smaller inputs to try once Hypothesis has shrunk one, written flat (its frames as extra
    frames, no seed, no edits): Hypothesis cannot step from a seed to a shorter one that keeps
    only the frames that matter. Each frame left out; then, frame by frame, each deviation
    taken out and the payload emptied or halved; then the writes joined."""
    frames = item.frames
    for index in range(len(frames)):
        yield WsInput(extra=frames[:index] + frames[index + 1 :], splits=item.splits)
    for index, frame in enumerate(frames):
        for plainer in _plainer(frame):
            yield WsInput(extra=(*frames[:index], plainer, *frames[index + 1 :]), splits=item.splits)
    if item.splits:
        yield WsInput(extra=frames)


def _plainer(frame: WsFrame) -> Iterator[WsFrame]:
    if not frame.fin:
        yield replace(frame, fin=True)
    if frame.rsv:
        yield replace(frame, rsv=0)
    if frame.mask_key is None or frame.mask_key != b"\0\0\0\0":
        yield replace(frame, mask_key=b"\0\0\0\0")
    if frame.encoding is not None:
        yield replace(frame, encoding=None)
    if frame.length_delta:
        yield replace(frame, length_delta=0)
    if frame.payload:
        yield replace(frame, payload=b"")
    if len(frame.payload) > 1:
        yield replace(frame, payload=frame.payload[: len(frame.payload) // 2])


# -- what the input asks of a server


@dataclass(frozen=True)
class FailRule:
    """A frame the server fails the connection on: the sentence that says so, its level, and
    the close codes that fit."""

    rfc: int
    section: str
    quote: str
    subject: str
    requirement: str
    codes: tuple[int, ...]


_INVALID_DATA = FailRule(
    6455,
    "10.7",
    "If the invalid data was received after a successful WebSocket handshake, the endpoint SHOULD send a "
    "Close frame with an appropriate status code (Section 7.4) before proceeding to _Close the WebSocket "
    "Connection_.",
    "the endpoint",
    "SHOULD",
    (1002,),
)
_NOT_UTF8 = FailRule(
    6455,
    "8.1",
    "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream is not, in "
    "fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_.",
    "that endpoint",
    "MUST",
    (1007,),
)
#: violation code -> the rule the ws suite's cases judge it by (cases/ws/6455/*.yaml)
FAIL_RULES: dict[str, FailRule] = {
    "ws-client-unmasked": FailRule(
        6455,
        "5.1",
        "The server MUST close the connection upon receiving a frame that is not masked.",
        "The server",
        "MUST",
        (1002,),
    ),
    "ws-rsv-set": FailRule(
        6455,
        "5.2",
        "If a nonzero value is received and none of the negotiated extensions defines the meaning of such a "
        "nonzero value, the receiving endpoint MUST _Fail the WebSocket Connection_.",
        "the receiving endpoint",
        "MUST",
        (1002,),
    ),
    "ws-reserved-opcode": FailRule(
        6455,
        "5.2",
        "If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket Connection_.",
        "the receiving endpoint",
        "MUST",
        (1002,),
    ),
    "ws-invalid-utf8": _NOT_UTF8,
    "ws-close-reason-utf8": _NOT_UTF8,
    "ws-control-too-long": _INVALID_DATA,
    "ws-control-fragmented": _INVALID_DATA,
    "ws-orphan-continuation": _INVALID_DATA,
    "ws-interleaved-message": _INVALID_DATA,
    "ws-close-1-byte": _INVALID_DATA,
    "ws-close-code-invalid": _INVALID_DATA,
}
_LEVELS = {"MUST": 0, "SHOULD": 1}


def _binding(code: str) -> int:
    return _LEVELS[FAIL_RULES[code].requirement]


@dataclass(frozen=True)
class Demand:
    """What the input asks of a server: ``fail`` (the codes of the frame it must fail the
    connection on, most binding rule first), ``pong`` (a ping's payload), ``close``,
    ``echo`` (a whole message), or nothing a conforming server must answer (``""``)."""

    kind: str = ""
    codes: tuple[str, ...] = ()
    payload: bytes = b""
    opcode: int = 0
    frames_before: int = 0  # frames of the input before the deciding one
    #: For ``fail``: what the frames before it asked (pongs, echoes), in order; a server may
    #: answer them before it fails the connection, or fail it at once.
    before: tuple[Demand, ...] = ()

    @property
    def rule(self) -> FailRule | None:
        return FAIL_RULES[self.codes[0]] if self.kind == "fail" else None

    @property
    def key(self) -> str:
        return self.codes[0] if self.kind == "fail" else self.kind


def demand(data: bytes) -> Demand:
    """What ``data`` (a client's frames) asks of a server, as the codecs read it: the first
    frame that calls for an answer, unless a later frame fails the connection with only
    answers (pongs, echoes) due before it: then that failure, with those answers as
    ``before``. A violation no rule decides (a non-minimal length: RFC 6455 §5.2 binds the
    sender) leaves the server free to fail or go on: nothing from it on is decided."""
    decoder = FrameDecoder(from_server=False, max_payload=1 << 20)
    assembler = MessageAssembler(max_message=1 << 20)
    answers: list[Demand] = []
    first = Demand()
    for index, event in enumerate(decoder.feed(data)):
        if isinstance(event, Garbled):
            return first
        found, message = assembler.frame(event)
        codes = [v.code for v in (*event.violations, *found)]
        if message is not None:
            codes += [v.code for v in message.violations if v.code == "ws-invalid-utf8"]
        if event.opcode == Opcode.CLOSE and event.close_code is not None and event.close_code >= 5000:
            codes = [c for c in codes if c != "ws-close-code-invalid"]  # no rule above 4999 (§7.4.2)
            if not codes:
                return first
        decided = sorted(dict.fromkeys(c for c in codes if c in FAIL_RULES), key=_binding)
        if decided:
            return Demand("fail", tuple(decided), frames_before=index, before=tuple(answers))
        if codes:
            return first
        if event.opcode == Opcode.CLOSE:
            return first if answers else Demand("close", frames_before=index)
        if event.opcode == Opcode.PING:
            answers.append(Demand("pong", payload=event.payload, frames_before=index))
        elif message is not None:
            echo = Demand("echo", payload=message.payload, opcode=message.opcode, frames_before=index)
            answers.append(echo)
        else:
            continue
        first = answers[0]
    return first


def answers(data: bytes) -> int:
    """How many frames a conforming echo endpoint sends in answer to ``data``: an echo per
    whole message and a pong per ping, up to the first frame with a violation or the first
    close (then one: its close), whichever comes first."""
    decoder = FrameDecoder(from_server=False, max_payload=1 << 20)
    assembler = MessageAssembler(max_message=1 << 20)
    count = 0
    for event in decoder.feed(data):
        if isinstance(event, Garbled):
            break
        found, message = assembler.frame(event)
        if event.violations or found or (message is not None and message.violations):
            break
        if event.opcode == Opcode.CLOSE:
            return count + 1
        if event.opcode == Opcode.PING or message is not None:
            count += 1
    return count


# -- one input on one connection


@dataclass(frozen=True, kw_only=True)
class WsExchange:
    """What one target did with one input."""

    connected: bool
    upgraded: bool = False
    handshake: str = ""  # the status line, when it was not a 101 with the right accept
    frames: tuple[Frame, ...] = ()
    garbled: Garbled | None = None
    closed: bool = False  # the TCP connection closed (FIN or RST)
    reset: bool = False
    received: int = 0  # bytes after the handshake
    waited: float = 0.0
    error: str = ""

    @property
    def timed_out(self) -> bool:
        return self.connected and self.upgraded and not self.closed and not self.close_frame

    @property
    def close_frame(self) -> bool:
        return any(frame.opcode == Opcode.CLOSE for frame in self.frames)

    def describe(self) -> str:
        if not self.connected:
            return f"no connection ({self.error})"
        if not self.upgraded:
            return f"no WebSocket: {self.handshake or 'no answer to the handshake'}"
        parts = [frame.describe() for frame in self.frames[:8]]
        if len(self.frames) > 8:
            parts.append(f"{len(self.frames) - 8} more frames")
        if self.garbled is not None:
            parts.append(self.garbled.describe())
        if self.closed:
            parts.append("connection reset" if self.reset else "connection closed")
        else:
            parts.append(f"the connection still open after {self.waited:.1f} s")
        return "; ".join(parts)


def handshake_request(authority: str, path: str) -> HandshakeRequest:
    # A fixed key: the same seed sends the same bytes.
    return HandshakeRequest(host=authority, target=path, key=SAMPLE_KEY)


def exchange(
    host: str,
    port: int,
    request: HandshakeRequest,
    writes: list[bytes],
    *,
    wait: float,
    counters: Counters,
    frames_due: int | None = None,
    idle: float = 0.05,
) -> WsExchange:
    """Open the WebSocket, send ``writes`` (a pause between two), read frames until the
    target closes, ``wait`` seconds pass, or (``frames_due``) that many frames came and then
    ``idle`` seconds with nothing new."""
    counters.connections += 1
    try:
        sock = socket.create_connection((host, port), timeout=min(wait + 1.0, 5.0))
    except OSError as exc:
        return WsExchange(connected=False, error=exc.strerror or str(exc))
    start = time.monotonic()
    with sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        head = request.render()
        _send_all(sock, head, start + 5.0)
        counters.bytes_sent += len(head)
        buffer = bytearray()
        closed = reset = False
        # The handshake's answer: up to its empty line.
        while b"\r\n\r\n" not in buffer and len(buffer) < 16384:
            chunk, closed, reset = _recv(sock, start + max(wait, 2.0))
            if chunk is None or not chunk:
                break
            buffer += chunk
            counters.bytes_received += len(chunk)
        end = buffer.find(b"\r\n\r\n")
        status = bytes(buffer[: buffer.find(b"\r\n")]).decode("latin-1", "replace") if buffer else ""
        accept = f"sec-websocket-accept: {accept_value(SAMPLE_KEY)}".lower().encode()
        if end < 0 or not status.startswith("HTTP/1.1 101") or accept not in bytes(buffer[:end]).lower():
            return WsExchange(connected=True, handshake=status[:200] or "no answer", closed=closed)
        rest = bytes(buffer[end + 4 :])
        decoder = FrameDecoder(from_server=True, max_payload=1 << 20)
        events = decoder.feed(rest)
        received = len(rest)
        begin = time.monotonic()
        send_writes(sock, writes, begin + wait, counters)
        last_news = time.monotonic()
        while not closed and not decoder.dead and received < (1 << 20):
            now = time.monotonic()
            if now - begin >= wait:
                break
            due = frames_due is not None and sum(isinstance(e, Frame) for e in events) >= frames_due
            if due and now - last_news >= idle:
                break
            until = min(begin + wait, last_news + idle) if due else begin + wait
            chunk, closed, reset = _recv(sock, until)
            if chunk is None:
                continue
            if not chunk:
                break
            received += len(chunk)
            counters.bytes_received += len(chunk)
            events += decoder.feed(chunk)
            last_news = time.monotonic()
    return WsExchange(
        connected=True,
        upgraded=True,
        frames=tuple(e for e in events if isinstance(e, Frame)),
        garbled=next((e for e in events if isinstance(e, Garbled)), None),
        closed=closed,
        reset=reset,
        received=received,
        waited=time.monotonic() - begin,
    )


def _recv(sock: socket.socket, until: float) -> tuple[bytes | None, bool, bool]:
    """(bytes, closed, reset): None when nothing came by ``until``; b"" at the close."""
    readable, _, _ = select.select([sock], [], [], max(0.0, until - time.monotonic()))
    if not readable:
        return None, False, False
    try:
        chunk = sock.recv(65536)
    except OSError:
        return b"", True, True
    return chunk, not chunk, False


def alive(
    host: str, port: int, authority: str, path: str, *, deadline: float, counters: Counters
) -> WsExchange:
    """The liveness probe: a new connection completes a handshake, and a text message is echoed."""
    probe = encode_frame(Opcode.TEXT, ALIVE_TEXT, mask_key=b"\x01\x02\x03\x04")
    request = handshake_request(authority, path)
    return exchange(host, port, request, [probe], wait=deadline, counters=counters, frames_due=1, idle=0.0)


def is_alive(result: WsExchange) -> bool:
    return result.upgraded and any(f.opcode == Opcode.TEXT and f.payload == ALIVE_TEXT for f in result.frames)


# -- the oracles


def output_codes(result: WsExchange) -> tuple[str, ...]:
    """The RFC 6455 violations in what the target sent (sorted, unique): the frame decoder's,
    the message layer's (no extension was negotiated), and frames after its close frame."""
    codes: set[str] = set()
    assembler = MessageAssembler(max_message=1 << 20)
    closed = False
    for frame in result.frames:
        if closed and frame.opcode in (Opcode.CONTINUATION, Opcode.TEXT, Opcode.BINARY):
            codes.add("ws-frame-after-close")  # §5.5.1: no further *data* frames
        found, message = assembler.frame(frame)
        codes |= {v.code for v in (*frame.violations, *found)}
        if message is not None:
            codes |= {v.code for v in message.violations if v.code == "ws-invalid-utf8"}
        closed = closed or frame.opcode == Opcode.CLOSE
    if result.garbled is not None and result.garbled.violation.code != "ws-frame-too-large":
        codes.add(result.garbled.violation.code)
    return tuple(sorted(codes))


def echoed(result: WsExchange) -> tuple[tuple[str, ...], ...]:
    """The data messages the target sent, in order: kind, digest, length, a printable head."""
    assembler = MessageAssembler(max_message=1 << 20)
    out = []
    for frame in result.frames:
        message: Message | None = assembler.frame(frame)[1]
        if message is not None:
            out.append(
                (
                    message.kind,
                    hashlib.sha256(message.payload).hexdigest()[:16],
                    str(message.length),
                    message.payload[:64].hex(),
                )
            )
    return tuple(out)


def signatures(name: str, result: WsExchange, wanted: Demand) -> list[Signature]:
    """The hang, rule and invalid signatures of one target's exchange (a crash is the
    liveness probe's business)."""
    if not result.upgraded:
        return []
    found: list[Signature] = []
    if wanted.kind and result.timed_out and result.received == 0:
        found.append(("hang", name, wanted.key))
    elif wanted.kind == "fail" and result.timed_out:
        found.append(("rule", name, wanted.key))
    codes = output_codes(result)
    if codes:
        found.append(("invalid", name, codes))
    return found


def differential(readings: Mapping[str, tuple[tuple[str, ...], ...]]) -> Signature | None:
    """The targets that echoed something, grouped by what they echoed, when not all alike."""
    groups: dict[tuple[tuple[str, ...], ...], list[str]] = {}
    for name, reading in readings.items():
        if reading:
            groups.setdefault(reading, []).append(name)
    if len(groups) < 2:
        return None
    # Which targets agree with which, and nothing of what they echoed: the same bug shows in
    # inputs of any length, and must be one finding (the (names, shape) pairs of the h1 form,
    # with no shape).
    parts = sorted((tuple(sorted(names)), ()) for names in groups.values())
    return ("differential", tuple(parts), False)
