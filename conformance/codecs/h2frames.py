"""HTTP/2 frames (RFC 9113 §4 and §6): an encoder that can lie and a decoder that tells the truth.

The encoder writes any field as given — length, type, flags, the reserved bit, the stream
identifier, padding, priority fields — so cases can build frames a correct client never
sends. The decoder accepts any bytes, incrementally, never raises, and attaches to each frame
the rules of RFC 9113 it saw broken (:class:`~conformance.codecs.common.Violation`), so that
the server's own output is judged too.

Sections quoted below are of https://www.rfc-editor.org/rfc/rfc9113.
"""

from __future__ import annotations

import enum
import functools
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from conformance.codecs.common import Violation, printable

#: The client connection preface (§3.4).
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
FRAME_HEADER_SIZE = 9
DEFAULT_MAX_FRAME_SIZE = 16_384  # §6.5.2 SETTINGS_MAX_FRAME_SIZE initial value
MAX_FRAME_SIZE_LIMIT = (1 << 24) - 1  # the largest length the 24-bit field holds
DEFAULT_WINDOW = 65_535  # §6.9.2 initial flow-control window
MAX_WINDOW = (1 << 31) - 1  # §6.9.1
STREAM_MASK = (1 << 31) - 1


class FrameType(enum.IntEnum):
    """Frame types (§6; PRIORITY_UPDATE from RFC 9218 §7.1)."""

    DATA = 0x0  # §6.1
    HEADERS = 0x1  # §6.2
    PRIORITY = 0x2  # §6.3 (deprecated scheme, still parsed)
    RST_STREAM = 0x3  # §6.4
    SETTINGS = 0x4  # §6.5
    PUSH_PROMISE = 0x5  # §6.6
    PING = 0x6  # §6.7
    GOAWAY = 0x7  # §6.8
    WINDOW_UPDATE = 0x8  # §6.9
    CONTINUATION = 0x9  # §6.10
    PRIORITY_UPDATE = 0x10  # RFC 9218 §7.1


class Flag(enum.IntFlag):
    """Frame flags; their meaning depends on the frame type (§6)."""

    END_STREAM = 0x1  # DATA, HEADERS
    ACK = 0x1  # SETTINGS, PING (same bit as END_STREAM)
    END_HEADERS = 0x4  # HEADERS, PUSH_PROMISE, CONTINUATION
    PADDED = 0x8  # DATA, HEADERS, PUSH_PROMISE
    PRIORITY = 0x20  # HEADERS


#: The flags each frame type defines, by name (§6); other bits are unused and ignored.
FLAGS_OF: dict[int, dict[str, int]] = {
    FrameType.DATA: {"END_STREAM": 0x1, "PADDED": 0x8},
    FrameType.HEADERS: {"END_STREAM": 0x1, "END_HEADERS": 0x4, "PADDED": 0x8, "PRIORITY": 0x20},
    FrameType.SETTINGS: {"ACK": 0x1},
    FrameType.PUSH_PROMISE: {"END_HEADERS": 0x4, "PADDED": 0x8},
    FrameType.PING: {"ACK": 0x1},
    FrameType.CONTINUATION: {"END_HEADERS": 0x4},
}
FLAG_NAMES: dict[str, int] = {
    "END_STREAM": 0x1,
    "ACK": 0x1,
    "END_HEADERS": 0x4,
    "PADDED": 0x8,
    "PRIORITY": 0x20,
}


class ErrorCode(enum.IntEnum):
    """Error codes of RST_STREAM and GOAWAY (§7)."""

    NO_ERROR = 0x0
    PROTOCOL_ERROR = 0x1
    INTERNAL_ERROR = 0x2
    FLOW_CONTROL_ERROR = 0x3
    SETTINGS_TIMEOUT = 0x4
    STREAM_CLOSED = 0x5
    FRAME_SIZE_ERROR = 0x6
    REFUSED_STREAM = 0x7
    CANCEL = 0x8
    COMPRESSION_ERROR = 0x9
    CONNECT_ERROR = 0xA
    ENHANCE_YOUR_CALM = 0xB
    INADEQUATE_SECURITY = 0xC
    HTTP_1_1_REQUIRED = 0xD


class Setting(enum.IntEnum):
    """Settings parameters (§6.5.2; ENABLE_CONNECT_PROTOCOL from RFC 8441 §3,
    NO_RFC7540_PRIORITIES from RFC 9218 §2.1)."""

    HEADER_TABLE_SIZE = 0x1
    ENABLE_PUSH = 0x2
    MAX_CONCURRENT_STREAMS = 0x3
    INITIAL_WINDOW_SIZE = 0x4
    MAX_FRAME_SIZE = 0x5
    MAX_HEADER_LIST_SIZE = 0x6
    ENABLE_CONNECT_PROTOCOL = 0x8
    NO_RFC7540_PRIORITIES = 0x9


# The names below are asked for every frame received and described (thousands per run):
# cached, within bounds (a frame type and its flags are octets; error codes are 32-bit).


@functools.cache
def type_name(value: int) -> str:
    try:
        return FrameType(value).name
    except ValueError:
        return f"UNKNOWN(0x{value:02x})"


@functools.lru_cache(maxsize=256)
def error_name(value: int) -> str:
    try:
        return ErrorCode(value).name
    except ValueError:
        return f"0x{value:x}"


def setting_name(value: int) -> str:
    try:
        return Setting(value).name
    except ValueError:
        return f"0x{value:x}"


def flag_names(frame_type: int, flags: int) -> list[str]:
    """The defined flags set in ``flags``, by name, then any other bits in hex."""
    return list(_flag_names(frame_type, flags))


@functools.lru_cache(maxsize=4096)
def _flag_names(frame_type: int, flags: int) -> tuple[str, ...]:
    known = FLAGS_OF.get(frame_type, {})
    names = [name for name, bit in known.items() if flags & bit]
    rest = flags & ~sum(set(known.values()))
    if rest:
        names.append(f"0x{rest:02x}")
    return tuple(names)


# ---------------------------------------------------------------- frames


@dataclass(frozen=True, kw_only=True)
class Priority:
    """The deprecated priority fields (§5.3.2, §6.3): weight is 1..256 as the RFC counts it."""

    exclusive: bool = False
    depends_on: int = 0
    weight: int = 16

    def describe(self) -> str:
        return f"depends on {self.depends_on}{' exclusively' if self.exclusive else ''}, weight {self.weight}"


@dataclass(frozen=True, kw_only=True)
class Frame:
    """What every frame has; ``length`` is the payload length the header declared."""

    type: int
    flags: int = 0
    stream_id: int = 0
    reserved: bool = False
    length: int = 0
    violations: tuple[Violation, ...] = ()

    @property
    def name(self) -> str:
        return type_name(self.type)

    def has(self, flag: str) -> bool:
        bit = FLAGS_OF.get(self.type, {}).get(flag)
        return bit is not None and bool(self.flags & bit)

    def _what(self) -> list[str]:
        return []

    def describe(self) -> str:
        parts = self._what() + flag_names(self.type, self.flags)
        where = f" on stream {self.stream_id}" if self.stream_id or self.type in _STREAM_FRAMES else ""
        return f"{self.name}{where}" + (f" ({', '.join(parts)})" if parts else "")

    def detail(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "h2-frame",
            "frame": self.name,
            "flags": flag_names(self.type, self.flags),
            "stream": self.stream_id,
            "length": self.length,
        }
        if self.reserved:
            out["reserved"] = True
        if self.violations:
            out["violations"] = [v.describe() for v in self.violations]
        return out


_STREAM_FRAMES = {FrameType.DATA, FrameType.HEADERS, FrameType.PRIORITY, FrameType.RST_STREAM}


@dataclass(frozen=True, kw_only=True)
class DataFrame(Frame):
    type: int = FrameType.DATA
    data: bytes = b""
    pad_length: int | None = None
    truncated: int = 0  # payload bytes not kept (over the decoder's cap)

    def _what(self) -> list[str]:
        return [f"{len(self.data) + self.truncated} bytes"]


@dataclass(frozen=True, kw_only=True)
class HeadersFrame(Frame):
    type: int = FrameType.HEADERS
    block: bytes = b""
    pad_length: int | None = None
    priority: Priority | None = None

    def _what(self) -> list[str]:
        return [f"{len(self.block)}-byte block"] + ([self.priority.describe()] if self.priority else [])


@dataclass(frozen=True, kw_only=True)
class PriorityFrame(Frame):
    type: int = FrameType.PRIORITY
    priority: Priority = field(default_factory=Priority)

    def _what(self) -> list[str]:
        return [self.priority.describe()]


@dataclass(frozen=True, kw_only=True)
class RstStreamFrame(Frame):
    type: int = FrameType.RST_STREAM
    error_code: int = 0

    def _what(self) -> list[str]:
        return [f"error: {error_name(self.error_code)}"]

    def detail(self) -> dict[str, Any]:
        return {**super().detail(), "error": error_name(self.error_code)}


@dataclass(frozen=True, kw_only=True)
class SettingsFrame(Frame):
    type: int = FrameType.SETTINGS
    settings: tuple[tuple[int, int], ...] = ()

    def _what(self) -> list[str]:
        return [f"{setting_name(k)}={v}" for k, v in self.settings]

    def value(self, setting: int) -> int | None:
        """The last value given for ``setting`` (§6.5.3: processed in order)."""
        found = None
        for key, value in self.settings:
            if key == setting:
                found = value
        return found

    def detail(self) -> dict[str, Any]:
        return {**super().detail(), "settings": {setting_name(k): v for k, v in self.settings}}


@dataclass(frozen=True, kw_only=True)
class PushPromiseFrame(Frame):
    type: int = FrameType.PUSH_PROMISE
    promised_stream_id: int = 0
    block: bytes = b""
    pad_length: int | None = None

    def _what(self) -> list[str]:
        return [f"promised stream {self.promised_stream_id}"]


@dataclass(frozen=True, kw_only=True)
class PingFrame(Frame):
    type: int = FrameType.PING
    opaque: bytes = b""

    def _what(self) -> list[str]:
        return [f"data {self.opaque.hex()}"]


@dataclass(frozen=True, kw_only=True)
class GoAwayFrame(Frame):
    type: int = FrameType.GOAWAY
    last_stream_id: int = 0
    error_code: int = 0
    debug: bytes = b""

    def describe(self) -> str:
        text = f"GOAWAY (error: {error_name(self.error_code)}, last stream {self.last_stream_id}"
        if self.debug:
            text += f', debug "{printable(self.debug, 60)}"'
        return text + ")"

    def detail(self) -> dict[str, Any]:
        return {
            **super().detail(),
            "error": error_name(self.error_code),
            "last_stream": self.last_stream_id,
            "debug": printable(self.debug, 200),
        }


@dataclass(frozen=True, kw_only=True)
class WindowUpdateFrame(Frame):
    type: int = FrameType.WINDOW_UPDATE
    increment: int = 0

    def _what(self) -> list[str]:
        return [f"increment {self.increment}"]


@dataclass(frozen=True, kw_only=True)
class ContinuationFrame(Frame):
    type: int = FrameType.CONTINUATION
    block: bytes = b""

    def _what(self) -> list[str]:
        return [f"{len(self.block)}-byte block"]


@dataclass(frozen=True, kw_only=True)
class PriorityUpdateFrame(Frame):
    type: int = FrameType.PRIORITY_UPDATE
    prioritized_stream_id: int = 0
    field_value: bytes = b""

    def _what(self) -> list[str]:
        return [f"stream {self.prioritized_stream_id}: {printable(self.field_value, 40)}"]


@dataclass(frozen=True, kw_only=True)
class UnknownFrame(Frame):
    """A frame of a type this codec does not know (§4.1: receivers ignore them)."""

    payload: bytes = b""

    def _what(self) -> list[str]:
        return [f"{self.length} bytes"]


# ---------------------------------------------------------------- encoding


def frame_header(
    *, length: int, frame_type: int, flags: int = 0, stream_id: int = 0, reserved: bool = False
) -> bytes:
    """The 9-byte frame header (§4.1), every field as given (length is cut to 24 bits)."""
    stream = (stream_id & STREAM_MASK) | (0x8000_0000 if reserved else 0)
    return (
        struct.pack(">I", length & 0xFFFFFF)[1:]
        + bytes([frame_type & 0xFF, flags & 0xFF])
        + struct.pack(">I", stream)
    )


def encode_frame(
    frame_type: int,
    payload: bytes = b"",
    *,
    flags: int = 0,
    stream_id: int = 0,
    length: int | None = None,
    reserved: bool = False,
) -> bytes:
    """A whole frame; ``length`` overrides the declared payload length."""
    declared = len(payload) if length is None else length
    return (
        frame_header(
            length=declared, frame_type=frame_type, flags=flags, stream_id=stream_id, reserved=reserved
        )
        + payload
    )


def padded(body: bytes, *, pad_length: int | None, padding: bytes | None = None) -> bytes:
    """Prefix the Pad Length octet and append padding (§6.1); ``padding`` overrides the
    zero octets (non-zero padding is allowed to be checked by receivers)."""
    if pad_length is None:
        return body
    pad = padding if padding is not None else bytes(pad_length)
    return bytes([pad_length & 0xFF]) + body + pad


def priority_fields(*, depends_on: int = 0, weight: int = 16, exclusive: bool = False) -> bytes:
    """Exclusive bit, stream dependency and weight (§6.3); ``weight`` 1..256 as the RFC counts."""
    dependency = (depends_on & STREAM_MASK) | (0x8000_0000 if exclusive else 0)
    return struct.pack(">IB", dependency, (weight - 1) & 0xFF)


def data_payload(data: bytes, *, pad_length: int | None = None, padding: bytes | None = None) -> bytes:
    return padded(data, pad_length=pad_length, padding=padding)


def headers_payload(
    block: bytes,
    *,
    pad_length: int | None = None,
    padding: bytes | None = None,
    priority: Priority | None = None,
) -> bytes:
    prio = b""
    if priority is not None:
        prio = priority_fields(
            depends_on=priority.depends_on, weight=priority.weight, exclusive=priority.exclusive
        )
    return padded(prio + block, pad_length=pad_length, padding=padding)


def rst_stream_payload(error_code: int) -> bytes:
    return struct.pack(">I", error_code & 0xFFFF_FFFF)


def settings_payload(settings: Iterable[tuple[int, int]]) -> bytes:
    return b"".join(struct.pack(">HI", key & 0xFFFF, value & 0xFFFF_FFFF) for key, value in settings)


def push_promise_payload(
    promised_stream_id: int, block: bytes, *, pad_length: int | None = None, reserved: bool = False
) -> bytes:
    promised = (promised_stream_id & STREAM_MASK) | (0x8000_0000 if reserved else 0)
    return padded(struct.pack(">I", promised) + block, pad_length=pad_length)


def goaway_payload(
    last_stream_id: int, error_code: int, debug: bytes = b"", *, reserved: bool = False
) -> bytes:
    last = (last_stream_id & STREAM_MASK) | (0x8000_0000 if reserved else 0)
    return struct.pack(">II", last, error_code & 0xFFFF_FFFF) + debug


def window_update_payload(increment: int, *, reserved: bool = False) -> bytes:
    return struct.pack(">I", (increment & STREAM_MASK) | (0x8000_0000 if reserved else 0))


def encode(frame: Frame) -> bytes:
    """A decoded (or hand-made) frame back to bytes, from its fields: the inverse of decoding
    for well-formed frames. ``length`` is recomputed from the payload."""
    payload = _payload_of(frame)
    return encode_frame(
        frame.type, payload, flags=frame.flags, stream_id=frame.stream_id, reserved=frame.reserved
    )


def _payload_of(frame: Frame) -> bytes:
    if isinstance(frame, DataFrame):
        return data_payload(frame.data, pad_length=frame.pad_length)
    if isinstance(frame, HeadersFrame):
        return headers_payload(frame.block, pad_length=frame.pad_length, priority=frame.priority)
    if isinstance(frame, PriorityFrame):
        p = frame.priority
        return priority_fields(depends_on=p.depends_on, weight=p.weight, exclusive=p.exclusive)
    if isinstance(frame, RstStreamFrame):
        return rst_stream_payload(frame.error_code)
    if isinstance(frame, SettingsFrame):
        return settings_payload(frame.settings)
    if isinstance(frame, PushPromiseFrame):
        return push_promise_payload(frame.promised_stream_id, frame.block, pad_length=frame.pad_length)
    if isinstance(frame, PingFrame):
        return frame.opaque
    if isinstance(frame, GoAwayFrame):
        return goaway_payload(frame.last_stream_id, frame.error_code, frame.debug)
    if isinstance(frame, WindowUpdateFrame):
        return window_update_payload(frame.increment)
    if isinstance(frame, ContinuationFrame):
        return frame.block
    if isinstance(frame, PriorityUpdateFrame):
        return struct.pack(">I", frame.prioritized_stream_id & STREAM_MASK) + frame.field_value
    if isinstance(frame, UnknownFrame):
        return frame.payload
    return b""


# ---------------------------------------------------------------- decoding


def _v(code: str, message: str) -> Violation:
    return Violation(code=code, message=message)


class FrameDecoder:
    """Frames out of a byte stream, incrementally; never raises.

    ``max_frame_size`` is the SETTINGS_MAX_FRAME_SIZE we advertised: a longer frame is a
    violation (§4.2) but is still decoded. ``payload_cap`` bounds the bytes kept of any one
    payload: the rest of a huge DATA frame is counted (``truncated``), not kept, and other
    frames are decoded from what was kept.
    """

    def __init__(self, *, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE, payload_cap: int = 1 << 20) -> None:
        self.max_frame_size = max_frame_size
        self.payload_cap = payload_cap
        self._buffer = bytearray()
        self._header: tuple[int, int, int, int, bool] | None = None  # length, type, flags, stream, R
        self._kept = bytearray()
        self._left = 0  # payload bytes still to come for the current frame

    @property
    def pending(self) -> int:
        """Bytes of an unfinished frame held (or still expected) by the decoder."""
        return len(self._buffer) + len(self._kept) + (FRAME_HEADER_SIZE if self._header else 0)

    def feed(self, data: bytes) -> list[Frame]:
        frames: list[Frame] = []
        self._buffer += data
        while True:
            if self._header is None:
                if len(self._buffer) < FRAME_HEADER_SIZE:
                    return frames
                head = bytes(self._buffer[:FRAME_HEADER_SIZE])
                del self._buffer[:FRAME_HEADER_SIZE]
                length = int.from_bytes(head[:3], "big")
                stream_word = int.from_bytes(head[5:9], "big")
                self._header = (length, head[3], head[4], stream_word & STREAM_MASK, bool(stream_word >> 31))
                self._left = length
                self._kept = bytearray()
            take = min(self._left, len(self._buffer))
            room = max(0, self.payload_cap - len(self._kept))
            self._kept += self._buffer[: min(take, room)]
            del self._buffer[:take]
            self._left -= take
            if self._left:
                return frames
            length, frame_type, flags, stream, reserved = self._header
            truncated = length - len(self._kept)
            frames.append(
                parse_frame(
                    frame_type,
                    flags,
                    stream,
                    reserved,
                    length,
                    bytes(self._kept),
                    truncated,
                    self.max_frame_size,
                )
            )
            self._header = None
            self._kept = bytearray()


def parse_frame(
    frame_type: int,
    flags: int,
    stream_id: int,
    reserved: bool,
    length: int,
    payload: bytes,
    truncated: int = 0,
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
) -> Frame:
    """One frame from its header fields and payload; violations instead of exceptions."""
    found: list[Violation] = []
    common: dict[str, Any] = {"flags": flags, "stream_id": stream_id, "reserved": reserved, "length": length}
    if reserved:
        found.append(
            _v(
                "h2-reserved-bit",
                "the reserved bit of the stream identifier is set (§4.1: MUST remain unset when sending)",
            )
        )
    if length > max_frame_size:
        found.append(
            _v(
                "h2-frame-too-large",
                f"a {length}-byte frame exceeds our SETTINGS_MAX_FRAME_SIZE of {max_frame_size} (§4.2)",
            )
        )
    try:
        frame = _parse_body(frame_type, payload, truncated, common, found)
    except Exception as exc:  # pragma: no cover - the parsers check lengths first
        found.append(_v("h2-undecodable", f"the frame could not be decoded: {exc}"))
        frame = UnknownFrame(type=frame_type, payload=payload, **common)
    from dataclasses import replace

    return replace(frame, violations=tuple(found)) if found else frame


def _unpad(payload: bytes, flags: int, name: str, found: list[Violation]) -> tuple[bytes, int | None]:
    if not flags & Flag.PADDED:
        return payload, None
    if not payload:
        found.append(_v("h2-bad-padding", f"a PADDED {name} frame without a Pad Length octet (§6.1)"))
        return b"", 0
    pad = payload[0]
    if pad >= len(payload):
        found.append(
            _v(
                "h2-bad-padding",
                f"{name} padding of {pad} bytes is not shorter than the payload (§6.1: PROTOCOL_ERROR)",
            )
        )
        return b"", pad
    body = payload[1 : len(payload) - pad]
    return body, pad


def _parse_body(
    frame_type: int, payload: bytes, truncated: int, common: dict[str, Any], found: list[Violation]
) -> Frame:
    flags = common["flags"]
    stream = common["stream_id"]
    length = common["length"]
    if frame_type == FrameType.DATA:
        if stream == 0:
            found.append(_v("h2-data-on-stream-0", "DATA on stream 0 (§6.1)"))
        if truncated:
            data, pad = (payload[1:], payload[0]) if flags & Flag.PADDED and payload else (payload, None)
            return DataFrame(data=data, pad_length=pad, truncated=truncated, **common)
        data, pad = _unpad(payload, flags, "DATA", found)
        return DataFrame(data=data, pad_length=pad, **common)
    if frame_type == FrameType.HEADERS:
        if stream == 0:
            found.append(_v("h2-headers-on-stream-0", "HEADERS on stream 0 (§6.2)"))
        body, pad = _unpad(payload, flags, "HEADERS", found)
        priority = None
        if flags & Flag.PRIORITY:
            if len(body) < 5:
                found.append(
                    _v(
                        "h2-bad-priority",
                        "HEADERS with PRIORITY set is too short for the priority fields (§6.2)",
                    )
                )
            else:
                word = int.from_bytes(body[:4], "big")
                priority = Priority(
                    exclusive=bool(word >> 31), depends_on=word & STREAM_MASK, weight=body[4] + 1
                )
                body = body[5:]
        return HeadersFrame(block=body, pad_length=pad, priority=priority, **common)
    if frame_type == FrameType.PRIORITY:
        if length != 5:
            found.append(_v("h2-bad-frame-size", f"a PRIORITY frame of {length} bytes, not 5 (§6.3)"))
        if stream == 0:
            found.append(_v("h2-priority-on-stream-0", "PRIORITY on stream 0 (§6.3)"))
        if len(payload) >= 5:
            word = int.from_bytes(payload[:4], "big")
            prio = Priority(exclusive=bool(word >> 31), depends_on=word & STREAM_MASK, weight=payload[4] + 1)
        else:
            prio = Priority()
        return PriorityFrame(priority=prio, **common)
    if frame_type == FrameType.RST_STREAM:
        if length != 4:
            found.append(_v("h2-bad-frame-size", f"an RST_STREAM frame of {length} bytes, not 4 (§6.4)"))
        if stream == 0:
            found.append(_v("h2-rst-on-stream-0", "RST_STREAM on stream 0 (§6.4)"))
        code = int.from_bytes(payload[:4], "big") if len(payload) >= 4 else 0
        return RstStreamFrame(error_code=code, **common)
    if frame_type == FrameType.SETTINGS:
        if stream != 0:
            found.append(_v("h2-settings-on-stream", f"SETTINGS on stream {stream} (§6.5)"))
        if flags & Flag.ACK and length:
            found.append(_v("h2-bad-frame-size", "a SETTINGS ACK with a payload (§6.5)"))
        if length % 6:
            found.append(
                _v("h2-bad-frame-size", f"a SETTINGS payload of {length} bytes, not a multiple of 6 (§6.5)")
            )
        settings = tuple(
            (int.from_bytes(payload[i : i + 2], "big"), int.from_bytes(payload[i + 2 : i + 6], "big"))
            for i in range(0, len(payload) - len(payload) % 6, 6)
        )
        for key, value in settings:
            if key == Setting.ENABLE_PUSH and value > 1:
                found.append(_v("h2-bad-setting", f"SETTINGS_ENABLE_PUSH={value} (§6.5.2: 0 or 1)"))
            if key == Setting.INITIAL_WINDOW_SIZE and value > MAX_WINDOW:
                found.append(
                    _v("h2-bad-setting", f"SETTINGS_INITIAL_WINDOW_SIZE={value} above 2^31-1 (§6.5.2)")
                )
            if key == Setting.MAX_FRAME_SIZE and not DEFAULT_MAX_FRAME_SIZE <= value <= MAX_FRAME_SIZE_LIMIT:
                found.append(
                    _v("h2-bad-setting", f"SETTINGS_MAX_FRAME_SIZE={value} outside 2^14..2^24-1 (§6.5.2)")
                )
            if key == Setting.ENABLE_CONNECT_PROTOCOL and value > 1:
                found.append(
                    _v("h2-bad-setting", f"SETTINGS_ENABLE_CONNECT_PROTOCOL={value} (RFC 8441 §3: 0 or 1)")
                )
        return SettingsFrame(settings=settings, **common)
    if frame_type == FrameType.PUSH_PROMISE:
        body, pad = _unpad(payload, flags, "PUSH_PROMISE", found)
        promised = int.from_bytes(body[:4], "big") & STREAM_MASK if len(body) >= 4 else 0
        if len(body) < 4:
            found.append(
                _v("h2-bad-frame-size", "a PUSH_PROMISE too short for the promised stream id (§6.6)")
            )
        return PushPromiseFrame(promised_stream_id=promised, block=body[4:], pad_length=pad, **common)
    if frame_type == FrameType.PING:
        if length != 8:
            found.append(_v("h2-bad-frame-size", f"a PING of {length} bytes, not 8 (§6.7)"))
        if stream != 0:
            found.append(_v("h2-ping-on-stream", f"PING on stream {stream} (§6.7)"))
        return PingFrame(opaque=payload, **common)
    if frame_type == FrameType.GOAWAY:
        if stream != 0:
            found.append(_v("h2-goaway-on-stream", f"GOAWAY on stream {stream} (§6.8)"))
        if length < 8:
            found.append(_v("h2-bad-frame-size", f"a GOAWAY of {length} bytes, under 8 (§6.8)"))
        last = int.from_bytes(payload[:4], "big") & STREAM_MASK if len(payload) >= 4 else 0
        code = int.from_bytes(payload[4:8], "big") if len(payload) >= 8 else 0
        return GoAwayFrame(last_stream_id=last, error_code=code, debug=payload[8:], **common)
    if frame_type == FrameType.WINDOW_UPDATE:
        if length != 4:
            found.append(_v("h2-bad-frame-size", f"a WINDOW_UPDATE of {length} bytes, not 4 (§6.9)"))
        increment = int.from_bytes(payload[:4], "big") & STREAM_MASK if len(payload) >= 4 else 0
        if len(payload) >= 4 and increment == 0:
            found.append(_v("h2-zero-window-increment", "a WINDOW_UPDATE with an increment of 0 (§6.9)"))
        return WindowUpdateFrame(increment=increment, **common)
    if frame_type == FrameType.CONTINUATION:
        if stream == 0:
            found.append(_v("h2-continuation-on-stream-0", "CONTINUATION on stream 0 (§6.10)"))
        return ContinuationFrame(block=payload, **common)
    if frame_type == FrameType.PRIORITY_UPDATE:
        prioritized = int.from_bytes(payload[:4], "big") & STREAM_MASK if len(payload) >= 4 else 0
        return PriorityUpdateFrame(prioritized_stream_id=prioritized, field_value=payload[4:], **common)
    return UnknownFrame(type=frame_type, payload=payload, **common)


def iter_frames(data: bytes) -> Iterator[Frame]:
    """Every whole frame in ``data`` (for tests and tools)."""
    yield from FrameDecoder(max_frame_size=MAX_FRAME_SIZE_LIMIT, payload_cap=len(data) + 1).feed(data)
