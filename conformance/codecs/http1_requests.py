"""HTTP/1.1 requests a client sends, decoded without I/O (the harness playing the server).

:class:`RequestParser` is the mirror of :class:`~conformance.codecs.http1.ResponseParser`: it
accepts any bytes in any pieces, never raises, keeps its memory bounded, and turns what a
client sends into :class:`Request` events (with every departure from RFC 9112 it sees as a
:class:`~conformance.codecs.common.Violation`) or one :class:`~conformance.codecs.http1.Garbage`
when the bytes cannot be a request. Framing of a request body follows RFC 9112 §6.3 items 4-6
as they bind a server: chunked, else Content-Length, else no content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from conformance.codecs.common import Violation, printable
from conformance.codecs.http1 import (
    RFC9112,
    Garbage,
    ViolationCode,
    _BlockScanner,
    _fields_named,
    _Findings,
    _list_elements,
    _parse_field_lines,
    _split_lines,
    _violation,
)

__all__ = ["EmptyLines", "NotARequest", "Request", "RequestParser", "RequestViolation"]

# https://www.rfc-editor.org/rfc/rfc9112#section-3
#   request-line = method SP request-target SP HTTP-version
_REQUEST_LINE_RE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e\x80-\xff]+) (HTTP/[0-9]\.[0-9])")
DETAIL_BODY = 1024


@dataclass(frozen=True, kw_only=True)
class NotARequest(Garbage):
    """Bytes where a request had to start that cannot be one; nothing after them is read."""

    def describe(self) -> str:
        return f'bytes that are not an HTTP/1.1 request: "{printable(self.data, 60)}" ({self.size} bytes)'


@dataclass(frozen=True, kw_only=True)
class EmptyLines:
    """Empty lines (CRLF or LF) the client sent where no request was under way: after its
    request, or before one that has not come (RFC 9112 §2.2: an HTTP/1.1 user agent MUST NOT
    preface or follow a request with an extra CRLF)."""

    #: Not a message: patterns about the connection's end pass over it (Closed).
    outside_messages: ClassVar[bool] = True

    count: int

    def describe(self) -> str:
        return f"{self.count} empty line{'s' if self.count != 1 else ''} (CRLF) outside any request"

    def detail(self) -> dict[str, Any]:
        return {"type": "empty-lines", "count": self.count}


class RequestViolation:
    """Codes of the findings about a request beyond those the response side shares."""

    INVALID_REQUEST_LINE = "invalid-request-line"
    EXTRA_CRLF = "extra-crlf"
    MISSING_HOST = "missing-host"
    DUPLICATE_HOST = "duplicate-host"


@dataclass(frozen=True, kw_only=True)
class Request:
    """One HTTP/1.1 request as the client sent it, with what was wrong with it."""

    method: str
    target: str
    version: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    body_length: int
    framing: str  # "content-length" | "chunked" | "none"
    line: str  # the request line as sent
    violations: tuple[Violation, ...] = ()
    complete: bool = True

    def header_values(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for field_name, value in self.headers if field_name.lower() == wanted]

    def header(self, name: str) -> str | None:
        """The combined value of ``name`` (RFC 9110 §5.3), None when absent."""
        values = self.header_values(name)
        return ", ".join(values) if values else None

    def describe(self) -> str:
        text = f'request "{printable(self.line.encode("latin-1"), 60)}"'
        notes = [f"{len(self.headers)} fields"]
        if self.framing != "none":
            notes.append(f"body {self.body_length} bytes ({self.framing})")
        if not self.complete:
            notes.append("incomplete")
        text += f" ({', '.join(notes)})"
        if self.violations:
            text += " [violations: " + ", ".join(v.code for v in self.violations) + "]"
        return text

    def detail(self) -> dict[str, Any]:
        return {
            "type": "request",
            "method": self.method,
            "target": self.target,
            "version": self.version,
            "headers": [[name, value] for name, value in self.headers],
            "body_length": self.body_length,
            "body": self.body[:DETAIL_BODY].decode("latin-1"),
            "framing": self.framing,
            "violations": [{"code": v.code, "message": v.message} for v in self.violations],
            "complete": self.complete,
        }


class _RequestFindings(_Findings):
    """Findings with the request side's own codes beside the shared enum."""

    def add_code(self, code: str, message: str) -> None:
        if code not in self._items:
            self._items[code] = Violation(code=code, message=message)


class RequestParser:
    """Decodes the requests of one connection, one after another."""

    def __init__(self, *, body_cap: int = 65536, head_cap: int = 65536) -> None:
        self.body_cap = body_cap
        self.head_cap = head_cap
        self._buf = bytearray()
        self._scanner = _BlockScanner()
        self._broken = False  # garbage seen: nothing more is read
        self._empty_lines = 0  # empty lines read since the last request

    def feed(self, data: bytes) -> list[Request | Garbage | EmptyLines]:
        if self._broken:
            return []
        self._buf += data
        events: list[Request | Garbage | EmptyLines] = []
        while self._buf and not self._broken:
            event = self._next(eof=False)
            if event is None:
                break
            events.append(event)
        return events

    def feed_eof(self) -> list[Request | Garbage | EmptyLines]:
        if self._broken or not self._buf:
            return []
        event = self._next(eof=True)
        return [event] if event is not None else []

    def _next(self, *, eof: bool) -> Request | Garbage | EmptyLines | None:
        # https://www.rfc-editor.org/rfc/rfc9112#section-2.2: a server SHOULD ignore at least
        # one empty line (CRLF) received prior to the request-line -- and a user agent MUST NOT
        # send one: each is a finding, on the request it precedes or as an event of its own.
        while self._buf[:2] == b"\r\n" or self._buf[:1] == b"\n":
            del self._buf[: 2 if self._buf[:1] == b"\r" else 1]
            self._empty_lines += 1
        if not self._buf:
            if self._empty_lines:
                count, self._empty_lines = self._empty_lines, 0
                return EmptyLines(count=count)
            return None
        end = self._scanner.find_end(self._buf, 0, self.head_cap)
        if end is None:
            if len(self._buf) >= self.head_cap or eof:
                return self._garbage("an incomplete or oversized request head")
            return None
        head = bytes(self._buf[:end])
        findings = _RequestFindings()
        if self._empty_lines:
            findings.add_code(
                RequestViolation.EXTRA_CRLF,
                f"{self._empty_lines} empty line(s) before the request line, which an HTTP/1.1 user "
                f"agent MUST NOT send (RFC 9112 §2.2, {RFC9112}#section-2.2).",
            )
            self._empty_lines = 0
        lines, _ = _split_lines(head, findings, what="request head")
        lines = [line for line in lines if line]
        if not lines:
            return None
        match = _REQUEST_LINE_RE.fullmatch(lines[0])
        if match is None:
            words = lines[0].split()
            if len(words) != 3 or not words[2].startswith(b"HTTP/"):
                return self._garbage("bytes that are not an HTTP/1.1 request line")
            findings.add_code(
                RequestViolation.INVALID_REQUEST_LINE,
                f'the request line "{printable(lines[0], 60)}" is not method SP request-target SP '
                f"HTTP-version (RFC 9112 §3, {RFC9112}#section-3).",
            )
            method, target, version = (w.decode("latin-1") for w in words)
        else:
            method, target, version = (g.decode("latin-1") for g in match.groups())
        fields = _parse_field_lines(lines[1:], findings)
        hosts = _fields_named(fields, "host")
        if not hosts and version == "HTTP/1.1":
            # https://www.rfc-editor.org/rfc/rfc9112#section-3.2: "A client MUST send a Host
            # header field in all HTTP/1.1 request messages."
            findings.add_code(
                RequestViolation.MISSING_HOST,
                f"the request has no Host field (RFC 9112 §3.2, {RFC9112}#section-3.2).",
            )
        elif len(hosts) > 1:
            findings.add_code(
                RequestViolation.DUPLICATE_HOST,
                f"the request has {len(hosts)} Host fields (RFC 9112 §3.2, {RFC9112}#section-3.2).",
            )
        rest = self._buf[end:]
        codings = _list_elements(_fields_named(fields, "transfer-encoding"))
        lengths = _list_elements(_fields_named(fields, "content-length"))
        body = b""
        framing = "none"
        complete = True
        consumed = end
        if codings:
            framing = "chunked"
            decoded = _dechunk(bytes(rest), eof=eof)
            if decoded is None:
                if len(rest) > self.body_cap and not eof:
                    return self._garbage("a chunked request body over the harness's cap")
                if not eof:
                    return None
                body, used, complete = bytes(rest), len(rest), False
            else:
                body, used = decoded
            consumed += used
        elif lengths:
            framing = "content-length"
            if len(set(lengths)) != 1 or not lengths[0].isdigit():
                findings.add(
                    ViolationCode.INVALID_CONTENT_LENGTH,
                    f"Content-Length {', '.join(lengths)!r} (RFC 9112 §6.3, {RFC9112}#section-6.3).",
                )
                return self._emit(method, target, version, fields, b"", "none", lines[0], findings, True, end)
            size = int(lengths[0])
            if len(rest) < size:
                if not eof:
                    return None
                complete = False
                size = len(rest)
            body = bytes(rest[:size])
            consumed += size
        if not complete:
            findings.add(ViolationCode.INCOMPLETE_MESSAGE, "the connection closed before the request's end.")
        return self._emit(
            method, target, version, fields, body, framing, lines[0], findings, complete, consumed
        )

    def _emit(
        self,
        method: str,
        target: str,
        version: str,
        fields: list[tuple[str, str]],
        body: bytes,
        framing: str,
        line: bytes,
        findings: _RequestFindings,
        complete: bool,
        consumed: int,
    ) -> Request:
        del self._buf[:consumed]
        self._scanner = _BlockScanner()
        return Request(
            method=method,
            target=target,
            version=version,
            headers=tuple(fields),
            body=body[: self.body_cap],
            body_length=len(body),
            framing=framing,
            line=line.decode("latin-1"),
            violations=findings.freeze(),
            complete=complete,
        )

    def _garbage(self, what: str) -> Garbage:
        self._broken = True
        data = bytes(self._buf[:1024])
        size = len(self._buf)
        self._buf.clear()
        return NotARequest(
            data=data,
            size=size,
            violation=_violation(
                ViolationCode.UNEXPECTED_DATA, f"{what} (RFC 9112 §3, {RFC9112}#section-3)."
            ),
        )


def _dechunk(data: bytes, *, eof: bool) -> tuple[bytes, int] | None:
    """The content of a whole chunked body at the start of ``data`` and the bytes it took, or
    None when it is not all there (or not chunked at all)."""
    body = bytearray()
    at = 0
    while True:
        newline = data.find(b"\n", at)
        if newline < 0:
            return None
        size_text = data[at:newline].rstrip(b"\r").split(b";", 1)[0].strip(b" \t")
        try:
            size = int(size_text, 16)
        except ValueError:
            return None
        at = newline + 1
        if size == 0:
            # Trailer section, up to an empty line.
            while True:
                newline = data.find(b"\n", at)
                if newline < 0:
                    return None
                line = data[at:newline].rstrip(b"\r")
                at = newline + 1
                if not line:
                    return bytes(body), at
        if len(data) < at + size:
            return None
        body += data[at : at + size]
        at += size
        newline = data.find(b"\n", at)
        if newline < 0:
            return None
        at = newline + 1
