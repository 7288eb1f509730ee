"""WebSocket frames (RFC 6455 §5): an encoder that writes any frame, valid or not, and a
tolerant incremental decoder that never raises and reports what it saw wrong.

https://www.rfc-editor.org/rfc/rfc6455#section-5.2::

     0                   1                   2                   3
    +-+-+-+-+-------+-+-------------+-------------------------------+
    |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
    |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
    |N|V|V|V|       |S|             |   (if payload len==126/127)   |
    | |1|2|3|       |K|             |                               |
    +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
"""

from __future__ import annotations

import enum
import io
import os
from dataclasses import dataclass
from typing import Any, Literal

from conformance.codecs.common import Violation, printable

RFC6455 = "https://www.rfc-editor.org/rfc/rfc6455"

#: Unmasking works on slices of this many bytes (a multiple of 4, so the key stays aligned):
#: the temporary integers stay small while the whole buffer is still XORed at C speed.
MASK_SLICE = 1 << 20


class Opcode(enum.IntEnum):
    """Frame opcodes (RFC 6455 §5.2, §11.8); 3–7 and 11–15 are reserved."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA

    @classmethod
    def name_of(cls, value: int) -> str:
        try:
            return cls(value).name.lower()
        except ValueError:
            return f"reserved-{value:#x}"


def is_control(opcode: int) -> bool:
    """Control frames have the high bit of the opcode set (RFC 6455 §5.5)."""
    return opcode >= 0x8


def is_reserved(opcode: int) -> bool:
    return opcode not in Opcode._value2member_map_


def mask(data: bytes | bytearray | memoryview, key: bytes) -> bytes:
    """XOR ``data`` with the 4-byte ``key`` repeated (RFC 6455 §5.3); masking and unmasking
    are the same operation. No per-byte Python loop: each slice is one big-integer XOR."""
    return b"".join(_masked_slices(data, key))


def _masked_slices(data: bytes | bytearray | memoryview, key: bytes) -> list[bytes]:
    if len(key) != 4:
        raise ValueError("a masking key is 4 bytes")
    size = len(data)
    view = memoryview(data)
    block = key * (min(size, MASK_SLICE) // 4 + 1)
    out: list[bytes] = []
    for start in range(0, size, MASK_SLICE):
        piece = view[start : start + MASK_SLICE]
        n = len(piece)
        value = int.from_bytes(piece, "big") ^ int.from_bytes(block[:n], "big")
        out.append(value.to_bytes(n, "big"))
    return out


LengthEncoding = Literal[7, 16, 64]


def minimal_encoding(length: int) -> LengthEncoding:
    if length <= 125:
        return 7
    if length <= 0xFFFF:
        return 16
    return 64


def encode_header(
    *,
    opcode: int,
    length: int,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    mask_key: bytes | None = None,
    encoding: LengthEncoding | None = None,
) -> bytes:
    """A frame header exactly as told: ``length`` is what the header declares (it need not be
    the payload's real length), in the ``encoding`` asked for (non-minimal forms included)."""
    first = (fin << 7) | (rsv1 << 6) | (rsv2 << 5) | (rsv3 << 4) | (opcode & 0x0F)
    masked = 0x80 if mask_key is not None else 0
    encoding = encoding or minimal_encoding(length)
    if encoding == 7:
        if length > 125:
            raise ValueError(f"a length of {length} does not fit the 7-bit form")
        head = bytes((first, masked | length))
    elif encoding == 16:
        if length > 0xFFFF:
            raise ValueError(f"a length of {length} does not fit the 16-bit form")
        head = bytes((first, masked | 126)) + length.to_bytes(2, "big")
    else:
        head = bytes((first, masked | 127)) + (length & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
    return head + (mask_key or b"")


def encode_frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    mask_key: bytes | None | Literal["random"] = "random",
    encoding: LengthEncoding | None = None,
    declared_length: int | None = None,
) -> bytes:
    """One frame. ``mask_key``: 4 bytes, ``"random"`` (a fresh unpredictable key, as RFC
    6455 §5.3 asks of clients) or None (unmasked, which a server must refuse)."""
    key = os.urandom(4) if mask_key == "random" else mask_key
    assert key is None or isinstance(key, bytes)
    header = encode_header(
        opcode=opcode,
        length=len(payload) if declared_length is None else declared_length,
        fin=fin,
        rsv1=rsv1,
        rsv2=rsv2,
        rsv3=rsv3,
        mask_key=key,
        encoding=encoding,
    )
    if key is None:
        return header + payload
    size = len(payload)
    if size <= MASK_SLICE:
        # Most frames are small (a message cut into 64-byte fragments is 16,384 of them):
        # one big-integer XOR, without the slicing machinery's memoryview and list.
        key_block = int.from_bytes((key * (size // 4 + 1))[:size], "big")
        return header + (int.from_bytes(payload, "big") ^ key_block).to_bytes(size, "big")
    # One allocation for the whole frame: the header and the masked slices joined once.
    return b"".join([header, *_masked_slices(payload, key)])


def close_code_of(payload: bytes) -> tuple[int | None, bytes]:
    """The status code and the reason bytes of a close frame's payload (no code: None)."""
    if len(payload) < 2:
        return None, b""
    return int.from_bytes(payload[:2], "big"), payload[2:]


@dataclass(frozen=True, kw_only=True)
class Frame:
    """A frame as it was on the wire, its payload unmasked; ``length`` is the declared size."""

    opcode: int
    payload: bytes
    fin: bool = True
    rsv1: bool = False
    rsv2: bool = False
    rsv3: bool = False
    mask_key: bytes | None = None
    length: int = 0
    encoding: LengthEncoding = 7
    violations: tuple[Violation, ...] = ()

    @property
    def name(self) -> str:
        return Opcode.name_of(self.opcode)

    @property
    def rsv(self) -> tuple[bool, bool, bool]:
        return (self.rsv1, self.rsv2, self.rsv3)

    @property
    def close_code(self) -> int | None:
        return close_code_of(self.payload)[0] if self.opcode == Opcode.CLOSE else None

    @property
    def close_reason(self) -> bytes:
        return close_code_of(self.payload)[1] if self.opcode == Opcode.CLOSE else b""

    def describe(self) -> str:
        flags = [] if self.fin else ["FIN clear"]
        flags += [f"RSV{n}" for n, bit in enumerate(self.rsv, start=1) if bit]
        if self.mask_key is not None:
            flags.append("masked")
        if self.opcode == Opcode.CLOSE and len(self.payload) >= 2:
            code = self.close_code
            what = f"close frame (code {code}"
            reason = self.close_reason
            what += f', reason "{printable(reason, 40)}")' if reason else ")"
        elif self.opcode == Opcode.CLOSE:
            what = "close frame (no code)" if not self.payload else "close frame (1-byte payload)"
        else:
            what = f"{self.name} frame ({self.length} bytes"
            if 0 < self.length <= 40:
                what += f': "{printable(self.payload, 40)}"'
            what += ")"
        return what + (f" [{', '.join(flags)}]" if flags else "")

    def detail(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "ws_frame",
            "opcode": self.opcode,
            "fin": self.fin,
            "rsv": [int(bit) for bit in self.rsv],
            "length": self.length,
            "encoding": self.encoding,
            "masked": self.mask_key is not None,
        }
        if self.opcode == Opcode.CLOSE:
            out["code"] = self.close_code
            out["reason"] = self.close_reason.decode("utf-8", "replace")
        elif self.length <= 256:
            out["payload"] = self.payload.hex()
        if self.violations:
            out["violations"] = [v.code for v in self.violations]
        return out


@dataclass(frozen=True, kw_only=True)
class Garbled:
    """Bytes the decoder gave up on: the stream cannot be framed past this point."""

    violation: Violation
    size: int

    def describe(self) -> str:
        return f"unframeable bytes ({self.violation.message})"

    def detail(self) -> dict[str, Any]:
        return {"type": "ws_garbled", "size": self.size, "violation": self.violation.code}


def _violation(code: str, message: str, section: str) -> Violation:
    return Violation(code=code, message=f"{message} (RFC 6455 §{section}, {RFC6455}#section-{section})")


#: Payloads from this size on are read into a buffer of their own as they arrive.
LARGE_PAYLOAD = 256 * 1024


class _LargePayload:
    """The payload of a large frame while it arrives, and what its header said."""

    def __init__(self, *, first: int, key: bytes | None, length: int, encoding: LengthEncoding) -> None:
        self.first = first
        self.key = key
        self.length = length
        self.encoding: LengthEncoding = encoding
        self.body = io.BytesIO()
        self.read = 0

    @property
    def left(self) -> int:
        return self.length - self.read

    def take(self, data: memoryview) -> int:
        """Keep what of ``data`` belongs to the payload; how many bytes that was."""
        piece = data[: self.left]
        self.body.write(piece)
        self.read += len(piece)
        return len(piece)


class FrameDecoder:
    """Incremental frame decoder: :meth:`feed` takes bytes in any pieces and returns the
    frames completed so far. It never raises. Frame-level violations are attached to each
    frame (``from_server`` decides which masking rule applies); a frame declaring more than
    ``max_payload`` bytes ends the stream with a :class:`Garbled` event, so memory stays
    bounded."""

    def __init__(self, *, from_server: bool = True, max_payload: int = 64 * 1024 * 1024) -> None:
        self.from_server = from_server
        self.max_payload = max_payload
        self._buf = bytearray()
        self._dead = False
        self._large: _LargePayload | None = None  # a large frame's payload, being read

    @property
    def dead(self) -> bool:
        return self._dead

    def feed(self, data: bytes) -> list[Frame | Garbled]:
        if self._dead:
            return []
        out: list[Frame | Garbled] = []
        large = self._large
        if large is not None:
            view = memoryview(data)
            taken = large.take(view)
            if large.left:
                return out
            self._large = None
            out.append(self._large_frame(large))
            data = bytes(view[taken:])
        self._buf += data
        pos = 0
        buf = self._buf
        while True:
            parsed = self._one(buf, pos)
            if parsed is None:
                if self._large is not None:  # the rest of the buffer went into it
                    self._buf = bytearray()
                    return out
                break
            event, pos = parsed
            out.append(event)
            if isinstance(event, Garbled):
                self._dead = True
                self._buf = bytearray()
                return out
        if pos:
            del buf[:pos]
        return out

    def pending(self) -> int:
        """Bytes held that do not yet make a whole frame."""
        return len(self._buf) + (self._large.read if self._large is not None else 0)

    def _large_frame(self, large: _LargePayload) -> Frame:
        payload = large.body.getvalue()  # the buffer itself, not a copy
        large.body.close()
        if large.key is not None:
            payload = mask(payload, large.key)
        return self._frame(large.first, payload, large.key, large.length, large.encoding)

    def _one(self, buf: bytearray, pos: int) -> tuple[Frame | Garbled, int] | None:
        if len(buf) - pos < 2:
            return None
        first, second = buf[pos], buf[pos + 1]
        masked = bool(second & 0x80)
        short = second & 0x7F
        at = pos + 2
        encoding: LengthEncoding = 7
        if short == 126:
            if len(buf) - at < 2:
                return None
            length = int.from_bytes(buf[at : at + 2], "big")
            at += 2
            encoding = 16
        elif short == 127:
            if len(buf) - at < 8:
                return None
            length = int.from_bytes(buf[at : at + 8], "big")
            at += 8
            encoding = 64
        else:
            length = short
        if length > self.max_payload:
            size = len(buf) - pos
            violation = Violation(
                code="ws-frame-too-large",
                message=f"a frame declares {length} bytes of payload, over the harness's cap of "
                f"{self.max_payload}",
            )
            if encoding == 64 and length >> 63:
                violation = _violation(
                    "ws-length-msb", "the most significant bit of a 64-bit payload length is set", "5.2"
                )
            return Garbled(violation=violation, size=size), len(buf)
        key: bytes | None = None
        if masked:
            if len(buf) - at < 4:
                return None
            key = bytes(buf[at : at + 4])
            at += 4
        if len(buf) - at < length:
            if length >= LARGE_PAYLOAD:
                # Read the rest straight into a buffer of its own, handed over without a
                # copy: a 16 MiB payload is held once, not in this buffer and again as bytes.
                large = _LargePayload(first=first, key=key, length=length, encoding=encoding)
                with memoryview(buf) as view:
                    large.take(view[at:])
                self._large = large
            return None
        view = memoryview(buf)[at : at + length]
        payload = mask(view, key) if key is not None else bytes(view)
        view.release()
        return self._frame(first, payload, key, length, encoding), at + length

    def _frame(
        self, first: int, payload: bytes, key: bytes | None, length: int, encoding: LengthEncoding
    ) -> Frame:
        opcode = first & 0x0F
        fin = bool(first & 0x80)
        return Frame(
            opcode=opcode,
            payload=payload,
            fin=fin,
            rsv1=bool(first & 0x40),
            rsv2=bool(first & 0x20),
            rsv3=bool(first & 0x10),
            mask_key=key,
            length=length,
            encoding=encoding,
            violations=self._check(opcode, fin, length, encoding, key is not None),
        )

    def _check(
        self, opcode: int, fin: bool, length: int, encoding: LengthEncoding, masked: bool
    ) -> tuple[Violation, ...]:
        found: list[Violation] = []
        if self.from_server and masked:
            found.append(_violation("ws-server-masked", "a server MUST NOT mask the frames it sends", "5.1"))
        if not self.from_server and not masked:
            found.append(_violation("ws-client-unmasked", "a client MUST mask every frame it sends", "5.1"))
        if is_reserved(opcode):
            found.append(
                _violation("ws-reserved-opcode", f"opcode {opcode:#x} is reserved and not defined", "5.2")
            )
        if is_control(opcode) and length > 125:
            found.append(
                _violation(
                    "ws-control-too-long", f"a control frame carries {length} bytes; at most 125", "5.5"
                )
            )
        if is_control(opcode) and not fin:
            found.append(_violation("ws-control-fragmented", "control frames MUST NOT be fragmented", "5.5"))
        if encoding != minimal_encoding(length):
            found.append(
                _violation(
                    "ws-length-not-minimal",
                    f"a payload length of {length} in the {encoding}-bit form; the minimal number of "
                    "bytes MUST be used",
                    "5.2",
                )
            )
        if opcode == Opcode.CLOSE and length == 1:
            found.append(_violation("ws-close-1-byte", "a close frame with a 1-byte payload", "5.5.1"))
        return tuple(found)
