"""Messages (RFC 6455 §5.4, §5.6; RFC 7692 §6): assembling frames into messages, with control
frames interleaved, incremental UTF-8 validation and permessage-deflate; and cutting a
message into frames in any pattern.

The assembler keeps memory bounded: of each message it keeps the first ``keep`` bytes, the
length and a SHA-256 digest, never the whole of a 16 MiB payload.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from conformance.codecs.common import Violation, printable
from conformance.codecs.ws.close import check_close_payload
from conformance.codecs.ws.deflate import TAIL, MessageCompressor
from conformance.codecs.ws.frames import RFC6455, Frame, Opcode, encode_frame, encode_header, is_control, mask
from conformance.codecs.ws.utf8 import Utf8Validator

RFC7692 = "https://www.rfc-editor.org/rfc/rfc7692"
#: Bytes of each message kept for descriptions and exact comparisons.
KEEP = 1024
#: About how many bytes :func:`stream_message` hands out at a time.
STREAM_CHUNK = 64 * 1024


def _violation(code: str, message: str, section: str, rfc: str = RFC6455) -> Violation:
    number = "7692" if rfc == RFC7692 else "6455"
    return Violation(code=code, message=f"{message} (RFC {number} §{section}, {rfc}#section-{section})")


@dataclass(frozen=True, kw_only=True)
class Message:
    """A whole data message. ``payload`` holds its first :data:`KEEP` bytes (all of it when
    ``length`` is not larger); ``digest`` is the SHA-256 of the whole payload."""

    opcode: int  # TEXT or BINARY
    payload: bytes
    length: int
    digest: str
    frames: int = 1
    compressed: bool = False
    utf8_error: int | None = None  # offset of the first invalid byte of a text message
    violations: tuple[Violation, ...] = ()
    echo: bool | None = None  # equal to the oldest message we sent and did not see back
    echo_problem: str = ""  # how it differs from it

    @property
    def kind(self) -> Literal["text", "binary"]:
        return "text" if self.opcode == Opcode.TEXT else "binary"

    @property
    def whole(self) -> bool:
        return self.length == len(self.payload)

    def describe(self) -> str:
        parts = f" in {self.frames} frames" if self.frames > 1 else ""
        parts += ", compressed" if self.compressed else ""
        if self.kind == "text" and self.utf8_error is None and self.whole and self.length <= 60:
            shown = f': "{printable(self.payload, 60)}"'
        elif self.length <= 24 and self.whole:
            shown = f": {self.payload.hex(' ')}"
        else:
            shown = ""
        invalid = f", invalid UTF-8 at byte {self.utf8_error}" if self.utf8_error is not None else ""
        return f"{self.kind} message ({self.length} bytes{parts}{invalid}){shown}"

    def detail(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "ws_message",
            "kind": self.kind,
            "length": self.length,
            "sha256": self.digest,
            "frames": self.frames,
            "compressed": self.compressed,
        }
        if self.length <= 256:
            out["payload"] = self.payload.hex()
        if self.utf8_error is not None:
            out["utf8_error"] = self.utf8_error
        if self.echo is not None:
            out["echo"] = self.echo
        if self.violations:
            out["violations"] = [v.code for v in self.violations]
        return out


@dataclass(frozen=True, kw_only=True)
class ProtocolError:
    """A frame that breaks the message layer's rules; the stream is still read after it."""

    violation: Violation
    frame: str

    def describe(self) -> str:
        return f"{self.violation.code} in {self.frame}"

    def detail(self) -> dict[str, Any]:
        return {"type": "ws_protocol_error", "violation": self.violation.code, "frame": self.frame}


class MessageAssembler:
    """Frames (in order) to messages. Returns, for each frame, the violations of the message
    layer it showed and the message it completed, if any. Never raises."""

    def __init__(
        self,
        *,
        deflate: bool = False,
        max_message: int = 64 * 1024 * 1024,
        keep: int = KEEP,
        no_context_takeover: bool = False,
        window_bits: int = 15,
    ) -> None:
        self.deflate = deflate
        self.max_message = max_message
        self.keep = keep
        self.no_context_takeover = no_context_takeover
        # The sender's negotiated LZ77 window (RFC 7692 §7.1.2): inflating with no larger a
        # window makes a reference beyond it an error ("invalid distance too far back").
        self.window_bits = window_bits
        self._inflater = self._new_inflater()
        self._reset()

    def _reset(self) -> None:
        self._opcode: int | None = None
        self._compressed = False
        self._head = bytearray()
        self._length = 0
        self._hash = hashlib.sha256()
        self._frames = 0
        self._utf8: Utf8Validator | None = None
        self._violations: list[Violation] = []

    @property
    def in_message(self) -> bool:
        return self._opcode is not None

    def frame(self, frame: Frame) -> tuple[list[Violation], Message | None]:
        found: list[Violation] = []
        if frame.rsv2 or frame.rsv3 or (frame.rsv1 and not self.deflate):
            bits = ", ".join(f"RSV{n}" for n, bit in enumerate(frame.rsv, 1) if bit)
            found.append(_violation("ws-rsv-set", f"{bits} set without an extension that defines it", "5.2"))
        if is_control(frame.opcode):
            if frame.rsv1 and self.deflate:
                found.append(_violation("ws-rsv1-control", "RSV1 set on a control frame", "6.1", RFC7692))
            if frame.opcode == Opcode.CLOSE:
                found.extend(check_close_payload(frame.payload))
            return found, None
        if frame.opcode == Opcode.CONTINUATION:
            if self._opcode is None:
                found.append(
                    _violation("ws-orphan-continuation", "a continuation frame with no message", "5.4")
                )
                return found, None
            if frame.rsv1 and self.deflate:
                found.append(
                    _violation("ws-rsv1-continuation", "RSV1 set on a continuation frame", "6.1", RFC7692)
                )
        elif frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            if self._opcode is not None:
                found.append(
                    _violation(
                        "ws-interleaved-message", "a new data message before the fragmented one ended", "5.4"
                    )
                )
                self._reset()
            self._opcode = frame.opcode
            self._compressed = self.deflate and frame.rsv1
            if frame.opcode == Opcode.TEXT:
                self._utf8 = Utf8Validator()
        else:
            return found, None  # reserved opcodes: the frame decoder reported them
        self._frames += 1
        self._violations.extend(found)
        if self._compressed:
            self._add(self._inflate(frame.payload))
        else:
            self._add(frame.payload)
        if not frame.fin:
            return found, None
        if self._compressed:
            self._add(self._inflate(TAIL))
            if self.no_context_takeover:
                self._inflater = self._new_inflater()
        utf8_error = None
        if self._utf8 is not None:
            utf8_error = self._utf8.finish()
            if utf8_error is not None:
                self._violations.append(
                    _violation(
                        "ws-invalid-utf8", f"a text message is not valid UTF-8 from byte {utf8_error}", "8.1"
                    )
                )
        assert self._opcode is not None
        message = Message(
            opcode=self._opcode,
            payload=bytes(self._head),
            length=self._length,
            digest=self._hash.hexdigest(),
            frames=self._frames,
            compressed=self._compressed,
            utf8_error=utf8_error,
            violations=tuple(self._violations),
        )
        self._reset()
        return found, message

    def _inflate(self, data: bytes) -> bytes:
        room = max(0, self.max_message - self._length) + 1
        try:
            out = self._inflate_within_window(data, room)
        except zlib.error as exc:
            why = f"compressed data that does not inflate: {exc}"
            if "too far back" in str(exc) and self.window_bits < 15:
                why += (
                    f" (a back-reference beyond the {1 << self.window_bits}-byte window of "
                    f"max_window_bits={self.window_bits}, RFC 7692 §7.1.2)"
                )
            elif "too far back" in str(exc) and self.no_context_takeover:
                why += " (a back-reference into an earlier message despite no context takeover, §7.1.1)"
            self._violations.append(_violation("ws-deflate-invalid", why, "7.2.2", RFC7692))
            self._inflater = self._new_inflater()
            return b""
        if self._inflater.unconsumed_tail:
            self._violations.append(Violation(code="ws-message-too-large", message="a message past the cap"))
            self._inflater = self._new_inflater()
        return out

    def _inflate_within_window(self, data: bytes, room: int) -> bytes:
        """Inflate, holding the sender to its window. zlib checks a back-reference only
        against what it has kept (the window) plus the output of the current call, so with a
        window under 15 bits the output is taken in pieces of a quarter window: a reference
        more than 1.25 windows back is then an error (one within the window never is)."""
        if self.window_bits >= 15:
            return self._inflater.decompress(data, room)
        piece = max(64, (1 << self.window_bits) // 4)
        parts: list[bytes] = []
        produced = 0
        while True:
            out = self._inflater.decompress(data, min(piece, room - produced))
            parts.append(out)
            produced += len(out)
            data = self._inflater.unconsumed_tail
            if not data or produced >= room:
                return b"".join(parts)

    def _new_inflater(self) -> zlib._Decompress:
        return zlib.decompressobj(-self.window_bits)

    def _add(self, data: bytes) -> None:
        if not data:
            return
        self._hash.update(data)
        if len(self._head) < self.keep:
            self._head += data[: self.keep - len(self._head)]
        if self._utf8 is not None:
            self._utf8.feed(data)
        self._length += len(data)


# ---------------------------------------------------------------- sending


def cut(
    length: int, fragments: int | Sequence[int] | None = None, fragment_size: int | None = None
) -> list[int]:
    """Sizes of the pieces a payload of ``length`` bytes is cut into: ``fragments`` equal
    pieces (the last takes the rest), an explicit list of sizes (the last piece takes what is
    left; a list that covers less gets one more piece), or pieces of ``fragment_size``."""
    if fragment_size:
        sizes = [fragment_size] * (length // fragment_size)
        if length % fragment_size or not sizes:
            sizes.append(length % fragment_size)
        return sizes
    if fragments is None:
        return [length]
    if isinstance(fragments, int):
        count = max(1, fragments)
        base = length // count
        return [base] * (count - 1) + [length - base * (count - 1)]
    sizes = [min(max(0, s), length) for s in fragments]
    taken = 0
    out: list[int] = []
    for size in sizes:
        size = min(size, length - taken)
        out.append(size)
        taken += size
    if taken < length or not out:
        out.append(length - taken)
    return out


def encode_message(
    opcode: int,
    payload: bytes,
    *,
    sizes: Sequence[int] | None = None,
    compressor: MessageCompressor | None = None,
    mask_key: bytes | None | Literal["random"] = "random",
) -> list[bytes]:
    """The frames of one message: compressed first when a compressor is given (RSV1 on the
    first frame only, RFC 7692 §6), then cut into ``sizes`` (a data frame, then
    continuations)."""
    data = compressor.compress(payload) if compressor is not None else payload
    pieces = list(sizes) if sizes is not None else [len(data)]
    if sum(pieces) != len(data):  # sizes given for the uncompressed payload: rescale
        pieces = cut(len(data), len(pieces))
    frames: list[bytes] = []
    at = 0
    for index, size in enumerate(pieces):
        frames.append(
            encode_frame(
                opcode if index == 0 else Opcode.CONTINUATION,
                data[at : at + size],
                fin=index == len(pieces) - 1,
                rsv1=compressor is not None and index == 0,
                mask_key=mask_key,
            )
        )
        at += size
    return frames


def stream_message(
    opcode: int,
    pieces: Iterable[bytes],
    length: int,
    *,
    sizes: Sequence[int] | None = None,
    mask_key: bytes | None | Literal["random"] = "random",
    chunk: int = STREAM_CHUNK,
) -> Iterator[bytes]:
    """The wire bytes of an uncompressed message whose payload comes in ``pieces`` (any
    sizes, ``length`` bytes in all), handed out about ``chunk`` bytes at a time: the same
    bytes as ``b"".join(encode_message(...))`` with the same keys, but neither the payload
    nor its frames are ever whole in memory (a 16 MiB message costs about ``chunk`` bytes).

    ``sizes`` cut it into frames as in :func:`encode_message`. Raises ValueError when the
    pieces add up to another length than ``length`` (the frame headers already declared it).
    """
    frames = list(sizes) if sizes is not None else [length]
    if sum(frames) != length:
        frames = cut(length, len(frames))
    source = iter(pieces)
    pending = memoryview(b"")
    out = bytearray()
    for index, size in enumerate(frames):
        key = os.urandom(4) if mask_key == "random" else mask_key
        out += encode_header(
            opcode=opcode if index == 0 else Opcode.CONTINUATION,
            length=size,
            fin=index == len(frames) - 1,
            mask_key=key,
        )
        if len(out) >= chunk:  # a run of empty frames
            yield bytes(out)
            out = bytearray()
        offset = 0  # of the payload bytes of this frame written so far
        while offset < size:
            if not pending:
                try:
                    pending = memoryview(next(source))
                except StopIteration:
                    raise ValueError(f"the payload ended before its {length} bytes") from None
                continue
            take = pending[: min(size - offset, chunk)]
            pending = pending[len(take) :]
            if key is None:
                out += take
            else:
                turn = offset % 4  # the key continues where the last piece of the frame left it
                out += mask(take, key[turn:] + key[:turn])
            offset += len(take)
            if len(out) >= chunk:
                yield bytes(out)
                out = bytearray()
    for extra in (pending, *source):
        if len(extra):
            raise ValueError(f"the payload is longer than its {length} bytes")
    if out:
        yield bytes(out)
