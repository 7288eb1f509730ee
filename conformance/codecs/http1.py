"""HTTP/1.1 on the wire, without I/O.

Three parts, one per direction of trust:

- :func:`encode_request` writes a request exactly as it is told, valid or not (encoders may lie);
- :class:`RequestTracker` follows the bytes the harness sends, only to learn which responses
  answer a HEAD request;
- :class:`ResponseParser` decodes what the target sends into :class:`Response` and
  :class:`Garbage` events. It accepts any bytes in any pieces, never raises, keeps its memory
  bounded, and reports every departure from RFC 9112 / RFC 9110 it sees as a
  :class:`~conformance.codecs.common.Violation` (decoders tell the truth).
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum, auto
from typing import Any, Literal

from conformance.codecs.common import Violation, printable

__all__ = [
    "Garbage",
    "RequestTracker",
    "Response",
    "ResponseParser",
    "ViolationCode",
    "encode_request",
]

RFC9110 = "https://www.rfc-editor.org/rfc/rfc9110"
RFC9112 = "https://www.rfc-editor.org/rfc/rfc9112"

CR = 0x0D
LF = 0x0A

# At most this many bytes of unreadable data are kept in a Garbage event.
GARBAGE_SAMPLE = 1024
# At most this many bytes of the body are shown in Response.detail().
DETAIL_BODY = 1024
# A chunk-size line (with its extensions) longer than this is not worth waiting for.
CHUNK_LINE_CAP = 4096
# Content-Length values with more digits than this cannot describe a real body (and int()
# refuses decimal strings above 4300 digits).
CONTENT_LENGTH_DIGITS = 19

# https://www.rfc-editor.org/rfc/rfc9110#section-5.6.2
#   token = 1*tchar
#   tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
#           / DIGIT / ALPHA
_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_TOKEN_RE = re.compile(_TOKEN)
# https://www.rfc-editor.org/rfc/rfc9110#section-5.6.4
#   quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
_QUOTED_STRING = rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
# https://www.rfc-editor.org/rfc/rfc9112#section-2.3
#   HTTP-version = HTTP-name "/" DIGIT "." DIGIT
_VERSION_RE = re.compile(rb"HTTP/[0-9]\.[0-9]")
# https://www.rfc-editor.org/rfc/rfc9110#section-5.5
#   field-vchar = VCHAR / obs-text: no CTL other than HTAB (and no DEL).
_CTL_RE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_DIGITS_RE = re.compile(rb"[0-9]+")
_HEXDIG_RE = re.compile(rb"[0-9A-Fa-f]+")
# https://www.rfc-editor.org/rfc/rfc9112#section-7.1.1
#   chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
_CHUNK_EXT_RE = re.compile(
    rb"(?:[ \t]*;[ \t]*" + _TOKEN + rb"(?:[ \t]*=[ \t]*(?:" + _TOKEN + rb"|" + _QUOTED_STRING + rb"))?)*"
)
# https://www.rfc-editor.org/rfc/rfc9112#section-4
#   status-line = HTTP-version SP status-code SP [ reason-phrase ]
# Read tolerantly: any run of SP/HTAB separates, so that a wrong separator is a finding,
# not an unreadable response.
_STATUS_LINE_RE = re.compile(rb"([^ \t]*)([ \t]*)([^ \t]*)([ \t]?)(.*)", re.DOTALL)

# https://www.rfc-editor.org/rfc/rfc9110#section-7.8 (and the IANA registry it points to):
# the transfer codings a recipient can be expected to know.
KNOWN_TRANSFER_CODINGS = frozenset(
    {"chunked", "gzip", "x-gzip", "deflate", "compress", "x-compress", "identity"}
)
# https://www.rfc-editor.org/rfc/rfc9110#section-6.5.1: fields a sender MUST NOT put in a
# trailer section because they are needed to frame or route the message.
FORBIDDEN_TRAILERS = frozenset({"content-length", "transfer-encoding", "host", "trailer", "content-encoding"})


class ViolationCode(StrEnum):
    """The stable codes of the findings this codec reports, with the section each rule is in."""

    # Status line, https://www.rfc-editor.org/rfc/rfc9112#section-4
    INVALID_STATUS_LINE = "invalid-status-line"
    INVALID_VERSION = "invalid-version"
    INVALID_STATUS_CODE = "invalid-status-code"
    INVALID_REASON_PHRASE = "invalid-reason-phrase"
    BARE_LINE_BEFORE_STATUS = "bare-line-before-status"
    # Line endings, https://www.rfc-editor.org/rfc/rfc9112#section-2.2
    BARE_LF = "bare-lf"
    BARE_CR = "bare-cr"
    # Field lines, https://www.rfc-editor.org/rfc/rfc9112#section-5
    INVALID_FIELD_NAME = "invalid-field-name"
    WHITESPACE_BEFORE_COLON = "whitespace-before-colon"
    MISSING_COLON = "missing-colon"
    OBS_FOLD = "obs-fold"
    INVALID_FIELD_VALUE = "invalid-field-value"
    # Framing, https://www.rfc-editor.org/rfc/rfc9112#section-6
    CL_AND_TE = "cl-and-te"
    INVALID_CONTENT_LENGTH = "invalid-content-length"
    DUPLICATE_CONTENT_LENGTH = "duplicate-content-length"
    CONTENT_LENGTH_FORBIDDEN = "content-length-forbidden"
    TRANSFER_ENCODING_FORBIDDEN = "transfer-encoding-forbidden"
    TRANSFER_ENCODING_IN_HTTP10 = "transfer-encoding-in-http10"
    UNKNOWN_TRANSFER_CODING = "unknown-transfer-coding"
    # Chunked coding, https://www.rfc-editor.org/rfc/rfc9112#section-7.1
    INVALID_CHUNK_SIZE = "invalid-chunk-size"
    INVALID_CHUNK_EXTENSION = "invalid-chunk-extension"
    MISSING_CHUNK_CRLF = "missing-chunk-crlf"
    INVALID_TRAILER = "invalid-trailer"
    # The connection as a whole
    INCOMPLETE_MESSAGE = "incomplete-message"
    HEAD_TOO_LARGE = "head-too-large"
    UNEXPECTED_DATA = "unexpected-data"
    BODY_AFTER_HEAD_RESPONSE = "body-after-head-response"
    BODY_AFTER_NO_CONTENT_RESPONSE = "body-after-no-content-response"


def _violation(code: ViolationCode, message: str) -> Violation:
    return Violation(code=code.value, message=message)


def _text(data: bytes | bytearray) -> str:
    return bytes(data).decode("latin-1")


# --------------------------------------------------------------------------------------------
# Encoding


def encode_request(
    *,
    method: bytes = b"GET",
    target: bytes = b"/",
    version: bytes = b"HTTP/1.1",
    headers: Sequence[tuple[bytes, bytes]] = (),
    body: bytes = b"",
    content_length: Literal["auto"] | int | None = "auto",
) -> bytes:
    """A request exactly as told: nothing is checked, so any part can be made invalid.

    ``content_length``: ``"auto"`` adds ``Content-Length: len(body)`` when the body is not
    empty and ``headers`` has neither Content-Length nor Transfer-Encoding; an ``int`` adds
    that value whatever the body; ``None`` adds nothing. An empty ``version`` writes a
    request line without one (``GET /``), as HTTP/0.9 did.
    """
    # https://www.rfc-editor.org/rfc/rfc9112#section-3
    #   request-line = method SP request-target SP HTTP-version
    parts = [method, target] + ([version] if version else [])
    lines = [b" ".join(parts)]
    lines.extend(name + b": " + value for name, value in headers)
    if content_length == "auto":
        framed = {name.strip().lower() for name, _ in headers} & {b"content-length", b"transfer-encoding"}
        if body and not framed:
            lines.append(b"Content-Length: " + str(len(body)).encode("ascii"))
    elif content_length is not None:
        lines.append(b"Content-Length: " + str(content_length).encode("ascii"))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


# --------------------------------------------------------------------------------------------
# Shared scanning


class _BlockScanner:
    """Finds, incrementally, the end of a block of lines closed by an empty line: a message
    head or a trailer section. Lines end with LF, with or without a CR before it."""

    def __init__(self) -> None:
        self.scanned = 0  # bytes of the block already searched for LF
        self.line_start = 0  # where the current (unfinished) line starts, in the block

    def find_end(self, buf: bytearray, start: int, cap: int) -> int | None:
        """The index just past the empty line that ends the block starting at ``start``, when
        it is within ``cap`` bytes of it; None otherwise (the caller decides about the cap)."""
        limit = start + cap
        scan = start + self.scanned
        line_start = start + self.line_start
        while True:
            newline = buf.find(b"\n", scan, limit)
            if newline < 0:
                break
            if newline == line_start or (newline == line_start + 1 and buf[line_start] == CR):
                return newline + 1
            line_start = scan = newline + 1
        self.scanned = min(len(buf), limit) - start
        self.line_start = line_start - start
        return None

    @property
    def first_line_done(self) -> bool:
        return self.line_start > 0


class _Findings:
    """The violations of one message, each code once (the first occurrence explains it)."""

    def __init__(self) -> None:
        self._items: dict[str, Violation] = {}

    def add(self, code: ViolationCode, message: str) -> None:
        if code.value not in self._items:
            self._items[code.value] = _violation(code, message)

    def freeze(self) -> tuple[Violation, ...]:
        return tuple(self._items.values())


def _split_lines(block: bytes, findings: _Findings, *, what: str) -> tuple[list[bytes], bytes]:
    """The LF-terminated lines of ``block`` without their line ending, and what follows the
    last LF. A line that does not end with CRLF, or holds a CR elsewhere, is a finding."""
    pieces = block.split(b"\n")
    lines: list[bytes] = []
    for piece in pieces[:-1]:
        if piece.endswith(b"\r"):
            piece = piece[:-1]
        else:
            # https://www.rfc-editor.org/rfc/rfc9112#section-2.2: "Although the line terminator
            # for the start-line and fields is the sequence CRLF, a recipient MAY recognize a
            # single LF as a line terminator" -- a sender still MUST send CRLF.
            findings.add(
                ViolationCode.BARE_LF,
                f"a line of the {what} ends with LF alone instead of CRLF "
                f"(RFC 9112 §2.2, {RFC9112}#section-2.2).",
            )
        if b"\r" in piece:
            # https://www.rfc-editor.org/rfc/rfc9112#section-2.2: "A sender MUST NOT generate a
            # bare CR (a CR character not immediately followed by LF) within any protocol
            # elements other than the content."
            findings.add(
                ViolationCode.BARE_CR,
                f"the {what} contains a CR not followed by LF (RFC 9112 §2.2, {RFC9112}#section-2.2).",
            )
        lines.append(piece)
    return lines, pieces[-1]


def _parse_field_lines(
    lines: Sequence[bytes], findings: _Findings, *, trailer: bool = False
) -> list[tuple[str, str]]:
    """Field lines as (name, value) text pairs, names as sent and values without OWS.

    Lines that cannot be read as a field (no colon) are left out; obs-fold continuations are
    joined to the field before them with a space, as RFC 9112 §5.2 lets a recipient do.
    """
    fields: list[tuple[str, str]] = []
    where = "trailer section" if trailer else "header section"

    def bad(code: ViolationCode, message: str) -> None:
        if trailer:
            findings.add(
                ViolationCode.INVALID_TRAILER, message if where in message else f"in the {where}, {message}"
            )
        else:
            findings.add(code, message)

    for line in lines:
        if line[:1] in (b" ", b"\t"):
            # https://www.rfc-editor.org/rfc/rfc9112#section-5.2: "A server MUST NOT send a
            # response containing obs-fold" (and whitespace before the first field line is
            # no better, https://www.rfc-editor.org/rfc/rfc9112#section-2.2).
            bad(
                ViolationCode.OBS_FOLD,
                f"a field line of the {where} starts with whitespace (obs-fold), which a server "
                f"MUST NOT send (RFC 9112 §5.2, {RFC9112}#section-5.2).",
            )
            continuation = line.strip(b" \t")
            if fields:
                previous_name, previous_value = fields[-1]
                joined = f"{previous_value} {_text(continuation)}" if previous_value else _text(continuation)
                fields[-1] = (previous_name, joined)
            _check_field_value(continuation, bad)
            continue
        name, colon, value = line.partition(b":")
        if not colon:
            # https://www.rfc-editor.org/rfc/rfc9112#section-5: field-line = field-name ":" OWS
            # field-value OWS
            bad(
                ViolationCode.MISSING_COLON,
                f'a line of the {where} has no colon: "{printable(line, 40)}" '
                f"(RFC 9112 §5, {RFC9112}#section-5).",
            )
            continue
        stripped_name = name.rstrip(b" \t")
        if stripped_name != name and stripped_name:
            # https://www.rfc-editor.org/rfc/rfc9112#section-5.1: "No whitespace is allowed
            # between the field name and colon."
            bad(
                ViolationCode.WHITESPACE_BEFORE_COLON,
                f'the field name "{printable(stripped_name, 40)}" is followed by whitespace before '
                f"its colon (RFC 9112 §5.1, {RFC9112}#section-5.1).",
            )
        elif not _TOKEN_RE.fullmatch(name):
            # https://www.rfc-editor.org/rfc/rfc9110#section-5.1: field-name = token
            bad(
                ViolationCode.INVALID_FIELD_NAME,
                f'the field name "{printable(name, 40)}" is not a token '
                f"(RFC 9110 §5.1, {RFC9110}#section-5.1).",
            )
        value = value.strip(b" \t")
        _check_field_value(value, bad)
        fields.append((_text(name), _text(value)))
    return fields


def _check_field_value(value: bytes, bad: Callable[[ViolationCode, str], None]) -> None:
    match = _CTL_RE.search(value)
    if match:
        # https://www.rfc-editor.org/rfc/rfc9110#section-5.5: "Field values containing CR, LF,
        # or NUL characters are invalid and dangerous"; field-vchar allows no other CTL.
        bad(
            ViolationCode.INVALID_FIELD_VALUE,
            f"a field value contains the control character {match.group()!r} "
            f"(RFC 9110 §5.5, {RFC9110}#section-5.5).",
        )


def _fields_named(fields: Sequence[tuple[str, str]], name: str) -> list[str]:
    """Values of the fields called ``name`` (case-insensitively; whitespace a proxy would remove
    before the colon does not hide a field, RFC 9112 §5.1)."""
    return [value for field_name, value in fields if field_name.rstrip(" \t").lower() == name]


def _list_elements(values: Sequence[str]) -> list[str]:
    # https://www.rfc-editor.org/rfc/rfc9110#section-5.6.1: a recipient MUST accept empty
    # list elements and ignore them.
    return [element.strip(" \t") for value in values for element in value.split(",") if element.strip(" \t")]


# --------------------------------------------------------------------------------------------
# Requests the harness sent


class _Tracking(Enum):
    START = auto()
    HEAD = auto()
    LENGTH = auto()
    CHUNK_SIZE = auto()
    CHUNK_DATA = auto()
    CHUNK_CRLF = auto()
    TRAILERS = auto()
    LOST = auto()


class RequestTracker:
    """Follows the requests the harness writes on one connection, as a server would frame them.

    :meth:`feed` takes every byte sent, in any pieces, and returns the methods of the requests
    whose request line completed in that piece. When the bytes cannot be framed (garbage,
    conflicting lengths, a head over ``head_cap``), it stops reporting for the rest of the
    connection: the response parser then assumes GET, which only matters for HEAD.
    Bodies are skipped by counting, never stored.
    """

    def __init__(self, *, head_cap: int = 65536) -> None:
        self._head_cap = head_cap
        self._buf = bytearray()
        self._pos = 0
        self._state = _Tracking.START
        self._scanner = _BlockScanner()
        self._reported = False
        self._remaining = 0

    @property
    def lost(self) -> bool:
        """True once the requests could not be framed any more."""
        return self._state is _Tracking.LOST

    def feed(self, data: bytes) -> list[str]:
        if self._state is _Tracking.LOST:
            return []
        self._buf += data
        methods: list[str] = []
        while self._step(methods):
            pass
        if self.lost:
            self._buf = bytearray()
        else:
            del self._buf[: self._pos]
        self._pos = 0
        return methods

    def _lose(self) -> bool:
        self._state = _Tracking.LOST
        return False

    def _step(self, methods: list[str]) -> bool:
        state = self._state
        buf = self._buf
        available = len(buf) - self._pos
        if state is _Tracking.START:
            # https://www.rfc-editor.org/rfc/rfc9112#section-2.2: a server SHOULD ignore at
            # least one empty line received before the request-line.
            while self._pos < len(buf) and buf[self._pos] in (CR, LF):
                self._pos += 1
            if self._pos == len(buf):
                return False
            self._state = _Tracking.HEAD
            self._scanner = _BlockScanner()
            self._reported = False
            return True
        if state is _Tracking.HEAD:
            return self._head(methods)
        if state is _Tracking.LENGTH or state is _Tracking.CHUNK_DATA:
            take = min(self._remaining, available)
            self._pos += take
            self._remaining -= take
            if self._remaining:
                return False
            self._state = _Tracking.START if state is _Tracking.LENGTH else _Tracking.CHUNK_CRLF
            return True
        if state is _Tracking.CHUNK_SIZE:
            newline = buf.find(b"\n", self._pos, self._pos + CHUNK_LINE_CAP)
            if newline < 0:
                return self._lose() if available >= CHUNK_LINE_CAP else False
            line = bytes(buf[self._pos : newline]).rstrip(b"\r")
            size = line.split(b";", 1)[0].strip(b" \t")
            self._pos = newline + 1
            if not _HEXDIG_RE.fullmatch(size):
                return self._lose()
            self._remaining = int(size, 16)
            if self._remaining == 0:
                self._state = _Tracking.TRAILERS
                self._scanner = _BlockScanner()
            else:
                self._state = _Tracking.CHUNK_DATA
            return True
        if state is _Tracking.CHUNK_CRLF:
            if available < 1 or (buf[self._pos] == CR and available < 2):
                return False
            if buf[self._pos] == LF:
                self._pos += 1
            elif buf[self._pos : self._pos + 2] == b"\r\n":
                self._pos += 2
            else:
                return self._lose()
            self._state = _Tracking.CHUNK_SIZE
            return True
        if state is _Tracking.TRAILERS:
            end = self._scanner.find_end(buf, self._pos, self._head_cap)
            if end is None:
                return self._lose() if available >= self._head_cap else False
            self._pos = end
            self._state = _Tracking.START
            return True
        return False

    def _head(self, methods: list[str]) -> bool:
        buf = self._buf
        start = self._pos
        end = self._scanner.find_end(buf, start, self._head_cap)
        if not self._reported and (end is not None or self._scanner.first_line_done):
            request_line = bytes(buf[start : buf.find(b"\n", start)])
            # https://www.rfc-editor.org/rfc/rfc9112#section-3: request-line = method SP
            # request-target SP HTTP-version, method = token
            method, space, _ = request_line.partition(b" ")
            if not space or not _TOKEN_RE.fullmatch(method):
                return self._lose()
            methods.append(_text(method))
            self._reported = True
        if end is None:
            return self._lose() if len(buf) - start >= self._head_cap else False
        findings = _Findings()
        lines, _ = _split_lines(bytes(buf[start:end]), findings, what="head")
        fields = _parse_field_lines(lines[1:-1], findings)
        self._pos = end
        lengths = _fields_named(fields, "content-length")
        encodings = _fields_named(fields, "transfer-encoding")
        if encodings:
            # https://www.rfc-editor.org/rfc/rfc9112#section-6.3 (rules 3 and 4): with both
            # fields, or a final coding other than chunked, a server cannot frame the request.
            codings = [element.split(";")[0].strip(" \t").lower() for element in _list_elements(encodings)]
            if lengths or not codings or codings[-1] != "chunked":
                return self._lose()
            self._state = _Tracking.CHUNK_SIZE
            return True
        if lengths:
            values = set(_list_elements(lengths))
            if len(values) != 1:
                return self._lose()
            value = values.pop().encode("latin-1")
            if not _DIGITS_RE.fullmatch(value) or len(value) > CONTENT_LENGTH_DIGITS:
                return self._lose()
            self._remaining = int(value)
            self._state = _Tracking.LENGTH if self._remaining else _Tracking.START
            return True
        self._state = _Tracking.START
        return True


# --------------------------------------------------------------------------------------------
# Events


@dataclass(frozen=True, kw_only=True)
class Response:
    """One HTTP/1.1 response as the target sent it, with what was wrong with it."""

    version: str
    status: int | None
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    body_length: int
    body_sha256: str
    framing: str  # "content-length" | "chunked" | "close" | "none"
    trailers: tuple[tuple[str, str], ...] = ()
    violations: tuple[Violation, ...] = ()
    complete: bool = True
    request_method: str = "GET"

    def header_values(self, name: str) -> list[str]:
        """The values of every field line called ``name`` (case-insensitively), in order."""
        wanted = name.lower()
        return [value for field_name, value in self.headers if field_name.lower() == wanted]

    def header(self, name: str) -> str | None:
        """The combined value of the field ``name``: several lines joined with ", "
        (https://www.rfc-editor.org/rfc/rfc9110#section-5.3); None when absent."""
        values = self.header_values(name)
        return ", ".join(values) if values else None

    @property
    def is_interim(self) -> bool:
        """A 1xx response other than 101: the final response is still to come."""
        return self.status is not None and 100 <= self.status < 200 and self.status != 101

    def describe(self) -> str:
        status = str(self.status) if self.status is not None else "(unreadable status)"
        line = " ".join(part for part in (self.version, status, self.reason) if part)
        if self.is_interim:
            notes = ["interim"]
        else:
            notes = []
            if self.request_method == "HEAD":
                notes.append("response to HEAD")
            length = self.header("Content-Length")
            if self.framing == "content-length" or (self.framing == "none" and length is not None):
                notes.append(f"Content-Length: {length}")
            elif self.framing == "chunked":
                notes.append("chunked")
            elif self.framing == "close":
                notes.append("until close")
            if self.framing == "none":
                notes.append("no body")
            else:
                notes.append(f"body {self.body_length} bytes")
        if not self.complete:
            notes.append("incomplete")
        text = f"{line} ({', '.join(notes)})"
        if self.violations:
            text += " [violations: " + ", ".join(violation.code for violation in self.violations) + "]"
        return text

    def detail(self) -> dict[str, Any]:
        return {
            "type": "response",
            "version": self.version,
            "status": self.status,
            "reason": self.reason,
            "headers": [[name, value] for name, value in self.headers],
            "body_length": self.body_length,
            "body": self.body[:DETAIL_BODY].decode("latin-1"),
            "body_sha256": self.body_sha256,
            "framing": self.framing,
            "trailers": [[name, value] for name, value in self.trailers],
            "violations": [{"code": v.code, "message": v.message} for v in self.violations],
            "complete": self.complete,
            "request_method": self.request_method,
        }


_GARBAGE_LEADS = {
    ViolationCode.UNEXPECTED_DATA.value: "bytes that are not an HTTP/1.1 response",
    ViolationCode.BODY_AFTER_HEAD_RESPONSE.value: "bytes after a response to HEAD, which has no body",
    ViolationCode.BODY_AFTER_NO_CONTENT_RESPONSE.value: (
        "bytes after a 204 or 304 response, which has no body"
    ),
}


@dataclass(frozen=True, kw_only=True)
class Garbage:
    """Bytes where a response had to start that cannot be one. Reported once per connection;
    the parser reads nothing more after it. ``data`` holds the first bytes (at most 1024) and
    ``size`` the bytes at hand when it was found."""

    data: bytes
    size: int
    violation: Violation

    def describe(self) -> str:
        lead = _GARBAGE_LEADS.get(self.violation.code, _GARBAGE_LEADS[ViolationCode.UNEXPECTED_DATA.value])
        return f'{lead}: "{printable(self.data, 60)}" ({self.size} bytes)'

    def detail(self) -> dict[str, Any]:
        return {
            "type": "garbage",
            "data": self.data.decode("latin-1"),
            "size": self.size,
            "violation": {"code": self.violation.code, "message": self.violation.message},
        }


# --------------------------------------------------------------------------------------------
# Responses the target sent


class _Reading(Enum):
    START = auto()  # where a status line must begin
    HEAD = auto()
    BODY_LENGTH = auto()
    BODY_CLOSE = auto()
    CHUNK_SIZE = auto()
    CHUNK_DATA = auto()
    CHUNK_CRLF = auto()
    TRAILERS = auto()
    DONE = auto()  # garbage, upgrade, an unframeable message or EOF: read nothing more


class _After(Enum):
    """What the previous response allows to follow it, for naming unexpected bytes."""

    ANYTHING = auto()
    HEAD_RESPONSE = auto()
    NO_CONTENT = auto()


@dataclass(kw_only=True)
class _Message:
    """The response being read (mutable while its body arrives)."""

    version: str
    status: int | None
    reason: str
    headers: list[tuple[str, str]]
    findings: _Findings
    request_method: str
    framing: str = "none"
    body: bytearray = field(default_factory=bytearray)
    body_length: int = 0
    hasher: Any = field(default_factory=hashlib.sha256)
    trailers: list[tuple[str, str]] = field(default_factory=list)

    def add_body(self, data: bytes | bytearray, cap: int) -> None:
        room = cap - len(self.body)
        if room > 0:
            self.body += data[:room]
        self.body_length += len(data)
        self.hasher.update(data)

    def freeze(self, *, complete: bool = True) -> Response:
        return Response(
            version=self.version,
            status=self.status,
            reason=self.reason,
            headers=tuple(self.headers),
            body=bytes(self.body),
            body_length=self.body_length,
            body_sha256=self.hasher.hexdigest(),
            framing=self.framing,
            trailers=tuple(self.trailers),
            violations=self.findings.freeze(),
            complete=complete,
            request_method=self.request_method,
        )


def _parse_status_line(line: bytes, findings: _Findings) -> tuple[str, int | None, str]:
    """(version, status, reason) of a status line, read tolerantly; what is wrong is recorded."""
    match = _STATUS_LINE_RE.fullmatch(line)
    assert match is not None  # the pattern matches every string
    version, gap, code, space, reason = match.groups()
    section = f"(RFC 9112 §4, {RFC9112}#section-4)"
    if gap != b" " or space != b" ":
        # https://www.rfc-editor.org/rfc/rfc9112#section-4:
        #   status-line = HTTP-version SP status-code SP [ reason-phrase ]
        findings.add(
            ViolationCode.INVALID_STATUS_LINE,
            f'the status line "{printable(line, 60)}" is not HTTP-version SP status-code SP '
            f"[reason-phrase] {section}.",
        )
    if not _VERSION_RE.fullmatch(version):
        # https://www.rfc-editor.org/rfc/rfc9112#section-2.3: HTTP-version = HTTP-name "/"
        # DIGIT "." DIGIT
        findings.add(
            ViolationCode.INVALID_VERSION,
            f'the HTTP-version "{printable(version, 40)}" is not HTTP/DIGIT.DIGIT '
            f"(RFC 9112 §2.3, {RFC9112}#section-2.3).",
        )
    status: int | None = None
    if len(code) == 3 and code.isdigit():
        status = int(code)
    if status is None or not 100 <= status <= 599:
        # https://www.rfc-editor.org/rfc/rfc9110#section-15: "All valid status codes are within
        # the range of 100 to 599, inclusive." status-code = 3DIGIT
        findings.add(
            ViolationCode.INVALID_STATUS_CODE,
            f'the status code "{printable(code, 40)}" is not three digits from 100 to 599 '
            f"(RFC 9110 §15, {RFC9110}#section-15).",
        )
    bad = _CTL_RE.search(reason)
    if bad:
        # https://www.rfc-editor.org/rfc/rfc9112#section-4:
        #   reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )
        findings.add(
            ViolationCode.INVALID_REASON_PHRASE,
            f"the reason phrase contains the control character {bad.group()!r} {section}.",
        )
    return _text(version), status, _text(reason)


def _status_line_guess(line: bytes) -> tuple[str, int | None, str]:
    """The parts of a status line cut short by the end of the connection, without judging."""
    return _parse_status_line(line, _Findings())


class ResponseParser:
    """Reads the responses on one HTTP/1.1 connection, incrementally and tolerantly.

    :meth:`expect_response_to` queues the method of each request sent (the parser assumes GET
    when the queue is empty): responses to HEAD have no body. Whatever the bytes and however
    they are split, :meth:`feed` and :meth:`feed_eof` never raise, return the same events
    (a :class:`Garbage` event's sample and size excepted), and keep at most ``head_cap`` bytes
    of a head and ``body_cap`` bytes of a body.
    """

    def __init__(self, *, body_cap: int = 65536, head_cap: int = 65536) -> None:
        self._body_cap = max(0, body_cap)
        self._head_cap = max(1, head_cap)
        self._methods: deque[str] = deque()
        self._buf = bytearray()
        self._pos = 0
        self._state = _Reading.START
        self._after = _After.ANYTHING
        self._blank = 0  # CR and LF bytes skipped where a status line must begin
        self._blank_sample = b""
        self._scanner = _BlockScanner()
        self._message: _Message | None = None
        self._remaining = 0

    @property
    def done(self) -> bool:
        """True once nothing more will be read: after garbage, a 101, an unframeable message or EOF."""
        return self._state is _Reading.DONE

    def expect_response_to(self, method: str) -> None:
        """Queue the method of a request sent on this connection, in order."""
        self._methods.append(method)

    def feed(self, data: bytes) -> list[Response | Garbage]:
        if self._state is _Reading.DONE:
            return []
        self._buf += data
        events: list[Response | Garbage] = []
        while self._step(events):
            pass
        if self.done:
            self._buf = bytearray()
        else:
            del self._buf[: self._pos]
        self._pos = 0
        return events

    def feed_eof(self) -> list[Response | Garbage]:
        """The target closed the connection: finish (or cut short) what was being read."""
        events: list[Response | Garbage] = []
        state = self._state
        message = self._message
        if state is _Reading.START:
            if self._pos < len(self._buf):
                # A few bytes of "HTTP/" and nothing more.
                events.append(self._partial_head())
            elif self._blank:
                events.append(self._garbage(b""))
        elif state is _Reading.HEAD:
            events.append(self._partial_head())
        elif state is _Reading.BODY_CLOSE and message is not None:
            # https://www.rfc-editor.org/rfc/rfc9112#section-6.3 (rule 8): the message body
            # length is determined by the number of octets received prior to the close.
            events.append(message.freeze())
        elif state is not _Reading.DONE and message is not None:
            message.findings.add(
                ViolationCode.INCOMPLETE_MESSAGE,
                f"the connection closed before the end of the {message.framing} body "
                f"(RFC 9112 §8, {RFC9112}#section-8).",
            )
            events.append(message.freeze(complete=False))
        self._finish()
        return events

    # -- the state machine ---------------------------------------------------------------

    def _finish(self) -> bool:
        self._state = _Reading.DONE
        self._message = None
        return False

    def _step(self, events: list[Response | Garbage]) -> bool:
        state = self._state
        if state is _Reading.START:
            return self._start(events)
        if state is _Reading.HEAD:
            return self._head(events)
        if state is _Reading.BODY_LENGTH or state is _Reading.CHUNK_DATA:
            return self._body_bytes(events)
        if state is _Reading.BODY_CLOSE:
            assert self._message is not None
            self._message.add_body(self._buf[self._pos :], self._body_cap)
            self._pos = len(self._buf)
            return False
        if state is _Reading.CHUNK_SIZE:
            return self._chunk_size(events)
        if state is _Reading.CHUNK_CRLF:
            return self._chunk_crlf()
        if state is _Reading.TRAILERS:
            return self._trailers(events)
        return False

    def _start(self, events: list[Response | Garbage]) -> bool:
        buf = self._buf
        begin = self._pos
        while self._pos < len(buf) and buf[self._pos] in (CR, LF):
            self._pos += 1
        if self._pos > begin:
            self._blank += self._pos - begin
            if len(self._blank_sample) < GARBAGE_SAMPLE:
                self._blank_sample = (self._blank_sample + bytes(buf[begin : self._pos]))[:GARBAGE_SAMPLE]
        prefix = bytes(buf[self._pos : self._pos + 5])
        if not prefix:
            return False
        if not b"HTTP/".startswith(prefix):
            events.append(self._garbage(bytes(buf[self._pos : self._pos + GARBAGE_SAMPLE])))
            return self._finish()
        if len(prefix) < 5:
            return False
        self._state = _Reading.HEAD
        self._scanner = _BlockScanner()
        return True

    def _garbage(self, rest: bytes) -> Garbage:
        size = self._blank + len(self._buf) - self._pos
        data = (self._blank_sample + rest)[:GARBAGE_SAMPLE]
        if self._after is _After.HEAD_RESPONSE:
            # https://www.rfc-editor.org/rfc/rfc9112#section-6.3 (rule 1): a response to HEAD
            # "is always terminated by the first empty line after the header fields".
            violation = _violation(
                ViolationCode.BODY_AFTER_HEAD_RESPONSE,
                "bytes follow a response to HEAD, which ends with its header section and cannot "
                f"have content (RFC 9112 §6.3, {RFC9112}#section-6.3).",
            )
        elif self._after is _After.NO_CONTENT:
            violation = _violation(
                ViolationCode.BODY_AFTER_NO_CONTENT_RESPONSE,
                "bytes follow a 204 or 304 response, which ends with its header section and cannot "
                f"have content (RFC 9112 §6.3, {RFC9112}#section-6.3).",
            )
        else:
            # https://www.rfc-editor.org/rfc/rfc9112#section-2.1: every message starts with a
            # start-line; a response's is the status line, which starts with HTTP-version.
            violation = _violation(
                ViolationCode.UNEXPECTED_DATA,
                "the target sent bytes that do not start with an HTTP-version where a status line "
                f"must begin (RFC 9112 §2.1, {RFC9112}#section-2.1).",
            )
        return Garbage(data=data, size=size, violation=violation)

    def _new_findings(self) -> _Findings:
        findings = _Findings()
        if self._blank:
            findings.add(
                ViolationCode.BARE_LINE_BEFORE_STATUS,
                f"{self._blank} CR/LF bytes came before the status line, where a message must start "
                f"with its start-line (RFC 9112 §2.1, {RFC9112}#section-2.1).",
            )
        self._blank = 0
        self._blank_sample = b""
        return findings

    def _next_method(self) -> str:
        return self._methods[0] if self._methods else "GET"

    def _head(self, events: list[Response | Garbage]) -> bool:
        buf = self._buf
        start = self._pos
        end = self._scanner.find_end(buf, start, self._head_cap)
        if end is None:
            if len(buf) - start >= self._head_cap:
                events.append(self._oversized_head())
                return self._finish()
            return False
        findings = self._new_findings()
        lines, _ = _split_lines(bytes(buf[start:end]), findings, what="head")
        self._pos = end
        version, status, reason = _parse_status_line(lines[0], findings)
        headers = _parse_field_lines(lines[1:-1], findings)
        message = _Message(
            version=version,
            status=status,
            reason=reason,
            headers=headers,
            findings=findings,
            request_method=self._next_method(),
        )
        return self._frame(message, events)

    def _oversized_head(self) -> Response:
        start = self._pos
        findings = self._new_findings()
        lines, _ = _split_lines(bytes(self._buf[start : start + self._head_cap]), findings, what="head")
        headers: list[tuple[str, str]] = []
        if lines:
            version, status, reason = _parse_status_line(lines[0], findings)
            headers = _parse_field_lines(lines[1:], findings)
        else:
            version, status, reason = _status_line_guess(bytes(self._buf[start : start + 1024]))
        findings.add(
            ViolationCode.HEAD_TOO_LARGE,
            f"the response head is larger than {self._head_cap} bytes, the most this harness reads "
            f"(RFC 9112 §2.3 leaves limits to the recipient, {RFC9112}#section-2.3).",
        )
        return self._unfinished(version, status, reason, headers, findings)

    def _unfinished(
        self,
        version: str,
        status: int | None,
        reason: str,
        headers: list[tuple[str, str]],
        findings: _Findings,
    ) -> Response:
        """A response whose head could not be read to its end."""
        message = _Message(
            version=version,
            status=status,
            reason=reason,
            headers=headers,
            findings=findings,
            request_method=self._next_method(),
        )
        return message.freeze(complete=False)

    def _partial_head(self) -> Response:
        """What can be read of a head cut short by the end of the connection."""
        findings = self._new_findings()
        lines, rest = _split_lines(bytes(self._buf[self._pos :]), findings, what="head")
        if lines:
            version, status, reason = _parse_status_line(lines[0], findings)
            headers = _parse_field_lines(lines[1:], findings)
        else:
            version, status, reason = _status_line_guess(rest)
            headers = []
        findings.add(
            ViolationCode.INCOMPLETE_MESSAGE,
            f"the connection closed before the end of the response head (RFC 9112 §8, {RFC9112}#section-8).",
        )
        return self._unfinished(version, status, reason, headers, findings)

    def _emit(self, message: _Message, events: list[Response | Garbage], *, after: _After) -> None:
        events.append(message.freeze())
        self._message = None
        self._after = after
        interim = message.status is not None and 100 <= message.status < 200 and message.status != 101
        if not interim and self._methods:
            # The final response answers the oldest request; interim ones precede it.
            self._methods.popleft()

    def _frame(self, message: _Message, events: list[Response | Garbage]) -> bool:
        """Decide how the body of ``message`` is delimited, and emit it when it has none."""
        findings = message.findings
        status = message.status
        lengths = _fields_named(message.headers, "content-length")
        encodings = _fields_named(message.headers, "transfer-encoding")
        informational = status is not None and 100 <= status < 200
        if lengths and (informational or status == 204):
            # https://www.rfc-editor.org/rfc/rfc9110#section-8.6: "A server MUST NOT send a
            # Content-Length header field in any response with a status code of 1xx
            # (Informational) or 204 (No Content)."
            findings.add(
                ViolationCode.CONTENT_LENGTH_FORBIDDEN,
                f"a {status} response has a Content-Length field, which a server MUST NOT send in a "
                f"1xx or 204 response (RFC 9110 §8.6, {RFC9110}#section-8.6).",
            )
        if encodings and (informational or status == 204):
            # https://www.rfc-editor.org/rfc/rfc9112#section-6.1: "A server MUST NOT send a
            # Transfer-Encoding header field in any response with a status code of 1xx
            # (Informational) or 204 (No Content)."
            findings.add(
                ViolationCode.TRANSFER_ENCODING_FORBIDDEN,
                f"a {status} response has a Transfer-Encoding field, which a server MUST NOT send in a "
                f"1xx or 204 response (RFC 9112 §6.1, {RFC9112}#section-6.1).",
            )
        if lengths and encodings:
            # https://www.rfc-editor.org/rfc/rfc9112#section-6.2: "A sender MUST NOT send a
            # Content-Length header field in any message that contains a Transfer-Encoding
            # header field."
            findings.add(
                ViolationCode.CL_AND_TE,
                "the response has both Content-Length and Transfer-Encoding, which a sender MUST NOT "
                f"send together (RFC 9112 §6.2, {RFC9112}#section-6.2).",
            )
        if encodings and message.version == "HTTP/1.0":
            # https://www.rfc-editor.org/rfc/rfc9112#section-6.1: a recipient of an HTTP/1.0
            # message with Transfer-Encoding "MUST treat the message as if the framing is
            # faulty".
            findings.add(
                ViolationCode.TRANSFER_ENCODING_IN_HTTP10,
                "an HTTP/1.0 response has a Transfer-Encoding field, whose framing a recipient MUST "
                f"treat as faulty (RFC 9112 §6.1, {RFC9112}#section-6.1).",
            )
        codings = [element.split(";")[0].strip(" \t").lower() for element in _list_elements(encodings)]
        unknown = [coding for coding in codings if coding not in KNOWN_TRANSFER_CODINGS]
        if unknown:
            # https://www.rfc-editor.org/rfc/rfc9112#section-6.1: a server "MUST NOT send a
            # response containing Transfer-Encoding" with codings the client did not ask for;
            # unknown ones are worth reporting.
            findings.add(
                ViolationCode.UNKNOWN_TRANSFER_CODING,
                f'the transfer coding "{printable(unknown[0].encode("latin-1"), 40)}" is not a '
                f"registered one (RFC 9112 §7, {RFC9112}#section-7).",
            )
        length = self._content_length(lengths, findings) if lengths else None

        # https://www.rfc-editor.org/rfc/rfc9112#section-6.3, from the client's side, in order.
        if message.request_method == "HEAD" or informational or status in (204, 304):
            # Rule 1: responses to HEAD and 1xx, 204 and 304 responses end with the head.
            message.framing = "none"
            after = _After.ANYTHING
            if message.request_method == "HEAD" and not informational:
                after = _After.HEAD_RESPONSE
            elif status in (204, 304):
                after = _After.NO_CONTENT
            self._emit(message, events, after=after)
            if status == 101:
                # https://www.rfc-editor.org/rfc/rfc9110#section-15.2.2: after the empty line
                # that ends a 101 response, the connection speaks another protocol.
                return self._finish()
            self._state = _Reading.START
            return True
        if message.request_method == "CONNECT" and status is not None and 200 <= status < 300:
            # Rule 2: a 2xx response to CONNECT turns the connection into a tunnel.
            message.framing = "none"
            self._emit(message, events, after=_After.ANYTHING)
            return self._finish()
        self._message = message
        if encodings:
            if codings and codings[-1] == "chunked":
                # Rule 4: chunked as the final coding frames the message.
                message.framing = "chunked"
                self._state = _Reading.CHUNK_SIZE
            else:
                # Rule 4: otherwise a response is read until the server closes the connection.
                message.framing = "close"
                self._state = _Reading.BODY_CLOSE
            return True
        if lengths:
            if length is None:
                # Rule 5: "the message framing is invalid and the recipient MUST treat it as an
                # unrecoverable error ... the user agent MUST close the connection".
                self._emit(message, events, after=_After.ANYTHING)
                return self._finish()
            message.framing = "content-length"
            self._remaining = length
            if length == 0:
                self._emit(message, events, after=_After.ANYTHING)
                self._state = _Reading.START
                return True
            self._state = _Reading.BODY_LENGTH
            return True
        # Rule 8: a response without either field is delimited by the end of the connection.
        message.framing = "close"
        self._state = _Reading.BODY_CLOSE
        return True

    @staticmethod
    def _content_length(values: Sequence[str], findings: _Findings) -> int | None:
        """The length the Content-Length lines give, or None when they give no single one."""
        elements = [element.strip(" \t") for value in values for element in value.split(",")]
        section = f"(RFC 9110 §8.6, {RFC9110}#section-8.6)"
        # https://www.rfc-editor.org/rfc/rfc9110#section-8.6: Content-Length = 1*DIGIT
        for element in elements:
            raw = element.encode("latin-1")
            if not _DIGITS_RE.fullmatch(raw) or len(raw) > CONTENT_LENGTH_DIGITS:
                findings.add(
                    ViolationCode.INVALID_CONTENT_LENGTH,
                    f'the Content-Length "{printable(raw, 40)}" is not a decimal number of octets {section}.',
                )
                return None
        numbers = {int(element) for element in elements}
        if len(numbers) > 1:
            findings.add(
                ViolationCode.INVALID_CONTENT_LENGTH,
                "the Content-Length field has different values "
                f"({', '.join(str(n) for n in sorted(numbers))}) {section}.",
            )
            return None
        if len(elements) > 1:
            # RFC 9110 §8.6: a recipient MAY accept a list of identical values, but a sender
            # must not generate one.
            findings.add(
                ViolationCode.DUPLICATE_CONTENT_LENGTH,
                f"the Content-Length value is repeated {len(elements)} times {section}.",
            )
        return numbers.pop()

    def _body_bytes(self, events: list[Response | Garbage]) -> bool:
        message = self._message
        assert message is not None
        take = min(self._remaining, len(self._buf) - self._pos)
        if take <= 0:
            return False
        message.add_body(self._buf[self._pos : self._pos + take], self._body_cap)
        self._pos += take
        self._remaining -= take
        if self._remaining:
            return False
        if self._state is _Reading.CHUNK_DATA:
            self._state = _Reading.CHUNK_CRLF
        else:
            self._emit(message, events, after=_After.ANYTHING)
            self._state = _Reading.START
        return True

    def _abandon(self, events: list[Response | Garbage]) -> bool:
        """The body cannot be delimited any further: report what was read and stop."""
        message = self._message
        assert message is not None
        events.append(message.freeze(complete=False))
        return self._finish()

    def _chunk_size(self, events: list[Response | Garbage]) -> bool:
        message = self._message
        assert message is not None
        findings = message.findings
        buf = self._buf
        section = f"(RFC 9112 §7.1, {RFC9112}#section-7.1)"
        newline = buf.find(b"\n", self._pos, self._pos + CHUNK_LINE_CAP)
        if newline < 0:
            if len(buf) - self._pos >= CHUNK_LINE_CAP:
                findings.add(
                    ViolationCode.INVALID_CHUNK_SIZE,
                    f"a chunk-size line is longer than {CHUNK_LINE_CAP} bytes {section}.",
                )
                return self._abandon(events)
            return False
        line = bytes(buf[self._pos : newline])
        self._pos = newline + 1
        if line.endswith(b"\r"):
            line = line[:-1]
        else:
            findings.add(
                ViolationCode.BARE_LF,
                f"a chunk-size line ends with LF alone instead of CRLF {section}.",
            )
        # https://www.rfc-editor.org/rfc/rfc9112#section-7.1:
        #   chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF;  chunk-size = 1*HEXDIG
        size_text, semicolon, extension = line.partition(b";")
        size = size_text.rstrip(b" \t") if semicolon else size_text
        if not _HEXDIG_RE.fullmatch(size):
            findings.add(
                ViolationCode.INVALID_CHUNK_SIZE,
                f'the chunk size "{printable(size_text, 40)}" is not 1*HEXDIG {section}.',
            )
            size = size.strip(b" \t")
            if not _HEXDIG_RE.fullmatch(size):
                return self._abandon(events)
        if semicolon and not _CHUNK_EXT_RE.fullmatch(b";" + extension):
            findings.add(
                ViolationCode.INVALID_CHUNK_EXTENSION,
                f'the chunk extension ";{printable(extension, 40)}" is not '
                f'*( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] ) '
                f"(RFC 9112 §7.1.1, {RFC9112}#section-7.1.1).",
            )
        self._remaining = int(size, 16)
        if self._remaining == 0:
            # last-chunk: the trailer section follows.
            self._state = _Reading.TRAILERS
            self._scanner = _BlockScanner()
        else:
            self._state = _Reading.CHUNK_DATA
        return True

    def _chunk_crlf(self) -> bool:
        message = self._message
        assert message is not None
        buf = self._buf
        available = len(buf) - self._pos
        if available < 1 or (buf[self._pos] == CR and available < 2):
            return False
        section = f"(RFC 9112 §7.1, {RFC9112}#section-7.1)"
        if buf[self._pos] == LF:
            message.findings.add(
                ViolationCode.BARE_LF, f"chunk data ends with LF alone instead of CRLF {section}."
            )
            self._pos += 1
        elif buf[self._pos + 1] == LF:
            self._pos += 2
        else:
            message.findings.add(
                ViolationCode.MISSING_CHUNK_CRLF,
                f"chunk data is not followed by CRLF, so the chunk size does not match the data {section}.",
            )
            if buf[self._pos] == CR:
                self._pos += 1
        self._state = _Reading.CHUNK_SIZE
        return True

    def _trailers(self, events: list[Response | Garbage]) -> bool:
        message = self._message
        assert message is not None
        buf = self._buf
        start = self._pos
        end = self._scanner.find_end(buf, start, self._head_cap)
        if end is None:
            if len(buf) - start >= self._head_cap:
                message.findings.add(
                    ViolationCode.HEAD_TOO_LARGE,
                    f"the trailer section is larger than {self._head_cap} bytes, the most this harness "
                    f"reads (RFC 9112 §7.1.2, {RFC9112}#section-7.1.2).",
                )
                return self._abandon(events)
            return False
        lines, _ = _split_lines(bytes(buf[start:end]), message.findings, what="trailer section")
        self._pos = end
        trailers = _parse_field_lines(lines[:-1], message.findings, trailer=True)
        for name, _ in trailers:
            if name.lower() in FORBIDDEN_TRAILERS:
                # https://www.rfc-editor.org/rfc/rfc9110#section-6.5.1: a sender MUST NOT
                # generate a trailer field needed for message framing or routing.
                message.findings.add(
                    ViolationCode.INVALID_TRAILER,
                    f"the trailer section has a {name} field, which is not allowed in a trailer "
                    f"(RFC 9110 §6.5.1, {RFC9110}#section-6.5.1).",
                )
        message.trailers = trailers
        self._emit(message, events, after=_After.ANYTHING)
        self._state = _Reading.START
        return True
