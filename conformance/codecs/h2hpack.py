"""HPACK (RFC 7541) for the harness: full control when encoding, the `hpack` package when decoding.

Encoding builds header blocks one representation at a time (§6): indexed fields, literals
with incremental, without or never indexing (with an indexed or a new name), dynamic table
size updates, each string with Huffman coding on or off — and, on purpose, what a correct
encoder never writes: indexes past the tables, Huffman strings with bad padding or the EOS
symbol, integers with redundant continuation octets or past any sane size.

Decoding uses :class:`hpack.Decoder`, one per connection (the dynamic table lives as long as
the connection); a block it cannot decode gives an error text, never an exception, and
leaves the decoder marked broken (§4.1 of RFC 9113: the table state is then unknown).

Sections below are of https://www.rfc-editor.org/rfc/rfc7541.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import hpack
from hpack.huffman import HuffmanEncoder
from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH
from hpack.table import HeaderTable

_HUFFMAN = HuffmanEncoder(REQUEST_CODES, REQUEST_CODES_LENGTH)

#: The static table (Appendix A), 1-based as the RFC numbers it: STATIC_TABLE[0] is index 1.
STATIC_TABLE: tuple[tuple[bytes, bytes], ...] = tuple(HeaderTable.STATIC_TABLE)
_STATIC_FULL = {entry: index for index, entry in reversed(list(enumerate(STATIC_TABLE, start=1)))}
_STATIC_NAME = {name: index for index, (name, _) in reversed(list(enumerate(STATIC_TABLE, start=1)))}


def encode_integer(value: int, prefix_bits: int, first: int = 0, *, extra_continuations: int = 0) -> bytes:
    """An integer with an N-bit prefix (§5.1); ``first`` holds the bits above the prefix.

    ``extra_continuations`` (for values that do not fit the prefix) adds that many redundant
    continuation octets (zero groups): a value that decodes the same but is longer than
    needed — or, with many, an integer no decoder should accept.
    """
    limit = (1 << prefix_bits) - 1
    if value < limit:  # fits the prefix: no continuation octets can be added
        return bytes([first | value])
    out = bytearray([first | limit])
    rest = value - limit
    groups: list[int] = []
    while rest >= 128:
        groups.append((rest & 0x7F) | 0x80)
        rest >>= 7
    out += bytes(groups)
    if extra_continuations:
        # rest < 128 is the last group: write it with the continuation bit, then zeros.
        out.append(rest | 0x80)
        out += b"\x80" * (extra_continuations - 1)
        out.append(0)
    else:
        out.append(rest)
    return bytes(out)


def huffman(data: bytes) -> bytes:
    """Huffman-coded bytes (§5.2, Appendix B) with the correct EOS-prefix padding."""
    return bytes(_HUFFMAN.encode(data))


def _huffman_bits(data: bytes) -> tuple[int, int]:
    bits = 0
    count = 0
    for byte in data:
        bits = (bits << REQUEST_CODES_LENGTH[byte]) | REQUEST_CODES[byte]
        count += REQUEST_CODES_LENGTH[byte]
    return bits, count


def huffman_variant(data: bytes, variant: str) -> bytes:
    """Huffman coding done wrong on purpose (§5.2):

    - ``zero-padding``: padding with 0 bits instead of the EOS prefix (1 bits);
    - ``long-padding``: a whole extra octet of 1 bits (padding longer than 7 bits);
    - ``eos``: the EOS symbol (30 bits) encoded in the string.
    """
    bits, count = _huffman_bits(data)
    if variant == "eos":
        bits = (bits << 30) | 0x3FFF_FFFF
        count += 30
    pad = (-count) % 8
    if variant == "zero-padding":
        if pad == 0:  # force some padding to get wrong: add one symbol's worth of zeros
            bits, count = (bits << 8), count + 8
            return (bits).to_bytes(count // 8, "big")
        bits <<= pad
    else:
        bits = (bits << pad) | ((1 << pad) - 1)
        if variant == "long-padding":
            bits = (bits << 8) | 0xFF
            count += 8
    count += pad
    return bits.to_bytes(count // 8, "big") if count else b""


def encode_string(
    data: bytes, *, use_huffman: bool, variant: str | None = None, length: int | None = None
) -> bytes:
    """A string literal (§5.2); ``length`` overrides the declared length."""
    body = huffman_variant(data, variant) if variant else (huffman(data) if use_huffman else data)
    flag = 0x80 if (use_huffman or variant) else 0
    declared = len(body) if length is None else length
    return encode_integer(declared, 7, flag) + body


@dataclass(frozen=True, kw_only=True)
class Indexed:
    """An indexed header field (§6.1): one index into the static or dynamic table."""

    index: int
    extra_continuations: int = 0

    def encode(self) -> bytes:
        return encode_integer(self.index, 7, 0x80, extra_continuations=self.extra_continuations)


#: Literal kinds (§6.2): the pattern bits and prefix length of each.
_LITERAL = {"incremental": (0x40, 6), "without": (0x00, 4), "never": (0x10, 4)}


@dataclass(frozen=True, kw_only=True)
class Literal:
    """A literal header field (§6.2) with ``indexing`` incremental, without or never; the
    name is an index (``name_index``) or a literal string."""

    name: bytes = b""
    value: bytes = b""
    name_index: int | None = None
    indexing: str = "without"
    huffman: bool = True
    huffman_variant: str | None = None  # applies to the value: zero-padding, long-padding, eos
    value_length: int | None = None  # overrides the declared value length

    def encode(self) -> bytes:
        pattern, prefix = _LITERAL[self.indexing]
        if self.name_index is not None:
            out = encode_integer(self.name_index, prefix, pattern)
        else:
            out = bytes([pattern]) + encode_string(self.name, use_huffman=self.huffman)
        return out + encode_string(
            self.value, use_huffman=self.huffman, variant=self.huffman_variant, length=self.value_length
        )


@dataclass(frozen=True, kw_only=True)
class SizeUpdate:
    """A dynamic table size update (§6.3)."""

    size: int

    def encode(self) -> bytes:
        return encode_integer(self.size, 5, 0x20)


@dataclass(frozen=True, kw_only=True)
class RawBlock:
    """Bytes written into the block as they are."""

    data: bytes

    def encode(self) -> bytes:
        return self.data


Representation = Indexed | Literal | SizeUpdate | RawBlock


def default_representation(name: bytes, value: bytes, *, use_huffman: bool = True) -> Representation:
    """What a plain, stateless encoder writes: an indexed field for a full static match, else
    a literal without indexing, naming a static entry when the name has one."""
    index = _STATIC_FULL.get((name, value))
    if index is not None:
        return Indexed(index=index)
    name_index = _STATIC_NAME.get(name)
    if name_index is not None:
        return Literal(name_index=name_index, value=value, huffman=use_huffman)
    return Literal(name=name, value=value, huffman=use_huffman)


def encode_block(representations: Iterable[Representation]) -> bytes:
    return b"".join(rep.encode() for rep in representations)


def encode_fields(fields: Sequence[tuple[bytes, bytes]], *, use_huffman: bool = True) -> bytes:
    """A header block for the fields, with :func:`default_representation`."""
    return encode_block(default_representation(n, v, use_huffman=use_huffman) for n, v in fields)


class BlockDecoder:
    """Decodes the header blocks of one connection (the dynamic table lives across blocks)."""

    def __init__(self, *, max_header_list_size: int = 1 << 20) -> None:
        self._decoder = hpack.Decoder()
        self._decoder.max_header_list_size = max_header_list_size
        self.broken = False  # a block failed to decode: later blocks cannot be trusted

    def set_max_table_size(self, size: int) -> None:
        """The table size we allow the peer (our SETTINGS_HEADER_TABLE_SIZE)."""
        self._decoder.max_allowed_table_size = size

    def decode(self, block: bytes) -> tuple[tuple[tuple[bytes, bytes], ...], str | None]:
        """The fields of a block and ``None``, or what was decoded before the error and why."""
        if self.broken:
            return (), "an earlier header block failed to decode; the HPACK table state is unknown"
        try:
            fields = self._decoder.decode(block, raw=True)
        except Exception as exc:  # hpack raises several kinds; a bad block is a finding
            self.broken = True
            return (), f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return tuple((bytes(n), bytes(v)) for n, v in fields), None
