"""Incremental UTF-8 validation that says where invalid text began (RFC 6455 §8.1).

A text message may arrive in fragments cut anywhere, even inside a character. The
validator takes the pieces in order and reports the offset (from the start of the message)
of the first byte that cannot begin or continue valid UTF-8 (RFC 3629) — as soon as that is
certain, which is what "fail fast" checks need: ``ED A0`` is already invalid (a surrogate),
before the third byte comes.
"""

from __future__ import annotations

import codecs

#: Bytes decoded at a time.
SLICE = 256 * 1024


class Utf8Validator:
    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._offset = 0  # bytes fed before the current piece
        self.error: int | None = None  # offset of the first invalid byte, once known

    @property
    def valid(self) -> bool:
        return self.error is None

    def feed(self, data: bytes, *, final: bool = False) -> int | None:
        """Feed the next piece; the offset of the first invalid byte, or None so far.

        A large piece is decoded a slice at a time: the text decoded is thrown away, and a
        16 MiB message must not cost 16 MiB (or 64, in UCS-4) of it at once."""
        if len(data) <= SLICE:
            return self._feed(data, final)
        view = memoryview(data)
        for start in range(0, len(view), SLICE):
            last = start + SLICE >= len(view)
            if self._feed(bytes(view[start : start + SLICE]), final and last) is not None:
                break
        return self.error

    def _feed(self, data: bytes, final: bool) -> int | None:
        if self.error is not None:
            return self.error
        pending = len(self._decoder.getstate()[0])
        try:
            self._decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            # exc.start counts from the bytes the decoder held back plus this piece.
            self.error = self._offset - pending + exc.start
            return self.error
        self._offset += len(data)
        held = self._decoder.getstate()[0]
        # CPython holds back "ED A0".."ED BF" (the start of a surrogate) as if it could
        # still become valid; RFC 3629 §4 says it never can.
        if len(held) >= 2 and held[0] == 0xED and held[1] > 0x9F:
            self.error = self._offset - len(held)
        return self.error

    def finish(self) -> int | None:
        """The message ended: an unfinished character is invalid where it began."""
        if self.error is None:
            held = self._decoder.getstate()[0]
            if held:
                self.error = self._offset - len(held)
        return self.error


def first_invalid(data: bytes) -> int | None:
    """The offset of the first invalid byte of a complete text, or None when it is valid."""
    validator = Utf8Validator()
    validator.feed(data)
    return validator.finish()
