"""Hypothesis strategies for :class:`~conformance.fuzz.model.FuzzInput`.

A valid request first (method, target, fields and a framed body, the fields and methods
drawn from those the h1 suite itself sends: :func:`suite_vocabulary`), then a *list* of
mutations and a list of write boundaries. Hypothesis shrinks lists by deleting elements and
``one_of`` towards its first branch, so a shrunk finding is "a simple valid request plus the
fewest deviations, in the fewest writes".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypeVar

from hypothesis import strategies as st

from conformance.fuzz import model
from conformance.fuzz.model import BaseRequest, FuzzInput, Mutation, Template

T = TypeVar("T")

#: field-name characters drawn from: every tchar sign (RFC 9110 §5.6.2) and a few letters
NAME_ALPHABET = b"a~|!#$%&'*+-.^_`X0"
#: field-value characters: visible characters, space and tab
VALUE_ALPHABET = b'a0 ,;="\t|~'
#: bytes no valid name, value or line has here (controls, DEL, non-ASCII, separators)
ODD_BYTES = b'\x00\x01\x08\x09\x0b\x0c\x0d\x0a\x1b\x20\x7f\x80\xff:;,"()<>@[]\\{}?=/'
#: content pieces: CR and LF only as a pair, so that content never holds a bare one (which
#: would make the bytes read two ways, see oracles.plain_lines); "GET /" and CRLF let it
#: carry a request of its own
BODY_PIECES = (b"h", b"e", b"l", b"o", b"0", b"1", b"2", b"3", b"\r\n", b"G", b"E", b"T", b" ", b"/")
LINE_ENDINGS = (b"\n", b"\r", b"\r\r\n", b"\n\r", b"\r\n\r\n", b" \r\n", b"\r\n ", b"\r\n\t", b"")
SEPARATORS = (b":", b" : ", b":\t", b"\t:", b":  ", b"::", b": \x0b", b" ")
VERSIONS = (b"HTTP/1.0", b"HTTP/1.2", b"http/1.1", b"HTTP/2.0", b"HTTP/1.1 ", b"HTTP/11", b"")
TRANSFER_CODINGS = (
    b"chunked",
    b" chunked",
    b"Chunked",
    b"chunked, chunked",
    b"identity, chunked",
    b"chunked, identity",
    b"gzip, chunked",
    b"chunked\x0b",
    b'"chunked"',
    b"xchunked",
)
#: fields the generator never adds on its own (framing is chosen by ``framing``)
_FRAMING = {b"host", b"content-length", b"transfer-encoding", b"connection", b"expect", b"upgrade", b"te"}


@dataclass(frozen=True)
class Vocabulary:
    """Methods and field lines to build requests from."""

    methods: tuple[bytes, ...]
    fields: tuple[tuple[bytes, bytes], ...]


DEFAULT_VOCABULARY = Vocabulary(
    methods=(b"GET", b"POST", b"PUT"),
    fields=((b"Accept", b"*/*"), (b"User-Agent", b"conformance-fuzz"), (b"X-Test", b"1")),
)


@cache
def suite_vocabulary(cases_dir: Path | None = None) -> Vocabulary:
    """The field lines the h1 suite's requests carry (those that do not frame the message:
    framing is the mutations' business), read from the raw request texts of its case files."""
    if cases_dir is None:
        from conformance.scenario import bundled_cases_dir

        cases_dir = bundled_cases_dir() / "h1"
    found: dict[bytes, bytes] = {}
    line = re.compile(r"\\r\\n([A-Za-z][A-Za-z0-9-]{1,30}): ([\x21-\x7e][\x20-\x7e]{0,40}?)\\r\\n")
    for path in sorted(cases_dir.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in line.finditer(text):
            name, value = match.group(1).encode(), match.group(2).encode()
            if name.lower() in _FRAMING or b"{" in value or b"\\" in value:
                continue
            found.setdefault(name, value)
    fields = tuple(sorted(found.items()))[:200] or DEFAULT_VOCABULARY.fields
    return Vocabulary(methods=DEFAULT_VOCABULARY.methods, fields=fields)


def _alpha(data: bytes, alphabet: bytes) -> bytes:
    return bytes(alphabet[byte % len(alphabet)] for byte in data)


def _content(data: bytes) -> bytes:
    return b"".join(BODY_PIECES[byte % len(BODY_PIECES)] for byte in data)


def _pick(options: Sequence[T], number: int) -> T:
    return options[number % len(options)]


# Each mutation is one fixed-size record of bytes, and the base request one more: Hypothesis
# generates and shrinks flat binary many times faster than nested ``one_of``/``builds``, and
# shrinking still goes the right way: fewer records (mutations), smaller bytes (the first
# kind, the first option, the shortest name).
RECORD = 8


def _name(vocabulary: Vocabulary, choice: int, size: int, data: bytes) -> bytes:
    if choice < 96:
        return _pick(vocabulary.fields, choice)[0]
    return _alpha(data[: 1 + size % 4], NAME_ALPHABET)


def decode_mutation(vocabulary: Vocabulary, record: bytes) -> Mutation:
    """The mutation a record of :data:`RECORD` bytes stands for."""
    kind, a, b, c = record[0] % MUTATION_CHOICES, record[1], record[2], record[3]
    data = record[4:]
    value = _alpha(data[: c % 5], VALUE_ALPHABET)
    odd = _pick(ODD_BYTES, b)
    small = (a % 5) - 2
    if kind <= 2:  # adding field lines is what most parser bugs answer to: three times as likely
        return model.InsertField(a, _name(vocabulary, b, c, data), value)
    if kind >= 17:  # and framing is where requests are smuggled: each framing kind twice as likely
        kind = (10, 11, 12, 13)[kind - 17]
    decoders: list[Callable[[], Mutation]] = [
        lambda: model.DuplicateField(a),
        lambda: model.DropField(a),
        lambda: model.NameByte(a, c, odd),
        lambda: model.ValueByte(a, c, odd),
        lambda: model.Separator(a, _pick(SEPARATORS, b)),
        lambda: model.LineEnding(a, _pick(LINE_ENDINGS, b)),
        lambda: model.RequestLine(_pick(("method", "target", "version"), a), c, odd, _pick(VERSIONS, b)),
        lambda: (
            model.ContentLength(small)
            if c % 2 == 0
            else model.ContentLengthForm(
                _pick(("leading-zeros", "plus", "list", "trailing-space", "leading-space"), b)
            )
        ),
        lambda: model.TransferEncoding(_pick(TRANSFER_CODINGS, b)),
        lambda: model.ChunkSize(a, small, _pick(("plain", "leading-zeros", "upper", "space", "prefix"), b)),
        lambda: model.ChunkExtension(
            a,
            b";" + _alpha(data[: 1 + c % 3], b"za") + _pick((b"", b"=1", b'="a b"', b"=", b" ", b"\x00"), b),
        ),
        lambda: model.ChunkLineEnding(a, _pick(("size", "data"), b), _pick(LINE_ENDINGS, c)),
        lambda: model.Trailer(_name(vocabulary, b, c, data), value),
        lambda: model.BodyBytes(_content(data[: 1 + c % 4]), small),
    ]
    return decoders[kind - 3]()


MUTATION_CHOICES = 3 + 14 + 4  # InsertField three times, one each, then the framing kinds again


def mutations(vocabulary: Vocabulary) -> st.SearchStrategy[Mutation]:
    return st.binary(min_size=RECORD, max_size=RECORD).map(lambda record: decode_mutation(vocabulary, record))


def decode_base(target: Template, vocabulary: Vocabulary, framing: str, record: bytes) -> BaseRequest:
    """The valid request a framing and a record of 24 bytes stand for."""
    fields = tuple(_pick(vocabulary.fields, number) for number in record[4 : 4 + record[3] % 4])
    body = _content(record[8 : 8 + 1 + record[7] % 16]) if framing != "none" else b""
    return BaseRequest(
        method=_pick(vocabulary.methods, record[1]) if framing == "none" else b"POST",
        target=target,
        query=_pick((b"", b"?a=1", b"?x"), record[2]),
        fields=fields,
        body=body,
        framing=framing,  # type: ignore[arg-type]
        chunk_sizes=tuple(1 + size % 8 for size in record[20 : 20 + record[19] % 4])
        if framing == "chunked"
        else (),
    )


def base_requests(target: Template, vocabulary: Vocabulary) -> st.SearchStrategy[BaseRequest]:
    """Valid requests: a method, the target (a query sometimes), a few fields, a framed body.
    The framing is a draw of its own: Hypothesis favours zero bytes, and the three framings
    should come up about as often."""
    return st.tuples(st.sampled_from(("none", "length", "chunked")), st.binary(min_size=24, max_size=24)).map(
        lambda drawn: decode_base(target, vocabulary, *drawn)
    )


def fuzz_inputs(
    target: Template = "path", vocabulary: Vocabulary = DEFAULT_VOCABULARY, *, max_mutations: int = 6
) -> st.SearchStrategy[FuzzInput]:
    return st.builds(
        FuzzInput,
        base=base_requests(target, vocabulary),
        mutations=st.lists(mutations(vocabulary), max_size=max_mutations).map(tuple),
        splits=st.lists(st.integers(0, 10_000), max_size=3).map(tuple),
    )
