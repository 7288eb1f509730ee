"""The reference target's HTTP/1.1 server: a strict request reader in front of h11.

h11 keeps the connection's state (persistence, ``Connection: close``, HTTP/1.0, waiting for
100-continue) and writes the responses. But it accepts some requests RFC 9112 says to reject
(a bare CR, Content-Length with Transfer-Encoding, invalid Host values, ...) and rejects
some it says to accept (leading empty lines, empty list elements, BWS in chunk extensions).
So every request is first read here, strictly, against the RFC 9112 grammar
(:class:`RequestReader`, sans-IO), and h11 is fed a canonical re-encoding of what was
accepted: one clean head with the framing decided here, and the body re-chunked. What is
rejected is answered here, and the connection closed: after a framing error nothing that
follows on the connection can be trusted.

:class:`HTTP1Channel` is the Twisted protocol that joins the two and calls
:mod:`conformance.targets.resources` for the answers.
"""

from __future__ import annotations

import email.utils
import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import h11
from twisted.internet import defer, protocol
from twisted.internet.interfaces import IHalfCloseableProtocol, IPushProducer
from twisted.python.failure import Failure
from zope.interface import implementer

from conformance.targets import resources

REQUEST_LINE_CAP = 8 * 1024  # a longer request line is answered 414
FIELD_LINE_CAP = 8 * 1024  # a longer field line, 431
HEAD_CAP = 16 * 1024  # a larger header (or trailer) section, 431
FIELD_COUNT_CAP = 100  # more field lines, 431
BODY_CAP = 16 * 1024 * 1024  # a larger body, 413
CHUNK_LINE_CAP = 4 * 1024  # a longer chunk-size line (extensions included), 400
LEADING_EMPTY_LINES_CAP = 16  # more empty lines before the request line, 400
LINGER_SECONDS = 2.0  # after closing our side, how long to read and discard

REASONS = {
    100: "Continue",
    200: "OK",
    204: "No Content",
    304: "Not Modified",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    412: "Precondition Failed",
    413: "Content Too Large",
    414: "URI Too Long",
    417: "Expectation Failed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    505: "HTTP Version Not Supported",
}

OWS = b" \t"
# https://www.rfc-editor.org/rfc/rfc9110#section-5.6.2: token = 1*tchar
_TCHARS = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
TOKEN = re.compile(_TCHARS)
# https://www.rfc-editor.org/rfc/rfc9112#section-2.3: HTTP-version = HTTP-name "/" DIGIT "." DIGIT
VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])")
# https://www.rfc-editor.org/rfc/rfc9112#section-3.2: a request-target is made of the
# characters RFC 3986 §2 allows in a URI (no controls, spaces, DEL, nor " < > \ ^ ` { | }),
# and carries no fragment.
TARGET = re.compile(rb"[A-Za-z0-9\-._~:/?\[\]@!$&'()*+,;=%]+")
ABSOLUTE = re.compile(rb"(?i)https?://([^/?#]*)([^#]*)")
# https://www.rfc-editor.org/rfc/rfc9110#section-5.5: field-value bytes are VCHAR, obs-text,
# SP and HTAB; CR, LF, NUL and the other controls are not field content.
FIELD_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")
# https://www.rfc-editor.org/rfc/rfc3986#section-3.2.2: reg-name = *( unreserved /
# pct-encoded / sub-delims ), IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
REG_NAME = re.compile(rb"(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")
IP_FUTURE = re.compile(rb"[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+")
# https://www.rfc-editor.org/rfc/rfc9112#section-7.1 and §7.1.1, with the BWS that
# https://www.rfc-editor.org/rfc/rfc9110#section-5.6.3 says to accept:
#   chunk-size [ chunk-ext ], chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
_QUOTED = rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
_CHUNK_EXT = rb"[ \t]*;[ \t]*" + _TCHARS + rb"(?:[ \t]*=[ \t]*(?:" + _TCHARS + rb"|" + _QUOTED + rb"))?"
CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]+)(?:" + _CHUNK_EXT + rb")*")
# https://www.rfc-editor.org/rfc/rfc9112#section-7: transfer-coding = token *( OWS ";" OWS
# transfer-parameter ), transfer-parameter = token BWS "=" BWS ( token / quoted-string )
_TRANSFER_PARAMETER = rb"[ \t]*;[ \t]*" + _TCHARS + rb"[ \t]*=[ \t]*(?:" + _TCHARS + rb"|" + _QUOTED + rb")"
TRANSFER_CODING = re.compile(rb"(" + _TCHARS + rb")(?:" + _TRANSFER_PARAMETER + rb")*")


class Rejection(Exception):
    """The request is answered with ``status`` and the connection closed."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


# -- the request head


@dataclass(frozen=True, kw_only=True)
class RequestHead:
    """A request head that passed every check."""

    method: bytes
    target: bytes
    minor: int  # HTTP/1.minor; a higher minor is read as 1 (RFC 9110 §2.5)
    path: str  # the target's path without the query; "*" for asterisk-form
    fields: tuple[tuple[bytes, bytes], ...]  # names as sent, values without OWS
    length: int = 0  # the body length when framed by Content-Length
    chunked: bool = False
    # Whom the request is for: an absolute-form target's authority, which overrides Host
    # (RFC 9112 §3.2.2), else the Host field's value.
    authority: bytes = b""

    def values(self, name: bytes) -> list[bytes]:
        return [value for key, value in self.fields if key.lower() == name]

    def tokens(self, name: bytes) -> list[bytes]:
        """The lower-cased, non-empty members of a list field (RFC 9110 §5.6.1)."""
        return [e.strip(OWS).lower() for v in self.values(name) for e in v.split(b",") if e.strip(OWS)]

    @property
    def has_body(self) -> bool:
        return self.chunked or self.length > 0

    @property
    def http10_keep_alive(self) -> bool:
        """https://www.rfc-editor.org/rfc/rfc9112#section-9.3: an HTTP/1.0 request persists
        only with the "keep-alive" connection option (which this server honours)."""
        options = self.tokens(b"connection")
        return self.minor == 0 and b"keep-alive" in options and b"close" not in options


def parse_head(raw: bytes) -> RequestHead:
    """Parse a request head: the request line and field lines, without the empty line that
    ends it. Raise :class:`Rejection` for anything RFC 9112 says is invalid."""
    # https://www.rfc-editor.org/rfc/rfc9112#section-2.2: a recipient MAY recognize a single
    # LF as a line terminator and ignore any preceding CR; any other CR is a bare CR, which
    # MUST make the element invalid (or be replaced by SP): we reject.
    lines = re.split(rb"\r?\n", raw)
    if any(b"\r" in line for line in lines):
        raise Rejection(400, "a bare CR in the head")
    request_line, field_lines = lines[0], lines[1:]
    if len(request_line) > REQUEST_LINE_CAP:
        raise Rejection(414, "the request line is too long")
    # https://www.rfc-editor.org/rfc/rfc9112#section-3: request-line = method SP
    # request-target SP HTTP-version, single spaces; anything else is invalid (400).
    parts = request_line.split(b" ")
    if len(parts) != 3:
        raise Rejection(400, "the request line is not method SP request-target SP HTTP-version")
    method, target, version = parts
    if not TOKEN.fullmatch(method):
        raise Rejection(400, "the method is not a token")
    match = VERSION.fullmatch(version)
    if not match:
        raise Rejection(400, "the HTTP-version is not HTTP/DIGIT.DIGIT")
    if match.group(1) != b"1":
        # https://www.rfc-editor.org/rfc/rfc9110#section-15.6.6
        raise Rejection(505, "only HTTP/1.x is served here")
    # https://www.rfc-editor.org/rfc/rfc9110#section-2.5: a higher minor version is
    # processed as the highest minor version this server conforms to.
    minor = min(int(match.group(2)), 1)
    path, authority = _request_target(method, target)
    fields = tuple(_field_lines(field_lines))
    _check_host(minor, [value for name, value in fields if name.lower() == b"host"], authority)
    length, chunked = _framing(minor, fields)
    hosts = [value for name, value in fields if name.lower() == b"host"]
    return RequestHead(
        method=method,
        target=target,
        minor=minor,
        path=path,
        fields=fields,
        length=length,
        chunked=chunked,
        authority=authority if authority is not None else (hosts[0] if hosts else b""),
    )


def _field_lines(lines: list[bytes]) -> Iterator[tuple[bytes, bytes]]:
    if len(lines) > FIELD_COUNT_CAP:
        raise Rejection(431, "too many field lines")
    for number, line in enumerate(lines):
        if len(line) > FIELD_LINE_CAP:
            raise Rejection(431, "a field line is too long")
        if line[:1] in (b" ", b"\t"):
            # https://www.rfc-editor.org/rfc/rfc9112#section-2.2 (whitespace before the first
            # field) and §5.2 (obs-fold in a request): reject with 400.
            raise Rejection(400, "whitespace before the first field line" if number == 0 else "obs-fold")
        name, colon, value = line.partition(b":")
        if not colon:
            raise Rejection(400, "a field line without a colon")
        if not TOKEN.fullmatch(name):
            # https://www.rfc-editor.org/rfc/rfc9112#section-5.1: whitespace between the
            # field name and the colon MUST be rejected with 400; so is any other non-token.
            raise Rejection(400, "the field name is not a token")
        value = value.strip(OWS)
        if not FIELD_VALUE.fullmatch(value):
            raise Rejection(400, "a control character in a field value")
        yield name, value


def _request_target(method: bytes, target: bytes) -> tuple[str, bytes | None]:
    """The path (for the resources) and, for absolute-form and authority-form, the authority
    (https://www.rfc-editor.org/rfc/rfc9112#section-3.2)."""
    if not TARGET.fullmatch(target):
        raise Rejection(400, "the request-target has bytes that are not allowed")
    if method == b"CONNECT":
        # https://www.rfc-editor.org/rfc/rfc9112#section-3.2.3: authority-form is only for
        # CONNECT, and CONNECT takes no other form (RFC 9110 §9.3.6): uri-host ":" port.
        if not re.fullmatch(rb".+:[0-9]+", target) or not valid_authority(target):
            raise Rejection(400, "CONNECT needs an authority-form target (host:port)")
        return "", target
    if target.startswith(b"/"):
        return target.split(b"?", 1)[0].decode("ascii"), None
    absolute = ABSOLUTE.fullmatch(target)
    if absolute:
        # https://www.rfc-editor.org/rfc/rfc9112#section-3.2.2: a server MUST accept the
        # absolute-form in requests.
        path = absolute.group(2).split(b"?", 1)[0] or b"/"
        return path.decode("ascii"), absolute.group(1)
    if target == b"*" and method == b"OPTIONS":
        return resources.SERVER_WIDE, None
    # https://www.rfc-editor.org/rfc/rfc9112#section-3.2.3 and §3.2.4: authority-form is for
    # CONNECT, asterisk-form for OPTIONS; any other target is invalid.
    raise Rejection(400, "the request-target is in no form this method allows")


def valid_authority(value: bytes) -> bool:
    """https://www.rfc-editor.org/rfc/rfc9110#section-7.2: Host = uri-host [ ":" port ],
    port = *DIGIT. No userinfo, path or list; an IPv6 literal keeps its colons."""
    if value.startswith(b"["):
        end = value.find(b"]") + 1
        if end == 0:
            return False
        host, port = value[:end], value[end:]
    else:
        name, colon, rest = value.partition(b":")
        host, port = name, colon + rest
    return _valid_host(host) and re.fullmatch(rb"(?::[0-9]*)?", port) is not None


def _valid_host(host: bytes) -> bool:
    if host.startswith(b"[") and host.endswith(b"]"):
        literal = host[1:-1]
        if IP_FUTURE.fullmatch(literal):
            return True
        if not re.fullmatch(rb"[0-9A-Fa-f:.]+", literal):
            return False
        try:
            ipaddress.IPv6Address(literal.decode("ascii"))
        except ValueError:
            return False
        return True
    return REG_NAME.fullmatch(host) is not None  # an IPv4 address is a reg-name too


def _check_host(minor: int, hosts: list[bytes], authority: bytes | None) -> None:
    """https://www.rfc-editor.org/rfc/rfc9112#section-3.2: a server MUST respond with 400 to
    an HTTP/1.1 request without Host, to any request with more than one Host field line,
    and to a Host field with an invalid value."""
    if minor >= 1 and not hosts:
        raise Rejection(400, "an HTTP/1.1 request without Host")
    if len(hosts) > 1:
        raise Rejection(400, "more than one Host field line")
    if hosts and not valid_authority(hosts[0]):
        raise Rejection(400, "an invalid Host value")
    # https://www.rfc-editor.org/rfc/rfc9110#section-4.2.4: userinfo in an http(s) URI is an
    # error; the absolute-form's authority is checked like Host (whose value it overrides).
    if authority is not None and not valid_authority(authority):
        raise Rejection(400, "an invalid authority in the request-target")


def _framing(minor: int, fields: tuple[tuple[bytes, bytes], ...]) -> tuple[int, bool]:
    """https://www.rfc-editor.org/rfc/rfc9112#section-6.3: (Content-Length, chunked) for the
    body, or a Rejection when its length cannot be known."""
    te_lines = [value for name, value in fields if name.lower() == b"transfer-encoding"]
    cl_lines = [value for name, value in fields if name.lower() == b"content-length"]
    if te_lines:
        if minor == 0:
            # https://www.rfc-editor.org/rfc/rfc9112#section-6.1: Transfer-Encoding in an
            # HTTP/1.0 message means faulty framing; the connection MUST close after it.
            raise Rejection(400, "Transfer-Encoding in an HTTP/1.0 request")
        if cl_lines:
            # §6.1: a server MAY reject a request with both, and MUST close afterwards.
            raise Rejection(400, "both Content-Length and Transfer-Encoding")
        codings = []
        for element in (e.strip(OWS) for line in te_lines for e in line.split(b",")):
            if not element:
                continue  # https://www.rfc-editor.org/rfc/rfc9110#section-5.6.1: empty elements
            coding = TRANSFER_CODING.fullmatch(element)
            if coding is None:
                raise Rejection(400, "an invalid transfer-coding")
            codings.append((coding.group(1).lower(), element))
        if not codings:
            raise Rejection(400, "an empty Transfer-Encoding")
        names = [name for name, _ in codings]
        if b"chunked" in names and (names[-1] != b"chunked" or names.count(b"chunked") > 1):
            # §6.3: chunked not final means the length cannot be determined (400, close);
            # §6.1: chunked MUST NOT be applied more than once.
            raise Rejection(400, "chunked is not the final coding, or is applied twice")
        if len(codings) == 1 and codings[0][0] == b"chunked":
            if codings[0][1].lower() != b"chunked":
                raise Rejection(400, "chunked takes no parameters")
            return 0, True
        # §6.1: a transfer coding the server does not understand SHOULD get 501.
        raise Rejection(501, "a transfer coding this server does not implement")
    if not cl_lines:
        return 0, False
    # https://www.rfc-editor.org/rfc/rfc9110#section-8.6: Content-Length = 1*DIGIT; a list of
    # identical values MAY be taken as that value; anything else is invalid framing (400).
    numbers = set()
    for element in (e.strip(OWS) for line in cl_lines for e in line.split(b",")):
        if not re.fullmatch(rb"[0-9]+", element):
            raise Rejection(400, "Content-Length is not a decimal number")
        numbers.add(int(element) if len(element.lstrip(b"0")) <= 18 else BODY_CAP + 1)
    if len(numbers) != 1:
        raise Rejection(400, "differing Content-Length values")
    length = numbers.pop()
    if length > BODY_CAP:
        # §8.6: anticipate large numerals; never let them wrap.
        raise Rejection(413, "the body is too large")
    return length, False


# -- the request reader (sans-IO)


@dataclass(frozen=True)
class BodyData:
    data: bytes


@dataclass(frozen=True)
class EndOfRequest:
    pass


ReaderEvent = RequestHead | BodyData | EndOfRequest

_HEAD_END = re.compile(rb"\r?\n\r?\n")
_BARE_CR = re.compile(rb"\r[^\n]")


class RequestReader:
    """Bytes in; for each request a :class:`RequestHead`, its :class:`BodyData` and an
    :class:`EndOfRequest` out. Raises :class:`Rejection` on invalid input. Every buffer is
    bounded: it never holds more than one head (or chunk-size line) waiting for its end."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._state = "head"  # head | length | chunk-size | chunk-data | chunk-end | trailers | end
        self._remaining = 0  # Content-Length octets, or chunk-data octets, still to come
        self._body_size = 0
        self._trailer_size = 0
        self._scanned = 0  # how much of the buffer is known not to hold the end of the head

    def receive_data(self, data: bytes) -> None:
        self._buffer += data

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def next_event(self) -> ReaderEvent | None:
        """The next event, or None until more data arrives."""
        while True:
            if self._state == "head":
                return self._head()
            if self._state in ("length", "chunk-data"):
                return self._data()
            if self._state == "end":
                self._state = "head"
                return EndOfRequest()
            step = {"chunk-size": self._chunk_size, "chunk-end": self._chunk_end, "trailers": self._trailer}
            if not step[self._state]():
                return None

    def _head(self) -> RequestHead | None:
        skipped = 0
        while self._buffer[:2] == b"\r\n" or self._buffer[:1] == b"\n":
            # https://www.rfc-editor.org/rfc/rfc9112#section-2.2: a server SHOULD ignore at
            # least one empty line received before the request line.
            del self._buffer[: 2 if self._buffer[:1] == b"\r" else 1]
            self._scanned = 0
            skipped += 1
            if skipped > LEADING_EMPTY_LINES_CAP:
                raise Rejection(400, "too many empty lines before the request line")
        first_line_end = self._buffer.find(b"\n")
        request_line = first_line_end if first_line_end >= 0 else len(self._buffer)
        if request_line > REQUEST_LINE_CAP:
            if b" " not in self._buffer[: REQUEST_LINE_CAP + 1]:
                if TOKEN.fullmatch(self._buffer[:REQUEST_LINE_CAP]):
                    # https://www.rfc-editor.org/rfc/rfc9112#section-3: a method longer than
                    # any the server implements SHOULD get 501.
                    raise Rejection(501, "a method longer than any implemented")
                raise Rejection(400, "no request-target within the request line limit")
            # https://www.rfc-editor.org/rfc/rfc9112#section-3: a request-target longer than
            # the server wishes to parse MUST get 414.
            raise Rejection(414, "the request line is too long")
        end = _HEAD_END.search(self._buffer, max(0, self._scanned - 3))
        if end is None:
            if _BARE_CR.search(self._buffer, max(0, self._scanned - 1)):
                # https://www.rfc-editor.org/rfc/rfc9112#section-2.2: a bare CR makes the
                # head invalid whatever follows; no need to wait for its end.
                raise Rejection(400, "a bare CR in the head")
            self._scanned = len(self._buffer)
            if len(self._buffer) > HEAD_CAP:
                # https://www.rfc-editor.org/rfc/rfc9110#section-5.4: 4xx, preferably 431.
                raise Rejection(431, "the header section is too large")
            return None
        if end.start() > HEAD_CAP:
            raise Rejection(431, "the header section is too large")
        raw = bytes(self._buffer[: end.start()])
        del self._buffer[: end.end()]
        self._scanned = 0
        head = parse_head(raw)
        self._body_size = 0
        if head.chunked:
            self._state = "chunk-size"
        elif head.length:
            self._state, self._remaining = "length", head.length
        else:
            self._state = "end"
        return head

    def _data(self) -> BodyData | None:
        if not self._buffer:
            return None
        data = bytes(self._buffer[: self._remaining])
        del self._buffer[: len(data)]
        self._remaining -= len(data)
        if not self._remaining:
            self._state = "end" if self._state == "length" else "chunk-end"
        return BodyData(data)

    def _crlf_line(self, cap: int, status: int, what: str) -> bytes | None:
        """The next CRLF-ended line, or None while incomplete. Chunked framing takes no
        bare LF: RFC 9112 §2.2 allows that leniency for the start-line and fields only."""
        end = self._buffer.find(b"\n")
        if end < 0:
            if len(self._buffer) > cap:
                raise Rejection(status, f"{what} is too long")
            return None
        if end == 0 or self._buffer[end - 1] != 0x0D:
            raise Rejection(400, f"{what} does not end with CRLF")
        line = bytes(self._buffer[: end - 1])
        del self._buffer[: end + 1]
        return line

    def _chunk_size(self) -> bool:
        line = self._crlf_line(CHUNK_LINE_CAP, 400, "a chunk-size line")
        if line is None:
            return False
        match = CHUNK_LINE.fullmatch(line)
        if match is None:
            # https://www.rfc-editor.org/rfc/rfc9112#section-7.1: chunk-size = 1*HEXDIG, then
            # chunk extensions; no sign, no prefix, no whitespace before the size.
            raise Rejection(400, "an invalid chunk-size line")
        digits = match.group(1).lstrip(b"0")
        if len(digits) > 15:
            # §7.1: anticipate large hexadecimal numerals; never let them wrap.
            raise Rejection(413, "a chunk larger than this server accepts")
        size = int(digits or b"0", 16)
        if self._body_size + size > BODY_CAP:
            raise Rejection(413, "the body is too large")
        self._body_size += size
        if size:
            self._state, self._remaining = "chunk-data", size
        else:
            self._state, self._trailer_size = "trailers", 0
        return True

    def _chunk_end(self) -> bool:
        if self._buffer == b"" or self._buffer == b"\r":
            return False
        if self._buffer[:2] != b"\r\n":
            raise Rejection(400, "chunk data is not followed by CRLF")
        del self._buffer[:2]
        self._state = "chunk-size"
        return True

    def _trailer(self) -> bool:
        line = self._crlf_line(FIELD_LINE_CAP, 431, "a trailer field line")
        if line is None:
            return False
        if not line:
            self._state = "end"
            return True
        # https://www.rfc-editor.org/rfc/rfc9112#section-7.1.2: trailer fields are field
        # lines (checked like the header section's), then discarded.
        self._trailer_size += len(line) + 2
        if self._trailer_size > HEAD_CAP:
            raise Rejection(431, "the trailer section is too large")
        for _ in _field_lines([line]):
            pass
        return True


# -- the connection


def _now() -> str:
    """https://www.rfc-editor.org/rfc/rfc9110#section-6.6.1: Date, in IMF-fixdate."""
    return email.utils.formatdate(usegmt=True)


@implementer(IHalfCloseableProtocol, IPushProducer)
class HTTP1Channel(protocol.Protocol):
    """One connection: requests read strictly, passed through h11, answered in order.

    It registers itself as the transport's producer: while the client does not read its
    responses the transport's write buffer fills, and the channel stops reading requests.
    """

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor
        self.reader = RequestReader()
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=2 * HEAD_CAP)
        self.head: RequestHead | None = None
        self.body = bytearray()
        self.answered = False  # the final response to the current request has been written
        self.h11_ended = False  # h11 has seen the end of the current request
        self.closing = False
        self.paused = False
        self.eof = False
        self.linger: Any = None
        self.lost: list[defer.Deferred[None]] = []

    @property
    def _transport(self) -> Any:
        return self.transport

    def connectionMade(self) -> None:  # noqa: N802 - Twisted's name
        self._transport.registerProducer(self, True)

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        if self.closing:
            return  # lingering: read and discard
        self.reader.receive_data(data)
        self._process()

    def readConnectionLost(self) -> None:  # noqa: N802 - the client half-closed
        self.eof = True
        if not self.paused:
            self._transport.loseConnection()  # after the responses already written

    def writeConnectionLost(self) -> None:  # noqa: N802
        pass

    def connectionLost(self, reason: Failure | None = None) -> None:  # noqa: N802
        if self.linger is not None and self.linger.active():
            self.linger.cancel()
        lost, self.lost = self.lost, []
        for waiting in lost:
            waiting.callback(None)

    # IPushProducer: the transport's write buffer is full, or has drained

    def pauseProducing(self) -> None:  # noqa: N802
        self.paused = True
        self._transport.pauseProducing()

    def resumeProducing(self) -> None:  # noqa: N802
        self.paused = False
        self._transport.resumeProducing()
        self._process()
        if self.eof and not self.closing and not self.paused:
            self._transport.loseConnection()

    def stopProducing(self) -> None:  # noqa: N802
        self.closing = True

    # -- reading

    def _process(self) -> None:
        try:
            while not self.closing and not self.paused:
                event = self.reader.next_event()
                if event is None:
                    return
                if isinstance(event, RequestHead):
                    self._begin(event)
                elif isinstance(event, BodyData):
                    self._body(event.data)
                else:
                    self._end()
        except Rejection as rejection:
            self._reject(rejection.status, str(rejection))
        except Exception as exc:  # never let a request crash the server
            if self.answered:
                self._close()
            else:
                self._reject(500, f"{type(exc).__name__}: {exc}")

    def _begin(self, head: RequestHead) -> None:
        self.head, self.body, self.answered, self.h11_ended = head, bytearray(), False, False
        expectations = head.tokens(b"expect")
        if any(expectation != b"100-continue" for expectation in expectations):
            # https://www.rfc-editor.org/rfc/rfc9110#section-10.1.1: an expectation this
            # server cannot meet MAY get 417.
            raise Rejection(417, "an expectation this server cannot meet")
        self._feed(self._canonical_head(head))
        if not isinstance(next(self._events(), None), h11.Request):
            raise Rejection(400, "h11 did not take the request")
        # §10.1.1: send 100 (Continue) before reading a body the client holds back; not
        # when the body is already arriving, and never to HTTP/1.0 (h11 checks the version).
        if head.has_body and self.h11.they_are_waiting_for_100_continue and not self.reader.buffered:
            interim = h11.InformationalResponse(status_code=100, headers=self._common(), reason=b"Continue")
            self._write(self.h11.send(interim) or b"")

    @staticmethod
    def _canonical_head(head: RequestHead) -> bytes:
        """The head h11 sees: the checked fields, framed as decided here. h11 closes every
        HTTP/1.0 connection, so an HTTP/1.0 request that asks to persist is given to it as
        HTTP/1.1 (with a Host field if it had none, and no Expect, which HTTP/1.0 requests
        do not have, RFC 9110 §10.1.1); the response is the same either way."""
        as_http11 = head.minor == 1 or head.http10_keep_alive
        lines = [b"%s %s HTTP/1.%d" % (head.method, head.target, 1 if as_http11 else 0)]
        skip = {b"content-length", b"transfer-encoding"}
        if head.minor == 0:
            skip.add(b"expect")
        lines += [name + b": " + value for name, value in head.fields if name.lower() not in skip]
        if as_http11 and not head.values(b"host"):
            lines.append(b"Host: ")
        if head.chunked:
            lines.append(b"Transfer-Encoding: chunked")
        elif head.length:
            lines.append(b"Content-Length: %d" % head.length)
        return b"\r\n".join(lines) + b"\r\n\r\n"

    def _body(self, data: bytes) -> None:
        assert self.head is not None
        self.body += data
        self._feed(b"%x\r\n%s\r\n" % (len(data), data) if self.head.chunked else data)
        for _ in self._events():
            pass  # keep h11's buffer empty; the body is kept here

    def _end(self) -> None:
        head = self.head
        assert head is not None
        if head.chunked:
            self._feed(b"0\r\n\r\n")
        for _ in self._events():
            pass
        if not self.h11_ended:
            raise RuntimeError("h11 did not see the end of the request")
        request = resources.Request(
            method=head.method.decode("ascii"),
            target=head.target.decode("ascii"),
            path=head.path,
            version=f"HTTP/1.{head.minor}",
            authority=head.authority.decode("latin-1"),
            headers=tuple((n.decode("latin-1"), v.decode("latin-1")) for n, v in head.fields),
            body=bytes(self.body),
        )
        self._respond(head, resources.respond(request))

    def _feed(self, data: bytes) -> None:
        self.h11.receive_data(data)

    def _events(self) -> Iterator[Any]:
        """h11's events until it needs more data (or pauses after a complete request)."""
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as error:
                raise Rejection(400, f"h11: {error}") from None
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.EndOfMessage):
                self.h11_ended = True
            yield event

    # -- answering

    def _respond(self, head: RequestHead, response: resources.Response) -> None:
        headers = [*self._common(), *response.headers]
        bodiless = response.status in (204, 304)
        # https://www.rfc-editor.org/rfc/rfc9112#section-6.1: no Transfer-Encoding in a
        # response to HTTP/1.0, so a streamed response is framed by its length for it;
        # to HTTP/1.1, h11 frames it with chunked.
        streamed = response.streamed and head.minor >= 1
        if not bodiless and not streamed:
            # https://www.rfc-editor.org/rfc/rfc9110#section-8.6: not in 1xx, 204 (nor a 304
            # here); to HEAD, the length GET would have had.
            headers.append(("Content-Length", str(len(response.body))))
        if head.http10_keep_alive:
            headers.append(("Connection", "keep-alive"))
        reason = REASONS.get(response.status, "").encode()
        self.answered = True
        out = self.h11.send(h11.Response(status_code=response.status, headers=headers, reason=reason)) or b""
        if head.method != b"HEAD" and not bodiless and response.body:
            out += self.h11.send(h11.Data(data=response.body)) or b""
        out += self.h11.send(h11.EndOfMessage()) or b""
        self._write(out)
        self.head, self.body = None, bytearray()
        if self.h11.our_state is h11.MUST_CLOSE:
            self._close()
        else:
            self.h11.start_next_cycle()

    @staticmethod
    def _common() -> list[tuple[str, str]]:
        return [("Date", _now()), ("Server", resources.SERVER)]

    def _reject(self, status: int, why: str) -> None:
        """Answer outside h11 (the request never reached it, or broke it) and close."""
        if self.closing:
            return
        reason = REASONS.get(status, "Error")
        body = f"{status} {reason}: {why}\n".encode("latin-1", "replace")
        lines = [f"HTTP/1.1 {status} {reason}"]
        lines += [f"{name}: {value}" for name, value in self._common()]
        lines += ["Content-Type: text/plain; charset=utf-8", f"Content-Length: {len(body)}"]
        lines.append("Connection: close")
        self.answered = True
        self._write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        self._close()

    def _write(self, data: bytes) -> None:
        if self.transport is not None:
            self._transport.write(data)

    def _close(self) -> None:
        """Close after the response: stop writing, then read and discard for a while, so that
        request bytes left unread do not make the kernel reset the connection before the
        client has read the response (https://www.rfc-editor.org/rfc/rfc9112#section-9.6)."""
        self.closing = True
        transport = self._transport
        transport.unregisterProducer()
        if self.paused:
            self.paused = False
            transport.resumeProducing()  # read, to discard
        if self.eof:
            transport.loseConnection()
            return
        transport.loseWriteConnection()
        self.linger = self.reactor.callLater(LINGER_SECONDS, transport.loseConnection)

    def abort(self) -> defer.Deferred[None]:
        """Drop the connection now; the Deferred fires once it is gone."""
        gone: defer.Deferred[None] = defer.Deferred()
        self.lost.append(gone)
        self._transport.abortConnection()
        return gone


class HTTP1Factory(protocol.Factory):
    """Builds channels and keeps the open ones, so that the target can close them all."""

    noisy = False

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor
        self.channels: set[HTTP1Channel] = set()

    def buildProtocol(self, addr: Any) -> HTTP1Channel:  # noqa: N802
        channel = _TrackedChannel(self.reactor, self.channels)
        channel.factory = self
        return channel

    def close_all(self) -> defer.Deferred[None]:
        """Abort every open connection; fires when all are closed."""
        gone = [channel.abort() for channel in list(self.channels)]
        return defer.gatherResults(gone, consumeErrors=True).addCallback(lambda _: None)


class _TrackedChannel(HTTP1Channel):
    def __init__(self, reactor: Any, registry: set[HTTP1Channel]) -> None:
        super().__init__(reactor)
        self.registry = registry

    def connectionMade(self) -> None:  # noqa: N802
        self.registry.add(self)
        super().connectionMade()

    def connectionLost(self, reason: Failure | None = None) -> None:  # noqa: N802
        self.registry.discard(self)
        super().connectionLost(reason)
