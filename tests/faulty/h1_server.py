"""A configurable HTTP/1.1 origin server whose every check can be switched off.

With no faults it is a small, strict origin server: it rejects with 400 (and closes) what
RFC 9112 says to reject, follows the SHOULDs, keeps connections alive and answers pipelined
requests in order, speaks HTTP/1.0 (closing unless asked to keep alive), and bounds what it
buffers. Each fault in :data:`FAULTS` switches exactly one behaviour wrong, so that a test can
show that the cases about that behaviour FAIL — and only they.

The request parser is written by hand (not h11) so that each rule is one switchable line.
Resources: ``/`` is a 200 text with ``ETag: "v1"``; ``/echo`` reflects the parsed request as
JSON (the echo contract of ``conformance.verdicts.echo``); everything else is 404.

Run it in the foreground::

    python tests/faulty/h1_server.py --port 18081 [--fault NAME ...]
"""

from __future__ import annotations

import base64
import calendar
import email.utils
import hashlib
import json
import re
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import fault_matrix
from twisted.internet import protocol
from twisted.internet.interfaces import IHalfCloseableProtocol, IListeningPort
from zope.interface import implementer

RFC9110 = "https://www.rfc-editor.org/rfc/rfc9110"
RFC9112 = "https://www.rfc-editor.org/rfc/rfc9112"

#: fault name -> what it breaks. Every fault switches off (or gets wrong) one rule.
FAULTS: dict[str, str] = {
    # message parsing (RFC 9112 §2)
    "leading-crlf-rejected": "an empty line before the request line is an error instead of being ignored",
    "bare-lf-hangs": "LF alone never ends a line: the server waits for a CRLF that never comes",
    "bare-cr-accepted": "a bare CR is taken as a line ending instead of being rejected",
    "whitespace-line-as-field": "a whitespace-led line after the request line is parsed as a field",
    "answer-early": "answers as soon as the request line is in, before the header section ends",
    "no-reassembly": "parses every read on its own, as if a request always came in one piece",
    "crlf-cr-ends-head": "takes CRLF CR and any byte as the end of the header section",
    "idle-connection-answered": "sends a 200 response on a connection that has sent nothing for 200 ms",
    # request line (RFC 9112 §3, RFC 9110 §9.1)
    "lenient-request-line": "splits the request line at its first and last space, accepting any gaps",
    "garbage-skipped": "skips a request line that is not one, silently, and waits for a valid one",
    "no-method-token-check": "accepts any bytes in the method (then answers 501 as for any unknown one)",
    "method-case-insensitive": "matches method names case-insensitively ('get' is GET)",
    "unknown-method-as-get": "treats an unknown method as GET",
    "no-target-check": "accepts control bytes, NUL and any form in the request-target",
    "no-absolute-form": "rejects an absolute-form request-target",
    "other-forms-autocorrected": "serves an authority-form or asterisk-form target its method does not allow as GET / (HEAD /)",
    "options-star-rejected": "rejects OPTIONS * as an invalid request-target",
    "connect-tunnels": "answers CONNECT with 200, as if it were a proxy opening a tunnel",
    "absolute-form-uses-host": "routes an absolute-form request by its Host field, not by the target",
    "http09-answered": "answers a request line without a version with a bare HTTP/0.9 body",
    "percent-decoded-target": "percent-decodes the path (cut at a NUL) and reflects it in Content-Location",
    "short-request-line-limit": "answers 414 to request lines longer than 4 KiB",
    "absolute-form-userinfo-accepted": "accepts user information in an absolute-form target",
    # versions (RFC 9112 §2.3, RFC 9110 §2.5)
    "lenient-version": "reads the version loosely: any case, spaces, missing numbers, leading zeros, junk around",
    "version-numbers-wrap": "reads HTTP-version numbers as 32-bit integers (4294967297 is 1), 'HTTP/11' as 1.1",
    "reject-higher-minor": "answers 505 to HTTP/1.2 instead of serving it as HTTP/1.1",
    "h2-preface-silence": "takes the HTTP/2 preface as a switch to HTTP/2 that never comes: no answer",
    "echo-request-version": "answers an HTTP/1.0 request with HTTP/1.0 as the response version",
    "http10-responses": "answers every request with HTTP/1.0 as the response version",
    # field lines (RFC 9112 §5, RFC 9110 §5)
    "accept-space-before-colon": "accepts whitespace between a field name and its colon (and trims it)",
    "lenient-field-names": "skips lines without a colon or with an empty name, accepts any name bytes",
    "case-sensitive-field-names": "matches field names case-sensitively",
    "ows-not-stripped": "strips only one leading space from field values and no trailing whitespace",
    "require-space-after-colon": "rejects a field value not preceded by a space",
    "value-strip-all-whitespace": "strips every ASCII whitespace byte (VT, FF too) from field values",
    "nul-truncates-value": "cuts a field value at the first NUL byte, C-string style",
    "obs-fold-as-field": "parses an obs-fold continuation line as a field line of its own",
    "obs-text-rejected": "rejects a field value with bytes above 0x7F",
    "underscore-as-hyphen": "reads '_' in a field name as '-' (Content_Length is Content-Length)",
    "hyphens-collapsed": "reads a run of '-' in a field name as one ('Content--Length' is Content-Length)",
    "obs-fold-joined": "joins an obs-fold continuation to the previous value with nothing between",
    "nul-kept-in-value": "keeps a NUL byte in a field value instead of rejecting the request",
    "duplicate-fields-last-wins": "keeps only the last of several field lines with the same name",
    "trailers-merged": "merges the trailer fields of a chunked request into its header fields",
    "limits-close-silently": "drops the connection without an answer when a size limit is exceeded",
    "reject-by-closing": "drops the connection without an answer instead of sending 400",
    "value-ctl-removed": "removes control bytes (0x00-0x1F but HTAB, 0x7F) from field values",
    "value-unicode-strip": "trims field values like str.strip() on Latin-1 text (VT, FF, 0x1C-0x1F, 0x85, 0xA0)",
    "field-name-junk-stripped": "drops bytes that are not token characters from field names",
    "obs-fold-dropped": "ignores obs-fold continuation lines instead of rejecting or unfolding them",
    # Host (RFC 9112 §3.2, RFC 9110 §7.2)
    "no-host-check": "serves an HTTP/1.1 request without a Host field",
    "duplicate-host-ok": "serves a request with several Host lines (the first wins)",
    "no-host-syntax-check": "accepts any Host field value",
    "naive-host-parse": "splits Host at its first colon, so an IPv6 literal is invalid",
    # framing (RFC 9112 §6, §7)
    "lenient-content-length": "parses Content-Length like strtol: sign, junk and 64-bit wrap accepted",
    "cl-leading-zero-octal": "reads a Content-Length with a leading zero as an octal number",
    "empty-te-ignored": "ignores an empty Transfer-Encoding field and reads no body",
    "cl-first-wins": "takes the first of several differing Content-Length values",
    "cl-body-ignored": "does not read a Content-Length body: its bytes are taken as the next request",
    "cl-te-prefer-cl": "frames a request with both Content-Length and Transfer-Encoding by Content-Length",
    "keep-alive-after-error": "keeps the connection open after rejecting a request for bad framing",
    "unknown-te-ignored": "ignores a transfer coding it does not know and reads no body",
    "chunked-anywhere": "decodes chunked when 'chunked' is anywhere in Transfer-Encoding",
    "chunked-substring-match": "decodes chunked when the Transfer-Encoding value merely contains 'chunked'",
    "te-exact-match": "recognises chunked only when the field value is exactly 'chunked', else reads no body",
    "te-http10-honoured": "decodes Transfer-Encoding in an HTTP/1.0 request and keeps the connection",
    "chunked-not-decoded": "does not decode a chunked body: its bytes are taken as the next request",
    "chunk-size-decimal": "reads chunk sizes as decimal numbers",
    "lenient-chunk-size": "reads chunk sizes like strtol: 0x prefix, sign, spaces and junk accepted",
    "chunked-size-overflow-wraps": "a chunk size beyond 64 bits wraps around instead of being rejected",
    "chunk-ext-rejected": "rejects chunk extensions",
    "chunk-data-crlf-unchecked": "skips the two bytes after chunk data, whatever they are",
    "trailers-not-consumed": "ends a chunked body at the last chunk; trailer lines become the next request",
    "no-length-body-until-close": "reads the body of a request with neither Content-Length nor Transfer-Encoding until the connection closes",
    "trailers-unchecked": "discards trailer lines without checking their syntax",
    "nul-field-dropped": "ignores a field line whose value holds a NUL byte, as if it were not there",
    "chunked-params-ignored": "drops parameters on the chunked coding ('chunked;foo=bar' is chunked)",
    # connections (RFC 9112 §9)
    "close-after-response": "closes the connection after every response, without saying so",
    "pipeline-drop-second": "answers the first request of a read and drops the rest",
    "ignore-connection-close": "keeps the connection open when the request says Connection: close",
    "no-connection-close-header": "closes on Connection: close without saying so in the response",
    "http10-keep-alive-default": "keeps HTTP/1.0 connections open without Connection: keep-alive",
    "pipeline-reorder": "sends a 200 after the responses to requests pipelined behind it",
    "error-close-unannounced": "closes after an error response without Connection: close in it",
    "http10-keep-alive-unannounced": "keeps an HTTP/1.0 keep-alive connection without saying keep-alive",
    "timeouts-reset": "resets (RST) a connection idle, or with an unfinished head, for over 1.5 s",
    "half-close-drops": "takes a client's half-close for an abort: what is not yet answered is dropped",
    # responses (RFC 9110)
    "bad-status-line": "sends a status line without the space before the (empty) reason phrase",
    "no-date": "sends no Date field",
    "date-wrong-format": "sends Date in the obsolete RFC 850 format",
    "head-sends-body": "sends the body in a response to HEAD",
    "304-with-body": "sends the body in a 304 response",
    "cl-on-204": "answers OPTIONS with 204 and a Content-Length field",
    "if-match-ignored": "ignores If-Match",
    "ims-always-304": "answers 304 to any If-Modified-Since, whatever the method or date",
    "expect-ignored": "never answers 100 (Continue): waits in silence for the body",
    "expect-case-sensitive": "recognises only the exact spelling '100-continue'",
    "100-continue-to-http10": "sends 100 (Continue) to an HTTP/1.0 client",
    "405-without-allow": "sends 405 without an Allow field",
    "options-without-allow": "answers OPTIONS without an Allow field",
    "no-content-type": "sends content without a Content-Type field",
    "upgrade-always-101": "answers 101 (Switching Protocols) to any request with an Upgrade field",
    "range-any-unit": "answers 206 to any Range field, whatever its unit or the method",
    "inm-always-304": "answers 304 to any If-None-Match, matching or not",
    "inm-ignored": "ignores If-None-Match",
    "chunked-to-http10": "sends every response body chunked, to HTTP/1.0 clients too",
    "expect-early-final-keeps-body": "answers Expect: 100-continue at once, then reads the body as a request",
    "expect-unknown-417-body-unread": "answers an unknown expectation with 417 and leaves the body unread",
    "expect-no-body-hangs": "waits for a body on Expect: 100-continue even when none is announced",
    "cl-on-100": "sends Content-Length: 0 in 100 (Continue)",
    "te-on-204": "answers OPTIONS with 204 and Transfer-Encoding: chunked",
    "204-with-body": "answers OPTIONS with 204 and the allowed methods as content",
    "options-no-length": "answers OPTIONS with 200 and no Content-Length, closing to end it",
    "error-length-wrong": "sends a Content-Length one more than the content in 404 responses",
    "trace-echoes-credentials": "answers TRACE with the whole request as message/http, credentials included",
    "head-fields-differ": "answers HEAD without Content-Type and with Content-Length: 0",
    "304-without-etag": "sends 304 without the ETag the 200 has",
    "range-no-content-range": "sends 206 without Content-Range",
    "416-without-content-range": "sends 416 without Content-Range",
    "if-range-ignored": "serves the Range whatever If-Range says",
    "ius-ignored": "ignores If-Unmodified-Since",
    "ims-future-400": "answers 400 to an If-Modified-Since later than its clock",
    "ims-lenient-date": "reads the date at the start of If-Modified-Since and ignores the rest",
    "ims-imf-only": "understands If-Modified-Since in the IMF-fixdate format only",
    "preconditions-before-404": "evaluates preconditions before finding that the resource does not exist",
    "precondition-order-reversed": "evaluates If-None-Match before If-Match and If-Unmodified-Since",
    "if-match-weak": "compares If-Match tags weakly (W/ ignored)",
    "inm-strong-comparison": "compares If-None-Match tags strongly (a W/ tag never matches)",
    "inm-unquoted-match": "compares If-None-Match tags without their quotes",
    "101-without-upgrade": "answers any Upgrade with 101 (Switching Protocols) and no Upgrade field",
    "426-without-upgrade": "sends 426 (Upgrade Required) without an Upgrade field",
    "websocket-any-version": "switches to WebSocket whatever Sec-WebSocket-Version says",
    "if-match-star-literal": "compares If-Match: * as an entity tag, so it never matches",
    "ius-invalid-412": "answers 412 to an If-Unmodified-Since that is no valid date",
    "if-match-never-current": "takes the current entity tag in If-Match for a stale one (412)",
    "ius-equal-fails": "answers 412 when If-Unmodified-Since equals the last modification date",
}

REQUEST_LINE_CAP = 8 * 1024  # longer request lines get 414
FIELD_LINE_CAP = 8 * 1024  # longer field lines get 431
HEAD_CAP = 64 * 1024  # larger header sections get 431
FIELD_COUNT_CAP = 100  # more field lines get 431
BODY_CAP = 1024 * 1024  # larger bodies get 413
CHUNK_LINE_CAP = 4 * 1024
LEADING_BLANK_CAP = 1024  # empty lines tolerated before a request line
LINGER_SECONDS = 2.0  # how long to keep reading (and discarding) after closing our side

RESOURCE_BODY = b"hello, world\n"
RESOURCE_ETAG = '"v1"'
RESOURCE_LAST_MODIFIED = "Sun, 06 Nov 1994 08:49:37 GMT"
RESOURCE_TYPE = "text/plain"
ALLOW = "GET, HEAD, POST, PUT, OPTIONS"
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
SUPPORTED_METHODS = {"GET", "HEAD", "POST", "PUT", "OPTIONS"}
TIMEOUT_SECONDS = 1.5  # the timeouts-reset fault: how long an idle connection or a head may take
WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3

REASONS = {
    100: "Continue",
    101: "Switching Protocols",
    200: "OK",
    408: "Request Timeout",
    416: "Range Not Satisfiable",
    417: "Expectation Failed",
    426: "Upgrade Required",
    500: "Internal Server Error",
    304: "Not Modified",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    206: "Partial Content",
    412: "Precondition Failed",
    413: "Content Too Large",
    414: "URI Too Long",
    421: "Misdirected Request",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
    505: "HTTP Version Not Supported",
    204: "No Content",
}

# https://www.rfc-editor.org/rfc/rfc9110#section-5.6.2: token = 1*tchar
TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# https://www.rfc-editor.org/rfc/rfc9112#section-2.3: HTTP-version = HTTP-name "/" DIGIT "." DIGIT
VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])")
LENIENT_VERSION = re.compile(rb"(?i)http\s*(?:/\s*0*([0-9]+)\s*(?:[.,]\s*([0-9]+))?)?")
# https://www.rfc-editor.org/rfc/rfc9110#section-7.2: Host = uri-host [ ":" port ]
HOST = re.compile(rb"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]*)(?::([0-9]*))?")
# https://www.rfc-editor.org/rfc/rfc9112#section-3.2: request-target; visible ASCII only
TARGET_BYTES = re.compile(rb"[\x21-\x7e]+")
# https://www.rfc-editor.org/rfc/rfc3986#section-2: visible ASCII that no URI component allows
NOT_URI_BYTES = re.compile(rb'["<>\\^`{|}]')
ABSOLUTE = re.compile(rb"(?i)(https?)://([^/?#]*)([^#]*)")
# https://www.rfc-editor.org/rfc/rfc9112#section-7.1.1: chunk-ext after the chunk-size
CHUNK_EXT = re.compile(
    rb"(?:[ \t]*;[ \t]*[!#$%&\'*+\-.^_`|~0-9A-Za-z]+"
    rb'(?:[ \t]*=[ \t]*(?:[!#$%&\'*+\-.^_`|~0-9A-Za-z]+|"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"))?)*'
)
HEXDIGITS = re.compile(rb"[0-9A-Fa-f]+")
OWS = b" \t"
CANONICAL_NAMES = {
    name.lower(): name
    for name in ("Host", "Content-Length", "Transfer-Encoding", "Connection", "If-None-Match")
}


class Reject(Exception):
    """The request is refused with ``status``; ``close`` when its framing cannot be trusted."""

    def __init__(self, status: int, why: str, *, close: bool = True, limit: bool = False) -> None:
        super().__init__(why)
        self.status = status
        self.close = close
        self.limit = limit or status in (413, 414, 431)  # a size limit was exceeded


@dataclass
class Request:
    method: str
    target: bytes
    version: tuple[int, int]
    fields: list[tuple[str, bytes]] = field(default_factory=list)  # (lower-cased name, value)
    body: bytearray = field(default_factory=bytearray)
    absolute_authority: bytes | None = None
    path: bytes = b"/"
    must_close: bool = False  # framing said close after the response

    def values(self, name: str) -> list[bytes]:
        return [value for field_name, value in self.fields if field_name == name]

    def tokens(self, name: str) -> set[str]:
        found = set()
        for value in self.values(name):
            for element in value.split(b","):
                element = element.strip(OWS)
                if element:
                    found.add(element.decode("latin-1").lower())
        return found


def strtol(text: bytes, base: int = 10) -> int:
    """What C's strtoll/strtoull gives: leading space, a sign, digits up to the first other
    byte (a ``0x`` prefix in base 16), wrapped to 64 bits. Used only by lenient faults."""
    text = text.lstrip(b" \t")
    sign = 1
    if text[:1] in (b"+", b"-"):
        sign = -1 if text[:1] == b"-" else 1
        text = text[1:]
    if base == 16 and text[:2].lower() == b"0x":
        text = text[2:]
    digits = b"0123456789abcdef"[:base]
    value = 0
    for byte in text.lower():
        position = digits.find(bytes([byte]))
        if position < 0:
            break
        value = (value * base + position) & 0xFFFFFFFFFFFFFFFF
    return sign * value


# https://www.rfc-editor.org/rfc/rfc9110#section-5.6.7: the three HTTP-date formats
_MONTHS = {name: number for number, name in enumerate(calendar.month_abbr) if name}
_MONTH = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TIME = "([0-9]{2}):([0-9]{2}):([0-9]{2})"
IMF_FIXDATE = re.compile(rf"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{{2}}) {_MONTH} ([0-9]{{4}}) {_TIME} GMT")
RFC850_DATE = re.compile(
    rf"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), ([0-9]{{2}})-{_MONTH}-([0-9]{{2}}) {_TIME} GMT"
)
ASCTIME_DATE = re.compile(rf"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) {_MONTH} ([0-9 ][0-9]) {_TIME} ([0-9]{{4}})")


def http_date(text: str, *, imf_only: bool = False, lenient: bool = False) -> int | None:
    """Seconds since the epoch of an HTTP-date, or None. ``lenient`` (a fault) reads a date at
    the start of the text and ignores what follows."""
    match = (IMF_FIXDATE.match if lenient else IMF_FIXDATE.fullmatch)(text)
    if match:
        day, month, year, hour, minute, second = match.groups()
    elif imf_only:
        return None
    elif match := RFC850_DATE.fullmatch(text):
        day, month, short_year, hour, minute, second = match.groups()
        year = str((1900 if int(short_year) >= 70 else 2000) + int(short_year))
    elif match := ASCTIME_DATE.fullmatch(text):
        month, day, hour, minute, second, year = match.groups()
    else:
        return None
    return calendar.timegm(
        (int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), 0, 0, 0)
    )


LAST_MODIFIED_SECONDS = http_date(RESOURCE_LAST_MODIFIED)


@implementer(IHalfCloseableProtocol)
class FaultyHTTP11(protocol.Protocol):
    """One server connection. Bytes are buffered and parsed incrementally; requests are
    answered one at a time, in order, as soon as each is complete."""

    def __init__(self, faults: frozenset[str], clock: Callable[[], float] = time.time) -> None:
        self.faults = faults
        self.clock = clock
        self.buf = bytearray()
        self.state = "head"  # head | body | chunk-size | chunk-data | chunk-crlf | trailers | closed
        self.request: Request | None = None
        self.remaining = 0
        self.trailer_lines = 0
        self.answered_early = False
        self.closing = False
        self.linger: Any = None
        self.reactor: Any = None
        self.received = False  # any byte at all on this connection
        self.held: list[bytes] = []  # responses the pipeline-reorder fault holds back
        self.timeout: Any = None  # the timeouts-reset fault's timer
        self.pending: Any = None  # the half-close-drops fault's delayed processing

    # ------------------------------------------------------------------ Twisted callbacks

    def connectionMade(self) -> None:  # noqa: N802 - Twisted's name
        self._restart_timeout()
        if "idle-connection-answered" in self.faults and self.reactor is not None:
            self.reactor.callLater(0.2, self._answer_idle)

    def _answer_idle(self) -> None:
        """The ``idle-connection-answered`` fault: a response nobody asked for."""
        if not self.received and not self.closing:
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    def readConnectionLost(self) -> None:  # noqa: N802
        """The client half-closed: every complete request has been answered (answers are
        written as requests complete), so close our side too once they are out."""
        if "half-close-drops" in self.faults:
            if self.pending is not None and self.pending.active():
                self.pending.cancel()
            self.transport.abortConnection()
            return
        if self.closing:
            self.transport.loseConnection()  # nothing more to read and discard
            return
        self._close()

    def writeConnectionLost(self) -> None:  # noqa: N802
        pass

    def _restart_timeout(self) -> None:
        """The timeouts-reset fault: a connection whose head is not complete within
        TIMEOUT_SECONDS of its start or of the last answer is reset, not closed gracefully."""
        if "timeouts-reset" not in self.faults or self.reactor is None:
            return
        if self.timeout is not None and self.timeout.active():
            self.timeout.cancel()
        self.timeout = self.reactor.callLater(TIMEOUT_SECONDS, self._time_out)

    def _time_out(self) -> None:
        if self.state == "head" and not self.closing:
            self.transport.abortConnection()
        elif not self.closing:
            self._restart_timeout()

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted's name
        self.received = True
        if self.closing:
            return  # lingering close: read and discard
        if "no-reassembly" in self.faults:
            # Every read is a whole request, or so this server believes.
            self.buf = bytearray(data)
            self.state = "head"
            self.request = None
            self._one_read_as_request()
            return
        self.buf += data
        if "half-close-drops" in self.faults and self.reactor is not None:
            # This server thinks for a moment before answering, and takes a FIN meanwhile
            # for the client going away.
            self.pending = self.reactor.callLater(0.5, self._process)
            return
        self._process()

    def connectionLost(self, reason: Any = None) -> None:  # noqa: N802
        self.state = "closed"
        for timer in (self.linger, self.timeout, self.pending):
            if timer is not None and timer.active():
                timer.cancel()

    # ------------------------------------------------------------------ the parse loop

    def _step(self) -> bool:
        """Parse what the current state expects; False when more bytes are needed."""
        step = {
            "head": self._head,
            "body": self._body,
            "chunk-size": self._chunk_size,
            "chunk-data": self._chunk_data,
            "chunk-crlf": self._chunk_crlf,
            "trailers": self._trailers,
        }.get(self.state)
        return step is not None and step()

    def _process(self) -> None:
        try:
            while not self.closing and self._step():
                pass
        except Reject as reject:
            self._reject(reject)
        self._flush_held()

    def _one_read_as_request(self) -> None:
        """The ``no-reassembly`` fault: whatever one read holds is parsed as a whole request."""
        try:
            if self._head_end() is None:
                self.buf += b"\r\n\r\n"
            self._head()
            while self.state != "head" and not self.closing and self._step():
                pass
        except Reject as reject:
            self._reject(reject)

    # -- the head

    def _line_end(self, start: int = 0) -> tuple[int, int] | None:
        """(end of the line's content, start of the next line), or None when incomplete."""
        buf = self.buf
        if "bare-lf-hangs" in self.faults:
            index = buf.find(b"\r\n", start)
            return None if index < 0 else (index, index + 2)
        index = buf.find(b"\n", start)
        if index < 0:
            return None
        # https://www.rfc-editor.org/rfc/rfc9112#section-2.2: a recipient MAY recognize a
        # single LF as a line terminator and ignore any preceding CR.
        return (index - 1 if index > start and buf[index - 1] == 0x0D else index), index + 1

    def _head_end(self) -> int | None:
        """The offset just past the empty line that ends the head, or None."""
        start = 0
        while True:
            found = self._line_end(start)
            if found is None:
                return None
            content_end, next_start = found
            if content_end == start and start > 0:
                return next_start
            start = next_start

    def _skip_leading_blank_lines(self) -> bool:
        """https://www.rfc-editor.org/rfc/rfc9112#section-2.2: a server SHOULD ignore at least
        one empty line (CRLF) received prior to the request-line. False: wait for more."""
        skipped = 0
        while self.buf[:1] in (b"\r", b"\n"):
            if self.buf[:2] == b"\r\n":
                del self.buf[:2]
            elif self.buf[:1] == b"\n" and "bare-lf-hangs" not in self.faults:
                del self.buf[:1]
            elif self.buf == b"\r":
                return False
            else:
                break
            skipped += 1
            if "leading-crlf-rejected" in self.faults:
                raise Reject(400, "an empty line before the request line")
            if skipped > LEADING_BLANK_CAP:
                raise Reject(400, "too many empty lines before the request line")
        return True

    def _head(self) -> bool:
        if not self._skip_leading_blank_lines() or not self.buf:
            return False
        if "bare-cr-accepted" in self.faults:
            # A bare CR taken as a line ending: CR not followed by LF becomes CRLF.
            self.buf = bytearray(re.sub(rb"\r(?=[^\n])", b"\r\n", bytes(self.buf)))
        if "crlf-cr-ends-head" in self.faults:
            # CRLF CR and any byte read as the empty line that ends the head.
            self.buf = bytearray(re.sub(rb"\r\n\r[^\n]", b"\r\n\r\n", bytes(self.buf), count=1))
        end = self._head_end()
        if end is None:
            if re.search(rb"\r[^\n]", self.buf):
                # https://www.rfc-editor.org/rfc/rfc9112#section-2.2: a bare CR makes the
                # head invalid however it goes on; no need to wait for its end.
                raise Reject(400, "a bare CR in the head")
            first = self._line_end()
            if "answer-early" in self.faults and first is not None and not self.answered_early:
                self.answered_early = True
                self._respond(
                    Request(method="GET", target=b"/", version=(1, 1)), 200, body=RESOURCE_BODY, early=True
                )
            if first is None and len(self.buf) > self._request_line_cap():
                self._request_line_too_long(bytes(self.buf))
            if len(self.buf) > HEAD_CAP:
                raise Reject(431, "the header section is too large")
            return False
        head = bytes(self.buf[:end])
        del self.buf[:end]
        request = self._parse_head(head)
        if request is None:
            return True  # answered as HTTP/0.9 and closing
        self._start_body(request)
        return True

    def _request_line_too_long(self, line: bytes) -> None:
        if TOKEN.fullmatch(line[: self._request_line_cap()]):
            # https://www.rfc-editor.org/rfc/rfc9112#section-3: 501 for a method longer
            # than any the server implements.
            raise Reject(501, "a method longer than any implemented", limit=True)
        raise Reject(414, "the request line is too long")

    def _request_line_cap(self) -> int:
        return 4 * 1024 if "short-request-line-limit" in self.faults else REQUEST_LINE_CAP

    def _split_lines(self, head: bytes) -> list[bytes]:
        if "bare-lf-hangs" in self.faults:
            lines = head.split(b"\r\n")
        else:
            lines = [line[:-1] if line.endswith(b"\r") else line for line in head.split(b"\n")]
        while lines and lines[-1] == b"":
            lines.pop()
        return lines

    def _parse_head(self, head: bytes) -> Request | None:
        lines = self._split_lines(head)
        if not lines:
            raise Reject(400, "an empty request")
        for line in lines:
            if b"\r" in line:
                # https://www.rfc-editor.org/rfc/rfc9112#section-2.2: a recipient of a bare CR
                # MUST consider that element to be invalid or replace each bare CR with SP.
                raise Reject(400, "a bare CR in the head")
        request_line = lines[0]
        if len(request_line) > self._request_line_cap():
            self._request_line_too_long(request_line)
        if len(head) > HEAD_CAP:
            raise Reject(431, "the header section is too large")
        request = self._parse_request_line(request_line)
        if request is None:
            return None
        self._parse_fields(request, lines[1:])
        return request

    def _parse_request_line(self, line: bytes) -> Request | None:
        # https://www.rfc-editor.org/rfc/rfc9112#section-3:
        #   request-line = method SP request-target SP HTTP-version
        if "lenient-request-line" in self.faults:
            method, _, rest = line.partition(b" ")
            target, _, version = rest.rpartition(b" ")
            if not rest:
                raise Reject(400, "no request-target")
        else:
            if line == b"PRI * HTTP/2.0" and "h2-preface-silence" in self.faults:
                self.closing = True  # "switching" to HTTP/2: reads on, and never answers
                return None
            # A loose version reader takes everything after the target as the version.
            parts = line.split(b" ", 2) if "lenient-version" in self.faults else line.split(b" ")
            if len(parts) == 2 and "http09-answered" in self.faults and parts[0] == b"GET":
                # HTTP/0.9: the body alone, then close.
                self.transport.write(RESOURCE_BODY)
                self._close()
                return None
            if "garbage-skipped" in self.faults and not TOKEN.fullmatch(parts[0]):
                return None  # as if nothing had come
            if len(parts) != 3:
                raise Reject(400, "the request line is not method SP target SP version")
            method, target, version = parts
        if not TOKEN.fullmatch(method) and "no-method-token-check" not in self.faults:
            raise Reject(400, "the method is not a token")
        if not method:
            raise Reject(400, "an empty method")
        version_number = self._parse_version(version)
        method_text = method.decode("latin-1")
        if "method-case-insensitive" in self.faults and method_text.upper() in KNOWN_METHODS:
            method_text = method_text.upper()
        request = Request(method=method_text, target=target, version=version_number)
        self._check_target(request)
        return request

    def _parse_version(self, version: bytes) -> tuple[int, int]:
        loose = self._loose_version(version) if "version-numbers-wrap" in self.faults else None
        if loose is not None:
            major, minor = loose
        elif "lenient-version" in self.faults:
            match = LENIENT_VERSION.search(version)
            if not match:
                raise Reject(400, "no HTTP-version")
            major, minor = int(match.group(1) or 1), int(match.group(2) or 0)
        else:
            match = VERSION.fullmatch(version)
            if not match:
                raise Reject(400, "the HTTP-version is not HTTP/DIGIT.DIGIT")
            major, minor = int(match.group(1)), int(match.group(2))
        if major != 1:
            # https://www.rfc-editor.org/rfc/rfc9110#section-15.6.6: 505 for a major version
            # the server does not support.
            raise Reject(505, "only HTTP/1.x is supported")
        if minor > 1:
            # https://www.rfc-editor.org/rfc/rfc9110#section-2.5: a higher minor version is
            # processed as the highest minor version the recipient conforms to.
            if "reject-higher-minor" in self.faults:
                raise Reject(505, "only HTTP/1.0 and HTTP/1.1 are supported")
            minor = 1
        return major, minor

    @staticmethod
    def _loose_version(version: bytes) -> tuple[int, int] | None:
        """The ``version-numbers-wrap`` fault: "HTTP/" and digits read as C's 32-bit
        integers would (any number of digits, wrapping), a missing dot between two digits
        taken for granted. None when that reading finds no version either."""
        if not version.startswith(b"HTTP/"):
            return None
        major, dot, minor = version[5:].partition(b".")
        if not dot and len(major) == 2:
            major, minor = major[:1], major[1:]
        if not (major.isdigit() and minor.isdigit()):
            return None
        return int(major) % 2**32, int(minor)

    def _check_target(self, request: Request) -> None:
        target = request.target
        lenient = "no-target-check" in self.faults or "lenient-request-line" in self.faults
        if not lenient and not TARGET_BYTES.fullmatch(target):
            raise Reject(400, "the request-target has bytes that are not visible ASCII")
        if not lenient and b"#" in target:
            raise Reject(400, "a fragment in the request-target")
        if not lenient and NOT_URI_BYTES.search(target):
            raise Reject(400, "a byte no URI allows in the request-target")
        if target.startswith(b"/"):
            request.path = target.split(b"?", 1)[0]
            return
        absolute = ABSOLUTE.fullmatch(target)
        if absolute:
            # https://www.rfc-editor.org/rfc/rfc9112#section-3.2.2: a server MUST accept the
            # absolute-form in requests.
            if "no-absolute-form" in self.faults:
                raise Reject(400, "absolute-form is not accepted")
            if b"@" in absolute.group(2) and "absolute-form-userinfo-accepted" not in self.faults:
                # https://www.rfc-editor.org/rfc/rfc9110#section-4.2.4: userinfo in an http
                # URI is an error.
                raise Reject(400, "user information in the target")
            request.absolute_authority = absolute.group(2).rpartition(b"@")[2]
            request.path = absolute.group(3).split(b"?", 1)[0] or b"/"
            return
        if request.method == "CONNECT" and "connect-tunnels" in self.faults:
            request.path = b"/"  # authority-form, taken as a tunnel request
            return
        if target == b"*" and request.method == "OPTIONS" and "options-star-rejected" not in self.faults:
            request.path = b"*"
            return
        if "other-forms-autocorrected" in self.faults and request.method != "CONNECT":
            # "DELETE *", "GET host:port": autocorrected to a request for the server's root
            request.path = b"/"
            if request.method != "HEAD":
                request.method = "GET"
            return
        if lenient:
            request.path = target
            return
        # https://www.rfc-editor.org/rfc/rfc9112#section-3.2.3 and §3.2.4: authority-form is
        # only for CONNECT, asterisk-form only for OPTIONS.
        raise Reject(400, "the request-target is in no form this method allows")

    def _parse_fields(self, request: Request, lines: list[bytes]) -> None:
        if len(lines) > FIELD_COUNT_CAP:
            raise Reject(431, "too many field lines")
        for number, line in enumerate(lines):
            if len(line) > FIELD_LINE_CAP:
                raise Reject(431, "a field line is too long")
            if line[:1] in (b" ", b"\t"):
                if number > 0 and "obs-fold-dropped" in self.faults:
                    continue
                if number == 0:
                    # https://www.rfc-editor.org/rfc/rfc9112#section-2.2: whitespace between
                    # the start-line and the first field: reject, or consume the line.
                    if "whitespace-line-as-field" not in self.faults:
                        raise Reject(400, "whitespace before the first field line")
                elif "obs-fold-joined" in self.faults and request.fields:
                    # The continuation glued to the previous value: "a" + " b" -> "ab".
                    last_name, last_value = request.fields[-1]
                    request.fields[-1] = (last_name, last_value + self._field_value(line.lstrip(OWS)))
                    continue
                elif "obs-fold-as-field" not in self.faults:
                    # https://www.rfc-editor.org/rfc/rfc9112#section-5.2: obs-fold in a request:
                    # reject with 400, or replace with SP.
                    raise Reject(400, "obsolete line folding")
                line = line.lstrip(OWS)
            name, colon, value = line.partition(b":")
            if not colon or not name:
                if "lenient-field-names" in self.faults:
                    continue
                raise Reject(400, "a field line without a colon or a name")
            if name[-1:] in (b" ", b"\t"):
                # https://www.rfc-editor.org/rfc/rfc9112#section-5.1: a server MUST reject a
                # request with whitespace between a field name and colon with 400.
                if "accept-space-before-colon" not in self.faults:
                    raise Reject(400, "whitespace between a field name and its colon")
                name = name.rstrip(OWS)
            if "field-name-junk-stripped" in self.faults:
                name = bytes(byte for byte in name if TOKEN.fullmatch(bytes([byte])))
            if not TOKEN.fullmatch(name) and "lenient-field-names" not in self.faults:
                raise Reject(400, "the field name is not a token")
            field_name = self._field_name(name)
            if "duplicate-fields-last-wins" in self.faults:
                request.fields = [(key, v) for key, v in request.fields if key != field_name]
            if "nul-field-dropped" in self.faults and b"\x00" in value:
                continue  # neither rejected nor replaced with SP (RFC 9110 §5.5): just gone
            request.fields.append((field_name, self._field_value(value)))

    def _field_name(self, name: bytes) -> str:
        text = name.decode("latin-1")
        if "underscore-as-hyphen" in self.faults:
            text = text.replace("_", "-")
        if "hyphens-collapsed" in self.faults:
            text = re.sub("-+", "-", text)
        if "case-sensitive-field-names" in self.faults and text.lower() in CANONICAL_NAMES:
            # Only the canonical spelling is recognised; "hOsT" becomes a field of its own.
            return text.lower() if text == CANONICAL_NAMES[text.lower()] else "x-unrecognised-" + text
        return text.lower()

    def _field_value(self, value: bytes) -> bytes:
        if "require-space-after-colon" in self.faults and not value.startswith(b" "):
            raise Reject(400, "no space after the colon")
        if "nul-truncates-value" in self.faults:
            value = value.split(b"\x00", 1)[0]
        if "value-ctl-removed" in self.faults:
            value = bytes(byte for byte in value if byte >= 0x20 and byte != 0x7F or byte == 0x09)
        if "value-unicode-strip" in self.faults:
            value = value.decode("latin-1").strip().encode("latin-1")
        if "ows-not-stripped" in self.faults:
            value = value[1:] if value.startswith(b" ") else value
        elif "value-strip-all-whitespace" in self.faults:
            value = value.strip()
        else:
            # https://www.rfc-editor.org/rfc/rfc9112#section-5.1: leading and trailing OWS
            # is not part of the field value.
            value = value.strip(OWS)
        # https://www.rfc-editor.org/rfc/rfc9110#section-5.5: CR, LF and NUL are invalid in
        # field values (reject or replace); other CTLs are invalid too.
        for byte in value:
            if byte == 0 and "nul-kept-in-value" in self.faults:
                continue
            if (byte < 0x20 and byte != 0x09) or byte == 0x7F:
                raise Reject(400, "a control character in a field value")
            if byte >= 0x80 and "obs-text-rejected" in self.faults:
                raise Reject(400, "a byte above 0x7F in a field value")
        return value

    # -- deciding the body

    def _start_body(self, request: Request) -> None:
        self._check_host(request)
        self.request = request
        te_lines = request.values("transfer-encoding")
        if "empty-te-ignored" in self.faults and not b"".join(te_lines).strip(b" \t,"):
            te_lines = []
        cl_lines = request.values("content-length")
        if te_lines and "cl-te-prefer-cl" in self.faults and cl_lines:
            te_lines = []
        if te_lines:
            if request.version == (1, 0) and "te-http10-honoured" not in self.faults:
                # https://www.rfc-editor.org/rfc/rfc9112#section-6.1: Transfer-Encoding in an
                # HTTP/1.0 message: the framing is faulty; close after processing.
                raise Reject(400, "Transfer-Encoding in an HTTP/1.0 request")
            if cl_lines:
                # https://www.rfc-editor.org/rfc/rfc9112#section-6.1: a server MAY reject a
                # request with both, and MUST close the connection after responding.
                raise Reject(400, "both Content-Length and Transfer-Encoding")
            if self._is_chunked(te_lines):
                if "chunked-not-decoded" in self.faults:
                    self._complete()
                    return
                if self._continue(request):
                    return
                self.state = "chunk-size"
                return
            if "unknown-te-ignored" in self.faults or "te-exact-match" in self.faults:
                self._complete()
                return
            # https://www.rfc-editor.org/rfc/rfc9112#section-6.1: a server SHOULD answer a
            # transfer coding it does not understand with 501.
            raise Reject(501, "a transfer coding this server does not implement")
        if self._continue(request):
            return
        if not cl_lines and "no-length-body-until-close" in self.faults and request.method == "POST":
            self.remaining = 1 << 62  # a body that ends only when the connection does
            self.state = "body"
            return
        if cl_lines:
            length = self._content_length(cl_lines)
            if "cl-body-ignored" in self.faults:
                length = 0
            if length > BODY_CAP:
                raise Reject(413, "the body is too large")
            self.remaining = length
            if length:
                self.state = "body"
                return
        self._complete()

    def _is_chunked(self, te_lines: list[bytes]) -> bool:
        """Whether the Transfer-Encoding lines frame the body as chunked; raises when they
        cannot be honoured."""
        joined = b", ".join(te_lines)
        if "chunked-substring-match" in self.faults and b"chunked" in joined.lower():
            return True
        if "te-exact-match" in self.faults:
            return te_lines == [b"chunked"]
        codings = []
        for element in joined.split(b","):
            element = element.strip(OWS)
            if element:  # https://www.rfc-editor.org/rfc/rfc9110#section-5.6.1: empty elements
                coding, semicolon, _ = element.partition(b";")
                coding = coding.strip(OWS).lower()
                if coding == b"chunked" and semicolon and "chunked-params-ignored" not in self.faults:
                    # https://www.rfc-editor.org/rfc/rfc9112#section-7.1: chunked defines no
                    # parameters; their presence SHOULD be treated as an error.
                    raise Reject(400, "parameters on the chunked coding")
                codings.append(coding)
        if not codings:
            raise Reject(400, "an empty Transfer-Encoding")
        if "chunked-anywhere" in self.faults and b"chunked" in codings:
            return True
        if b"chunked" in codings and (codings[-1] != b"chunked" or codings.count(b"chunked") > 1):
            # https://www.rfc-editor.org/rfc/rfc9112#section-6.3: chunked not final: 400 and
            # close; https://www.rfc-editor.org/rfc/rfc9112#section-6.1: never applied twice.
            raise Reject(400, "chunked is not the final coding, or is applied twice")
        if codings == [b"chunked"]:
            return True
        if "unknown-te-ignored" in self.faults:
            return False
        raise Reject(501, "a transfer coding this server does not implement")

    def _continue(self, request: Request) -> bool:
        """https://www.rfc-editor.org/rfc/rfc9110#section-10.1.1: answer 100 (Continue) when
        a 1.1 client waits for it before sending the body (never to an HTTP/1.0 client); an
        expectation this server does not know is ignored. True when a fault has already dealt
        with the request (answered it early, or is waiting for a body that will not come)."""
        unknown = request.tokens("expect") - {"100-continue"}
        if unknown and "expect-unknown-417-body-unread" in self.faults:
            # 417 at once, and the body left on the connection to be read as a request.
            self.request = None
            self.state = "head"
            self._respond(request, 417, body=b"expectation failed\n", close=False)
            return True
        if "expect-ignored" in self.faults or self.buf:
            return False
        if request.version < (1, 1) and "100-continue-to-http10" not in self.faults:
            return False
        if "expect-case-sensitive" in self.faults:
            waiting = b"100-continue" in [v.strip(OWS) for v in request.values("expect")]
        else:
            waiting = "100-continue" in request.tokens("expect")
        announced = request.values("transfer-encoding") or any(
            v.strip(OWS) not in (b"", b"0") for v in request.values("content-length")
        )
        if waiting and not announced and "expect-no-body-hangs" in self.faults:
            self.state, self.remaining = "body", 1 << 62  # waits for a body never announced
            return True
        if waiting and announced:
            if "expect-early-final-keeps-body" in self.faults:
                self.remaining = 0
                self._complete()  # answered now; the body that follows is read as a request
                return True
            extra = b"Content-Length: 0\r\n" if "cl-on-100" in self.faults else b""
            self.transport.write(b"HTTP/1.1 100 Continue\r\n" + extra + b"\r\n")
        return False

    def _content_length(self, lines: list[bytes]) -> int:
        # https://www.rfc-editor.org/rfc/rfc9110#section-8.6: Content-Length = 1*DIGIT;
        # https://www.rfc-editor.org/rfc/rfc9112#section-6.3 (rule 5): invalid means 400 and
        # close.
        if "lenient-content-length" in self.faults:
            return max(0, strtol(lines[0]))
        elements = [element.strip(OWS) for line in lines for element in line.split(b",")]
        numbers = []
        for element in elements:
            if not element.isdigit() or not element.isascii():
                raise Reject(400, "Content-Length is not a decimal number")
            octal = "cl-leading-zero-octal" in self.faults and element.startswith(b"0") and len(element) > 1
            numbers.append(int(element, 8 if octal else 10))
        if len(set(numbers)) > 1:
            if "cl-first-wins" in self.faults:
                return numbers[0]
            raise Reject(400, "differing Content-Length values")
        return numbers[0]

    def _check_host(self, request: Request) -> None:
        hosts = request.values("host")
        if request.version >= (1, 1) or hosts:
            # https://www.rfc-editor.org/rfc/rfc9112#section-3.2: 400 to an HTTP/1.1 request
            # without Host, with several Host lines, or with an invalid Host value.
            if not hosts and request.version >= (1, 1) and "no-host-check" not in self.faults:
                raise Reject(400, "no Host field")
            if len(hosts) > 1 and "duplicate-host-ok" not in self.faults:
                raise Reject(400, "several Host fields")
            if hosts and "no-host-syntax-check" not in self.faults and not self._valid_host(hosts[0]):
                raise Reject(400, "an invalid Host value")

    def _valid_host(self, value: bytes) -> bool:
        if "naive-host-parse" in self.faults:
            name, _, port = value.partition(b":")
            return port.isdigit() or not port
        return HOST.fullmatch(value) is not None

    # -- bodies

    def _body(self) -> bool:
        if not self.buf:
            return False
        assert self.request is not None
        take = min(self.remaining, len(self.buf))
        self.request.body += self.buf[:take]
        del self.buf[:take]
        self.remaining -= take
        if self.remaining:
            return False
        self._complete()
        return True

    def _chunk_size(self) -> bool:
        if "bare-cr-accepted" in self.faults:
            self.buf = bytearray(re.sub(rb"\r(?=[^\n])", b"\r\n", bytes(self.buf)))
        found = self._line_end()
        if found is None:
            if len(self.buf) > CHUNK_LINE_CAP:
                raise Reject(400, "a chunk-size line is too long")
            return False
        content_end, next_start = found
        line = bytes(self.buf[:content_end])
        del self.buf[:next_start]
        if b"\r" in line:
            raise Reject(400, "a bare CR in a chunk-size line")
        size = self._parse_chunk_size(line)
        if size > BODY_CAP - len(self.request.body if self.request else b""):
            raise Reject(413, "the body is too large")
        if size == 0:
            if "trailers-not-consumed" in self.faults:
                self._complete()
                return True
            self.state = "trailers"
            self.trailer_lines = 0
            return True
        self.remaining = size
        self.state = "chunk-data"
        return True

    def _parse_chunk_size(self, line: bytes) -> int:
        # https://www.rfc-editor.org/rfc/rfc9112#section-7.1:
        #   chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF; chunk-size = 1*HEXDIG
        if "lenient-chunk-size" in self.faults:
            return max(0, strtol(line.split(b";", 1)[0], 16))
        if "chunk-size-decimal" in self.faults:
            digits = re.match(rb"[0-9]+", line)
            if not digits:
                raise Reject(400, "the chunk size is not a number")
            size_text, rest = digits.group(), line[digits.end() :]
            size = int(size_text)
        else:
            digits = HEXDIGITS.match(line)
            if not digits:
                raise Reject(400, "the chunk size is not 1*HEXDIG")
            size_text, rest = digits.group(), line[digits.end() :]
            significant = size_text.lstrip(b"0")
            if "chunked-size-overflow-wraps" in self.faults:
                size = int(size_text, 16) & 0xFFFFFFFFFFFFFFFF
            elif len(significant) > 15:
                # https://www.rfc-editor.org/rfc/rfc9112#section-7.1: recipients MUST
                # anticipate large numerals and prevent integer overflow.
                raise Reject(400, "the chunk size is too large")
            else:
                size = int(size_text, 16)
        if rest:
            if "chunk-ext-rejected" in self.faults:
                raise Reject(400, "chunk extensions are not accepted")
            if not CHUNK_EXT.fullmatch(rest):
                raise Reject(400, "an invalid chunk extension")
        return size

    def _chunk_data(self) -> bool:
        if not self.buf:
            return False
        assert self.request is not None
        take = min(self.remaining, len(self.buf))
        self.request.body += self.buf[:take]
        del self.buf[:take]
        self.remaining -= take
        if self.remaining:
            return False
        self.state = "chunk-crlf"
        return True

    def _chunk_crlf(self) -> bool:
        if "chunk-data-crlf-unchecked" in self.faults:
            if len(self.buf) < 2:
                return False
            del self.buf[:2]
            self.state = "chunk-size"
            return True
        if self.buf[:2] == b"\r\n":
            del self.buf[:2]
        elif self.buf[:1] == b"\n" and "bare-lf-hangs" not in self.faults:
            del self.buf[:1]
        elif self.buf in (b"", b"\r"):
            return False
        else:
            raise Reject(400, "chunk data is not followed by CRLF")
        self.state = "chunk-size"
        return True

    def _trailers(self) -> bool:
        found = self._line_end()
        if found is None:
            if len(self.buf) > FIELD_LINE_CAP:
                raise Reject(431, "a trailer line is too long")
            return False
        content_end, next_start = found
        line = bytes(self.buf[:content_end])
        del self.buf[:next_start]
        if not line:
            self._complete()
            return True
        self.trailer_lines += 1
        if self.trailer_lines > FIELD_COUNT_CAP:
            raise Reject(431, "too many trailer lines")
        if "trailers-unchecked" in self.faults:
            return True
        # https://www.rfc-editor.org/rfc/rfc9112#section-7.1.2: trailer fields are field lines;
        # this server checks and discards them.
        name, colon, value = line.partition(b":")
        if b"\r" in line or not colon or not TOKEN.fullmatch(name):
            raise Reject(400, "an invalid trailer field line")
        checked = self._field_value(value)
        if "trailers-merged" in self.faults and self.request is not None:
            # https://www.rfc-editor.org/rfc/rfc9110#section-6.5.2 forbids this merge.
            self.request.fields.append((self._field_name(name), checked))
        return True

    # ------------------------------------------------------------------ answering

    def _complete(self) -> None:
        request = self.request
        assert request is not None
        self.request = None
        self.state = "head"
        if self.answered_early:
            self.answered_early = False
            return
        self._answer(request)
        self._restart_timeout()
        if "pipeline-drop-second" in self.faults:
            self.buf.clear()

    def _answer(self, request: Request) -> None:
        authority = request.absolute_authority
        if authority is None or "absolute-form-uses-host" in self.faults:
            hosts = request.values("host")
            authority = hosts[0] if hosts else b""
        hostname = HOST.fullmatch(authority)
        if hostname and hostname.group(1).lower().endswith(b".invalid"):
            # https://www.rfc-editor.org/rfc/rfc9110#section-7.4: a request for an authority
            # this server does not serve.
            self._respond(request, 421, body=b"misdirected\n")
            return
        if request.path == b"/echo":
            self._echo(request, authority)
            return
        method = request.method
        if request.values("upgrade") and (
            "upgrade-always-101" in self.faults or "101-without-upgrade" in self.faults
        ):
            upgrade = request.values("upgrade")[0].decode("latin-1")
            named = "" if "101-without-upgrade" in self.faults else f"Upgrade: {upgrade}\r\n"
            self.transport.write(
                f"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n{named}\r\n".encode()
            )
            self._close()
            return
        if self._websocket(request):
            return
        if method not in KNOWN_METHODS:
            if "unknown-method-as-get" in self.faults:
                method = "GET"
            else:
                # https://www.rfc-editor.org/rfc/rfc9110#section-9.1: 501 for an unrecognised
                # method.
                self._respond(request, 501, body=b"not implemented\n")
                return
        if method == "CONNECT" and "connect-tunnels" in self.faults:
            self._respond(request, 200, body=b"")
            return
        if method == "TRACE" and "trace-echoes-credentials" in self.faults:
            echo = f"TRACE {request.target.decode('latin-1')} HTTP/1.1\r\n".encode("latin-1") + b"".join(
                name.encode("latin-1") + b": " + value + b"\r\n" for name, value in request.fields
            )
            self._respond(request, 200, headers=[("Content-Type", "message/http")], body=echo + b"\r\n")
            return
        if method == "OPTIONS":
            if request.values("if-modified-since") and "ims-always-304" in self.faults:
                self._respond(request, 304, headers=self._validators())
                return
            self._options(request)
            return
        if "preconditions-before-404" in self.faults and self._preconditions(request, method):
            return
        path = request.path
        if "percent-decoded-target" in self.faults:
            path = urllib.parse.unquote_to_bytes(path).split(b"\x00", 1)[0]
        if path != b"/":
            reflected = [("Content-Location", path.decode("latin-1"))] if path != request.path else []
            self._respond(request, 404, headers=reflected, body=b"not found\n")
            return
        if method not in SUPPORTED_METHODS:
            allow = [] if "405-without-allow" in self.faults else [("Allow", ALLOW)]
            self._respond(request, 405, headers=allow, body=b"method not allowed\n")
            return
        if "preconditions-before-404" not in self.faults and self._preconditions(request, method):
            return
        if request.values("range") and "range-any-unit" in self.faults:
            headers = [("Content-Type", RESOURCE_TYPE), ("Content-Range", f"bytes 0-0/{len(RESOURCE_BODY)}")]
            self._respond(request, 206, headers=headers, body=RESOURCE_BODY[:1])
            return
        headers = self._validators()
        if "no-content-type" not in self.faults:
            headers.insert(0, ("Content-Type", RESOURCE_TYPE))
        if method == "GET" and self._range(request, headers):
            return
        if method == "HEAD" and "head-fields-differ" in self.faults:
            self._respond(request, 200, headers=self._validators(), body=b"", length=True)
            return
        self._respond(request, 200, headers=headers, body=RESOURCE_BODY)

    def _echo(self, request: Request, authority: bytes) -> None:
        """The echo contract: the request as this server parsed it, every string one
        character per octet."""
        document = {
            "method": request.method,
            "target": request.target.decode("latin-1"),
            "version": "HTTP/{}.{}".format(*request.version),
            "authority": authority.decode("latin-1"),
            "headers": [[name, value.decode("latin-1")] for name, value in request.fields],
            "body": bytes(request.body).decode("latin-1"),
        }
        body = json.dumps(document).encode("ascii")
        self._respond(request, 200, headers=[("Content-Type", "application/json")], body=body)

    def _validators(self) -> list[tuple[str, str]]:
        return [("ETag", RESOURCE_ETAG), ("Last-Modified", RESOURCE_LAST_MODIFIED)]

    def _options(self, request: Request) -> None:
        allow = [("Allow", ALLOW)]
        if "cl-on-204" in self.faults:
            self._respond(request, 204, headers=allow, body=b"", length=True)
        elif "te-on-204" in self.faults:
            self._respond(request, 204, headers=[*allow, ("Transfer-Encoding", "chunked")], body=b"")
        elif "204-with-body" in self.faults:
            self._respond(request, 204, headers=allow, body=ALLOW.encode() + b"\n")
        elif "options-no-length" in self.faults:
            self._respond(request, 200, headers=allow, body=b"", length=False, close=True)
        elif "options-without-allow" in self.faults:
            self._respond(request, 200, body=b"")
        else:
            # https://www.rfc-editor.org/rfc/rfc9110#section-9.3.7: Allow, and
            # Content-Length: 0 when there is no content.
            self._respond(request, 200, headers=allow, body=b"")

    def _websocket(self, request: Request) -> bool:
        """A WebSocket opening handshake (RFC 6455 §4.2): 426 with the supported version for
        another version, else 101 (after which this server, which speaks no WebSocket, just
        closes). Anything short of a valid handshake is served as plain HTTP."""
        if not (
            request.method == "GET"
            and request.version == (1, 1)
            and "websocket" in request.tokens("upgrade")
            and "upgrade" in request.tokens("connection")
            and request.values("sec-websocket-key")
        ):
            return False
        key = request.values("sec-websocket-key")[0].strip(OWS)
        if request.values("sec-websocket-version") != [b"13"] and "websocket-any-version" not in self.faults:
            # https://www.rfc-editor.org/rfc/rfc6455#section-4.4 and
            # https://www.rfc-editor.org/rfc/rfc9110#section-15.5.22: 426 names the protocol.
            headers = [("Sec-WebSocket-Version", "13")]
            if "426-without-upgrade" not in self.faults:
                headers += [("Upgrade", "websocket"), ("Connection", "upgrade")]
            self._respond(request, 426, headers=headers, body=b"upgrade required\n")
            return True
        accept = base64.b64encode(hashlib.sha1(key + WEBSOCKET_GUID.encode()).digest()).decode()
        self.transport.write(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
        )
        self._close()
        return True

    # -- conditional requests and ranges

    def _preconditions(self, request: Request, method: str) -> bool:
        """https://www.rfc-editor.org/rfc/rfc9110#section-13.2.2: the preconditions in their
        order; True when a 412 or 304 answered the request."""
        steps = [self._if_match, self._if_none_match]
        if "precondition-order-reversed" in self.faults:
            steps.reverse()
        for step in steps:
            status = step(request, method)
            if status is not None:
                headers = self._validators() if status == 304 else []
                if status == 304 and "304-without-etag" in self.faults:
                    headers = []
                self._respond(request, status, headers=headers, body=b"precondition failed\n")
                return True
        return False

    def _if_match(self, request: Request, method: str) -> int | None:
        """Steps 1 and 2: If-Match (strong comparison), else If-Unmodified-Since."""
        values = request.values("if-match")
        if values and "if-match-ignored" not in self.faults:
            tags = {element.strip(OWS) for value in values for element in value.split(b",")}
            if "if-match-weak" in self.faults:
                tags = {tag.removeprefix(b"W/") for tag in tags}
            if b"*" in tags and "if-match-star-literal" not in self.faults:
                # https://www.rfc-editor.org/rfc/rfc9110#section-13.1.1: "*" is true when the
                # resource has a current representation.
                return None if request.path == b"/" else 412
            # The current strong tag.
            current = RESOURCE_ETAG.encode() in tags and "if-match-never-current" not in self.faults
            return None if current else 412
        since = self._date(request, "if-unmodified-since")
        if since is None and request.values("if-unmodified-since") and "ius-invalid-412" in self.faults:
            return 412
        if since is not None and "ius-ignored" not in self.faults:
            # https://www.rfc-editor.org/rfc/rfc9110#section-13.1.4: modified after the date.
            assert LAST_MODIFIED_SECONDS is not None
            if "ius-equal-fails" in self.faults:
                return 412 if since <= LAST_MODIFIED_SECONDS else None
            return 412 if since < LAST_MODIFIED_SECONDS else None
        return None

    def _if_none_match(self, request: Request, method: str) -> int | None:
        """Steps 3 and 4: If-None-Match (weak comparison), else If-Modified-Since."""
        imss = request.values("if-modified-since")
        if imss and "ims-always-304" in self.faults:
            return 304
        values = request.values("if-none-match")
        if values and "inm-ignored" not in self.faults:
            if self._none_match_false(values):
                # https://www.rfc-editor.org/rfc/rfc9110#section-13.1.2: 304 for GET and HEAD,
                # 412 for other methods.
                return 304 if method in ("GET", "HEAD") else 412
            return None
        if method not in ("GET", "HEAD") or not imss:
            return None
        since = self._date(request, "if-modified-since")
        if since is None:
            return None
        if since > self.clock() and "ims-future-400" in self.faults:
            return 400
        assert LAST_MODIFIED_SECONDS is not None
        # https://www.rfc-editor.org/rfc/rfc9110#section-13.1.3: not modified since the date.
        return 304 if since >= LAST_MODIFIED_SECONDS else None

    def _none_match_false(self, values: list[bytes]) -> bool:
        if "inm-always-304" in self.faults:
            return True
        current = RESOURCE_ETAG.encode()
        for value in values:
            for element in value.split(b","):
                tag = element.strip(OWS)
                if "inm-unquoted-match" in self.faults:
                    tag = tag.replace(b'"', b"")
                    current = current.replace(b'"', b"")
                if "inm-strong-comparison" not in self.faults:
                    # https://www.rfc-editor.org/rfc/rfc9110#section-8.8.3.2: weak comparison
                    tag = tag.removeprefix(b"W/")
                if tag == b"*" or tag == current:
                    return True
        return False

    def _date(self, request: Request, name: str) -> int | None:
        """The one HTTP-date of a date precondition, or None when the field is to be ignored
        (absent, more than one member, not a valid HTTP-date)."""
        values = request.values(name)
        if len(values) != 1:
            return None
        text = values[0].decode("latin-1")
        lenient = "ims-lenient-date" in self.faults and name == "if-modified-since"
        if not lenient and text.count(",") > 1:
            return None  # more than one member
        imf_only = "ims-imf-only" in self.faults and name == "if-modified-since"
        return http_date(text, imf_only=imf_only, lenient=lenient)

    def _range(self, request: Request, headers: list[tuple[str, str]]) -> bool:
        """https://www.rfc-editor.org/rfc/rfc9110#section-14.2: one byte range of the resource
        as 206, an unsatisfiable one as 416; anything else (another unit, an invalid or a
        multiple range set, a stale If-Range) is ignored. True when it answered."""
        values = request.values("range")
        if len(values) != 1:
            return False
        if_range = request.values("if-range")
        validators = (RESOURCE_ETAG.encode(), RESOURCE_LAST_MODIFIED.encode())
        if if_range and "if-range-ignored" not in self.faults and if_range[0].strip(OWS) not in validators:
            # https://www.rfc-editor.org/rfc/rfc9110#section-13.1.5: a stale validator (not the
            # strong tag, nor the exact date): the whole representation.
            return False
        unit, equals, spec = values[0].decode("latin-1").partition("=")
        if not equals or unit.strip().lower() != "bytes":
            return False
        size = len(RESOURCE_BODY)
        parts: list[tuple[int, int]] = []
        for element in spec.split(","):
            match = re.fullmatch(r"[ \t]*([0-9]*)-([0-9]*)[ \t]*", element)
            if not match or not (match.group(1) or match.group(2)):
                return False  # an invalid ranges-specifier is ignored
            first, last = match.groups()
            if first:
                start, end = int(first), min(int(last), size - 1) if last else size - 1
                if last and int(last) < int(first):
                    return False
            else:
                start, end = max(0, size - int(last)), size - 1
            parts.append((start, end))
        if len(parts) > 1:
            return False  # several ranges: this server sends the whole representation
        ((start, end),) = parts
        if start >= size:
            unsatisfiable = (
                [] if "416-without-content-range" in self.faults else [("Content-Range", f"bytes */{size}")]
            )
            self._respond(request, 416, headers=unsatisfiable, body=b"range not satisfiable\n")
            return True
        if "range-no-content-range" not in self.faults:
            headers = [*headers, ("Content-Range", f"bytes {start}-{end}/{size}")]
        self._respond(request, 206, headers=headers, body=RESOURCE_BODY[start : end + 1])
        return True

    def _keep_alive(self, request: Request) -> bool:
        tokens = request.tokens("connection")
        if "close" in tokens and "ignore-connection-close" not in self.faults:
            return False
        if request.version == (1, 0):
            # https://www.rfc-editor.org/rfc/rfc9112#section-9.3: HTTP/1.0 persists only with
            # the keep-alive connection option.
            return "keep-alive" in tokens or "http10-keep-alive-default" in self.faults
        return "close-after-response" not in self.faults

    def _respond(
        self,
        request: Request,
        status: int,
        *,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        length: bool | None = None,
        close: bool | None = None,
        early: bool = False,
    ) -> None:
        keep_alive = self._keep_alive(request) if close is None else not close
        version = "HTTP/1.1"
        if "echo-request-version" in self.faults and request.version == (1, 0):
            version = "HTTP/1.0"
        if "http10-responses" in self.faults:
            version = "HTTP/1.0"
        reason = REASONS.get(status, "Unknown")
        lines = [
            f"{version} {status}" if "bad-status-line" in self.faults else f"{version} {status} {reason}"
        ]
        if "no-date" not in self.faults:
            if "date-wrong-format" in self.faults:
                date = time.strftime("%A, %d-%b-%y %H:%M:%S GMT", time.gmtime(self.clock()))
            else:
                date = email.utils.formatdate(self.clock(), usegmt=True)
            lines.append(f"Date: {date}")
        lines.append("Server: faulty-h1")
        headers = list(headers or [])
        named = {name.lower() for name, _ in headers}
        if body and status != 304 and "content-type" not in named and "no-content-type" not in self.faults:
            # https://www.rfc-editor.org/rfc/rfc9110#section-8.3: content says its type.
            headers.insert(0, ("Content-Type", "text/plain"))
        lines.extend(f"{name}: {value}" for name, value in headers)
        no_content = status == 204 or status == 304 or (100 <= status < 200)
        send_body = body
        chunked = False
        if status == 304:
            send_body = RESOURCE_BODY if "304-with-body" in self.faults else b""
            if send_body:
                lines.append(f"Content-Length: {len(send_body)}")
        elif "chunked-to-http10" in self.faults and not no_content and length is not False:
            lines.append("Transfer-Encoding: chunked")
            chunked = True
        elif (not no_content and length is not False) or length:
            # https://www.rfc-editor.org/rfc/rfc9110#section-8.6: a HEAD response may carry
            # the Content-Length a GET would have had.
            wrong = 1 if status == 404 and "error-length-wrong" in self.faults else 0
            lines.append(f"Content-Length: {len(body) + wrong}")
        if request.method == "HEAD" and "head-sends-body" not in self.faults:
            send_body = b""
        elif chunked:
            send_body = (b"%x\r\n%s\r\n" % (len(send_body), send_body) if send_body else b"") + b"0\r\n\r\n"
        if not keep_alive:
            silent = (
                "close-after-response" in self.faults
                or ("no-connection-close-header" in self.faults and "close" in request.tokens("connection"))
                or (status >= 400 and "error-close-unannounced" in self.faults)
            )
            if not silent:
                lines.append("Connection: close")
        elif request.version == (1, 0) and "http10-keep-alive-unannounced" not in self.faults:
            lines.append("Connection: keep-alive")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + send_body
        if "pipeline-reorder" in self.faults and status == 200 and self.buf and keep_alive:
            self.held.append(data)  # sent after the responses to the requests behind it
        else:
            self.transport.write(data)
        if not keep_alive and not early:
            self._close()

    def _flush_held(self) -> None:
        held, self.held = self.held, []
        for data in held:
            self.transport.write(data)

    def _reject(self, reject: Reject) -> None:
        request = self.request or Request(method="GET", target=b"/", version=(1, 1))
        self.request = None
        close = reject.close
        if reject.limit and "limits-close-silently" in self.faults:
            self._close()
            return
        if reject.status == 400 and "reject-by-closing" in self.faults:
            # What RFC 9112 §2.2's SHOULD tolerates (NON-STRICT), and the strict profile does not.
            self._close()
            return
        if "keep-alive-after-error" in self.faults:
            close = False
            self.state = "head"
            self.buf.clear()
        body = f"{reject.status} {REASONS.get(reject.status, '')}: {reject}\n".encode("latin-1")
        self._respond(request, reject.status, body=body, close=close)
        if close:
            self._close()

    def _close(self) -> None:
        """Close after the response: stop writing, and keep reading (discarding) for a while
        so that unread request bytes do not make the kernel reset the connection before the
        client has read the response (https://www.rfc-editor.org/rfc/rfc9112#section-9.6)."""
        if self.closing:
            return
        self._flush_held()
        self.closing = True
        self.state = "closed"
        self.buf.clear()
        lose_write = getattr(self.transport, "loseWriteConnection", None)
        reactor = self.reactor
        if lose_write is None or reactor is None:
            self.transport.loseConnection()
            return
        lose_write()
        self.linger = reactor.callLater(LINGER_SECONDS, self.transport.loseConnection)


def listen(
    reactor: Any, faults: Iterable[str] = (), host: str = "127.0.0.1", port: int = 0
) -> IListeningPort:
    """Start the server on ``host:port`` (0: a free port) with the given faults switched on."""
    chosen = fault_matrix.check_faults(faults, FAULTS)
    listening: IListeningPort = fault_matrix.listen_tcp(
        reactor, lambda: _connection(chosen, reactor), host=host, port=port
    )
    return listening


def factory(reactor: Any, faults: Iterable[str] = ()) -> Any:
    """A protocol factory of the server, to listen otherwise (over TLS, say)."""
    chosen = fault_matrix.check_faults(faults, FAULTS)
    return fault_matrix.factory(lambda: _connection(chosen, reactor))


def _connection(faults: frozenset[str], reactor: Any) -> FaultyHTTP11:
    made = FaultyHTTP11(faults, clock=reactor.seconds)
    made.reactor = reactor
    return made


def main(argv: list[str] | None = None) -> int:
    return fault_matrix.serve(
        argv,
        description=__doc__,
        faults=FAULTS,
        listen=listen,
        label="faulty HTTP/1.1 server",
        url="http://{host}:{port}/",
        default_port=18081,
    )


if __name__ == "__main__":
    sys.exit(main())
