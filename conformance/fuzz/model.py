"""A fuzzed HTTP/1.1 input as data: a valid request, the mutations applied to it, and how its
bytes are cut into TCP writes.

Everything here is a frozen value; :meth:`FuzzInput.tokens` builds the bytes from the parts,
then applies each mutation in turn to a mutable draft. Mutations address field lines, chunks
and lines by index *modulo* what exists, so any list of mutations applies to any request:
that is what lets Hypothesis delete a mutation while shrinking and still have an input.

The request keeps its templates (``{authority}`` in Host, ``{path}`` or ``{echo_path}`` in the
request-target) until it is sent, so that a finding is written as a case that replays against
any address. The bytes are a list of tokens: one byte each, or one template; split offsets
count tokens, so a write boundary stays where it was whatever the address is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

Template = Literal["authority", "path", "echo_path"]
Token = int | str  # a byte, or a template name
Framing = Literal["none", "length", "chunked"]

CRLF = b"\r\n"


@dataclass(frozen=True, kw_only=True)
class BaseRequest:
    """A valid HTTP/1.1 request: what the mutations start from."""

    method: bytes = b"GET"
    target: Template = "path"  # the request-target: the URL's path, or the echo endpoint
    query: bytes = b""  # appended to the target, "?..." included
    fields: tuple[tuple[bytes, bytes], ...] = ()  # after Host (always first, {authority})
    body: bytes = b""
    framing: Framing = "none"
    chunk_sizes: tuple[int, ...] = ()  # chunked: how the body is cut (the rest is one more chunk)
    trailers: tuple[tuple[bytes, bytes], ...] = ()

    def chunks(self) -> list[bytes]:
        pieces, at = [], 0
        for size in self.chunk_sizes:
            if at >= len(self.body):
                break
            pieces.append(self.body[at : at + max(1, size)])
            at += max(1, size)
        if at < len(self.body):
            pieces.append(self.body[at:])
        return pieces


# -- the draft the mutations edit


@dataclass
class _Field:
    name: bytes
    value: list[Token]
    separator: bytes = b": "
    eol: bytes = CRLF


@dataclass
class _Chunk:
    size: bytes
    ext: bytes
    eol: bytes
    data: bytes
    data_eol: bytes


@dataclass
class Draft:
    """The request as editable parts, in wire order."""

    method: bytes
    target: list[Token]
    version: bytes
    line_eol: bytes
    fields: list[_Field]
    head_end: bytes
    framing: Framing
    body: bytes = b""  # framing "none" or "length": sent as is after the head
    chunks: list[_Chunk] = field(default_factory=list)
    last_chunk: _Chunk | None = None  # the "0" line (its data is empty)
    trailers: list[_Field] = field(default_factory=list)
    final_eol: bytes = CRLF

    @classmethod
    def of(cls, base: BaseRequest) -> Draft:
        target: list[Token] = [base.target, *base.query]
        fields = [_Field(b"Host", ["authority"])]
        fields += [_Field(name, list(value)) for name, value in base.fields]
        draft = cls(
            method=base.method,
            target=target,
            version=b"HTTP/1.1",
            line_eol=CRLF,
            fields=fields,
            head_end=CRLF,
            framing=base.framing,
        )
        if base.framing == "length":
            fields.append(_Field(b"Content-Length", list(str(len(base.body)).encode())))
            draft.body = base.body
        elif base.framing == "chunked":
            fields.append(_Field(b"Transfer-Encoding", list(b"chunked")))
            draft.chunks = [_Chunk(b"%x" % len(data), b"", CRLF, data, CRLF) for data in base.chunks()]
            draft.last_chunk = _Chunk(b"0", b"", CRLF, b"", b"")
            draft.trailers = [_Field(name, list(value)) for name, value in base.trailers]
        return draft

    def tokens(self) -> list[Token]:
        out: list[Token] = []
        out += self.method
        out += b" "
        out += self.target
        out += b" "
        out += self.version
        out += self.line_eol
        for line in self.fields:
            out += line.name + line.separator
            out += line.value
            out += line.eol
        out += self.head_end
        if self.framing != "chunked":
            out += self.body
            return out
        for chunk in self.chunks:
            out += chunk.size + chunk.ext + chunk.eol + chunk.data + chunk.data_eol
        if self.last_chunk is not None:
            out += self.last_chunk.size + self.last_chunk.ext + self.last_chunk.eol
        for line in self.trailers:
            out += line.name + line.separator
            out += line.value
            out += line.eol
        out += self.final_eol
        return out

    def field_index(self, name: bytes) -> int | None:
        for index, line in enumerate(self.fields):
            if line.name.lower() == name.lower():
                return index
        return None


# -- mutations, drawn as data


@dataclass(frozen=True)
class Mutation:
    """One deviation from the valid request. ``kind`` names it in the progress line."""

    kind: ClassVar[str] = "mutation"

    def apply(self, draft: Draft) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class InsertField(Mutation):
    kind: ClassVar[str] = "insert-field"
    index: int
    name: bytes
    value: bytes

    def apply(self, draft: Draft) -> None:
        draft.fields.insert(self.index % (len(draft.fields) + 1), _Field(self.name, list(self.value)))


@dataclass(frozen=True)
class DuplicateField(Mutation):
    kind: ClassVar[str] = "duplicate-field"
    index: int

    def apply(self, draft: Draft) -> None:
        if draft.fields:
            at = self.index % len(draft.fields)
            line = draft.fields[at]
            draft.fields.insert(at + 1, _Field(line.name, list(line.value), line.separator, line.eol))


@dataclass(frozen=True)
class DropField(Mutation):
    kind: ClassVar[str] = "drop-field"
    index: int

    def apply(self, draft: Draft) -> None:
        if draft.fields:
            del draft.fields[self.index % len(draft.fields)]


@dataclass(frozen=True)
class NameByte(Mutation):
    """An odd byte inside a field name."""

    kind: ClassVar[str] = "name-byte"
    index: int
    position: int
    byte: int

    def apply(self, draft: Draft) -> None:
        if draft.fields:
            line = draft.fields[self.index % len(draft.fields)]
            at = self.position % (len(line.name) + 1)
            line.name = line.name[:at] + bytes([self.byte]) + line.name[at:]


@dataclass(frozen=True)
class ValueByte(Mutation):
    """An odd byte inside a field value."""

    kind: ClassVar[str] = "value-byte"
    index: int
    position: int
    byte: int

    def apply(self, draft: Draft) -> None:
        if draft.fields:
            line = draft.fields[self.index % len(draft.fields)]
            at = self.position % (len(line.value) + 1)
            line.value.insert(at, self.byte)


@dataclass(frozen=True)
class Separator(Mutation):
    """What stands between a field name and its value (": " when valid)."""

    kind: ClassVar[str] = "separator"
    index: int
    separator: bytes

    def apply(self, draft: Draft) -> None:
        if draft.fields:
            draft.fields[self.index % len(draft.fields)].separator = self.separator


@dataclass(frozen=True)
class LineEnding(Mutation):
    """Another line ending for one head line (0: the request line; then the field lines;
    the last: the empty line that ends the head)."""

    kind: ClassVar[str] = "line-ending"
    line: int
    eol: bytes

    def apply(self, draft: Draft) -> None:
        at = self.line % (len(draft.fields) + 2)
        if at == 0:
            draft.line_eol = self.eol
        elif at <= len(draft.fields):
            draft.fields[at - 1].eol = self.eol
        else:
            draft.head_end = self.eol


@dataclass(frozen=True)
class RequestLine(Mutation):
    """An odd byte in the method or the request-target, or another HTTP-version."""

    kind: ClassVar[str] = "request-line"
    part: Literal["method", "target", "version"]
    position: int
    byte: int
    version: bytes = b""

    def apply(self, draft: Draft) -> None:
        if self.part == "method":
            at = self.position % (len(draft.method) + 1)
            draft.method = draft.method[:at] + bytes([self.byte]) + draft.method[at:]
        elif self.part == "target":
            # After the template: the path itself stays whole.
            at = 1 + self.position % len(draft.target)
            draft.target.insert(at, self.byte)
        else:
            draft.version = self.version


@dataclass(frozen=True)
class ContentLength(Mutation):
    """The Content-Length value off by ``delta`` (added when absent)."""

    kind: ClassVar[str] = "content-length"
    delta: int

    def apply(self, draft: Draft) -> None:
        length = len(draft.body) if draft.framing != "chunked" else 0
        _set_length(draft, str(max(0, length + self.delta)).encode())


@dataclass(frozen=True)
class ContentLengthForm(Mutation):
    """The right Content-Length value, written another way (added when absent): apart from
    an off-by-one, so that shrinking can keep the one without the other."""

    kind: ClassVar[str] = "content-length-form"
    form: Literal["leading-zeros", "plus", "list", "trailing-space", "leading-space"]

    def apply(self, draft: Draft) -> None:
        text = str(len(draft.body) if draft.framing != "chunked" else 0).encode()
        if self.form == "leading-zeros":
            text = b"00" + text
        elif self.form == "plus":
            text = b"+" + text
        elif self.form == "list":
            text = text + b", " + text
        elif self.form == "trailing-space":
            text = text + b" "
        elif self.form == "leading-space":
            text = b" " + text
        _set_length(draft, text)


def _set_length(draft: Draft, text: bytes) -> None:
    at = draft.field_index(b"content-length")
    if at is None:
        draft.fields.append(_Field(b"Content-Length", list(text)))
    else:
        draft.fields[at].value = list(text)


@dataclass(frozen=True)
class TransferEncoding(Mutation):
    """Transfer-Encoding written another way, or added beside a Content-Length."""

    kind: ClassVar[str] = "transfer-encoding"
    value: bytes

    def apply(self, draft: Draft) -> None:
        at = draft.field_index(b"transfer-encoding")
        if at is None:
            draft.fields.append(_Field(b"Transfer-Encoding", list(self.value)))
        else:
            draft.fields[at].value = list(self.value)


@dataclass(frozen=True)
class ChunkSize(Mutation):
    """A chunk-size off by ``delta`` or written another way (index past the data chunks: the
    last chunk's "0")."""

    kind: ClassVar[str] = "chunk-size"
    index: int
    delta: int
    form: Literal["plain", "leading-zeros", "upper", "space", "prefix"]

    def apply(self, draft: Draft) -> None:
        chunk = _chunk(draft, self.index)
        if chunk is None:
            return
        size = max(0, len(chunk.data) + self.delta)
        text = b"%x" % size
        if self.form == "leading-zeros":
            text = b"00" + text
        elif self.form == "upper":
            text = text.upper()
        elif self.form == "space":
            text = text + b" "
        elif self.form == "prefix":
            text = b"0x" + text
        chunk.size = text


@dataclass(frozen=True)
class ChunkExtension(Mutation):
    kind: ClassVar[str] = "chunk-ext"
    index: int
    ext: bytes

    def apply(self, draft: Draft) -> None:
        chunk = _chunk(draft, self.index)
        if chunk is not None:
            chunk.ext += self.ext


@dataclass(frozen=True)
class ChunkLineEnding(Mutation):
    """Another ending for a chunk's size line or its data."""

    kind: ClassVar[str] = "chunk-eol"
    index: int
    which: Literal["size", "data"]
    eol: bytes

    def apply(self, draft: Draft) -> None:
        chunk = _chunk(draft, self.index)
        if chunk is None:
            return
        if self.which == "size" or chunk is draft.last_chunk:
            chunk.eol = self.eol
        else:
            chunk.data_eol = self.eol


@dataclass(frozen=True)
class Trailer(Mutation):
    kind: ClassVar[str] = "trailer"
    name: bytes
    value: bytes

    def apply(self, draft: Draft) -> None:
        if draft.framing == "chunked":
            draft.trailers.append(_Field(self.name, list(self.value)))


@dataclass(frozen=True)
class BodyBytes(Mutation):
    """Bytes added to (or, negative ``count``, cut from) the end of the content, framing as it was."""

    kind: ClassVar[str] = "body-bytes"
    data: bytes
    count: int

    def apply(self, draft: Draft) -> None:
        if draft.framing == "chunked":
            if draft.chunks:
                chunk = draft.chunks[-1]
                chunk.data = _resize(chunk.data, self.data, self.count)
        else:
            draft.body = _resize(draft.body, self.data, self.count)


def _resize(data: bytes, extra: bytes, count: int) -> bytes:
    if count < 0:
        return data[: max(0, len(data) + count)]
    return data + (extra * (count // max(1, len(extra)) + 1))[:count]


def _chunk(draft: Draft, index: int) -> _Chunk | None:
    chunks = [*draft.chunks, *([draft.last_chunk] if draft.last_chunk else [])]
    if draft.framing != "chunked" or not chunks:
        return None
    return chunks[index % len(chunks)]


MUTATION_KINDS: tuple[type[Mutation], ...] = (
    InsertField,
    DuplicateField,
    DropField,
    NameByte,
    ValueByte,
    Separator,
    LineEnding,
    RequestLine,
    ContentLength,
    ContentLengthForm,
    TransferEncoding,
    ChunkSize,
    ChunkExtension,
    ChunkLineEnding,
    Trailer,
    BodyBytes,
)
#: the name of every kind, plus "split" (more than one TCP write)
KIND_NAMES: tuple[str, ...] = (*(kind.kind for kind in MUTATION_KINDS), "split")


# -- the input


@dataclass(frozen=True, kw_only=True)
class FuzzInput:
    """One input: a valid request, the mutations applied in order, and the write boundaries."""

    base: BaseRequest
    mutations: tuple[Mutation, ...] = ()
    splits: tuple[int, ...] = ()  # token offsets (taken modulo the length) where a write ends

    def tokens(self) -> list[Token]:
        draft = Draft.of(self.base)
        for mutation in self.mutations:
            mutation.apply(draft)
        return draft.tokens()

    def writes(self) -> list[list[Token]]:
        """The tokens of each TCP write, in order (never an empty write)."""
        tokens = self.tokens()
        if len(tokens) < 2:
            return [tokens]
        cuts = sorted({1 + offset % (len(tokens) - 1) for offset in self.splits})
        pieces, start = [], 0
        for cut in cuts:
            pieces.append(tokens[start:cut])
            start = cut
        pieces.append(tokens[start:])
        return pieces

    def render(self, fill: Mapping[str, bytes]) -> list[bytes]:
        """The bytes of each write, templates filled from ``fill``."""
        return [render(piece, fill) for piece in self.writes()]

    def kinds(self) -> set[str]:
        kinds = {mutation.kind for mutation in self.mutations}
        if len(self.writes()) > 1:
            kinds.add("split")
        return kinds

    @property
    def method(self) -> str:
        return self.base.method.decode("latin-1")

    def describe(self) -> str:
        parts = [f"{self.method} {self.base.framing} body {len(self.base.body)}"]
        parts += [type(m).__name__ for m in self.mutations]
        if self.splits:
            parts.append(f"{len(self.writes())} writes")
        return ", ".join(parts)


def render(tokens: Sequence[Token], fill: Mapping[str, bytes]) -> bytes:
    out = bytearray()
    for token in tokens:
        if isinstance(token, str):
            out += fill[token]
        else:
            out.append(token)
    return bytes(out)
