"""The reference target's HTTP/1.1 server: a strict front parser, then h11.

h11 keeps the connection's state (persistence, ``Connection: close``, HTTP/1.0, 100-continue)
and writes the responses; but it accepts some requests RFC 9112 says to reject and rejects
some it says to accept (leading empty lines, empty list elements, BWS in chunk extensions).
So every request is first parsed here, strictly, byte by byte against the RFC 9112 grammar,
and h11 is fed a canonical re-encoding of what was accepted: one clean head with the framing
decided here, and the body re-chunked. What is rejected is answered here, and the connection
closed, since after a framing error nothing that follows can be trusted.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass, field
from typing import Any

import h11
from twisted.internet import protocol

from conformance.targets import resources

REQUEST_LINE_CAP = 8 * 1024  # a longer request line is answered 414
FIELD_LINE_CAP = 8 * 1024  # a longer field line, 431
HEAD_CAP = 64 * 1024  # a larger header section, 431
FIELD_COUNT_CAP = 100
BODY_CAP = 16 * 1024 * 1024  # a larger body, 413
LEADING_EMPTY_LINES_CAP = 16
LINGER_SECONDS = 2.0  # after closing our side, how long to read and discard

REASONS = {
    100: "Continue",
    200: "OK",
    204: "No Content",
    304: "Not Modified",
    400: "Bad Request",
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

# RFC 9110 §5.6.2: token = 1*tchar
TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9112 §2.3: HTTP-version = HTTP-name "/" DIGIT "." DIGIT
VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])")
# RFC 9112 §3.2: the request-target is visible ASCII, without a fragment
TARGET = re.compile(rb"[\x21-\x22\x24-\x7e]+")
ABSOLUTE = re.compile(rb"(?i)https?://([^/?#]*)([^#]*)")
# RFC 9110 §7.2: Host = uri-host [ ":" port ]; uri-host is an IP literal or a reg-name
HOST = re.compile(rb"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+;=]*)(:[0-9]*)?")
# RFC 9110 §5.5: field-value bytes: VCHAR, obs-text, SP and HTAB
FIELD_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")
# RFC 9112 §7.1 and §7.1.1 (with the BWS RFC 9110 §5.6.3 says to accept)
_TCHARS = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
_EXTENSION = rb"[ \t]*;[ \t]*" + _TCHARS + rb"(?:[ \t]*=[ \t]*(?:" + _TCHARS + rb"|" + _QUOTED + rb"))?"
CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]+)((?:" + _EXTENSION + rb")*)")
OWS = b" \t"


class Rejection(Exception):
    """The request is answered with ``status`` and the connection closed."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


@dataclass
class Head:
    """A request head that passed every check."""

    method: bytes
    target: bytes
    minor: int  # HTTP/1.minor, a higher minor read as 1 (RFC 9110 §2.5)
    path: str
    fields: list[tuple[bytes, bytes]] = field(default_factory=list)  # values without OWS
    length: int | None = None  # Content-Length, when the body is framed by it
    chunked: bool = False

    def values(self, name: bytes) -> list[bytes]:
        return [value for key, value in self.fields if key.lower() == name]

    def tokens(self, name: bytes) -> list[bytes]:
        return [e.strip(OWS).lower() for v in self.values(name) for e in v.split(b",") if e.strip(OWS)]


def parse_head(head: bytes) -> Head:
    """Parse a request head (without the empty line that ends it); raise :class:`Rejection`."""
    lines = [line[:-1] if line.endswith(b"\r") else line for line in head.split(b"\n")]
    for line in lines:
        if b"\r" in line:
            # RFC 9112 §2.2: a bare CR is invalid (or replaced by SP); we reject.
            raise Rejection(400, "a bare CR in the head")
    request_line, field_lines = lines[0], lines[1:]
    if len(request_line) > REQUEST_LINE_CAP:
        raise Rejection(414, "the request line is too long")
    if len(field_lines) > FIELD_COUNT_CAP:
        raise Rejection(431, "too many field lines")
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
        raise Rejection(505, "only HTTP/1.x is served here")
    minor = min(int(match.group(2)), 1)
    path, authority = _target(method, target)
    result = Head(method=method, target=target, minor=minor, path=path)
    for number, line in enumerate(field_lines):
        if len(line) > FIELD_LINE_CAP:
            raise Rejection(431, "a field line is too long")
        if line[:1] in (b" ", b"\t"):
            # RFC 9112 §2.2 (before the first field) and §5.2 (obs-fold): reject.
            raise Rejection(400, "whitespace before the first field" if number == 0 else "obs-fold")
        name, colon, value = line.partition(b":")
        if not colon:
            raise Rejection(400, "a field line without a colon")
        if not TOKEN.fullmatch(name):
            # RFC 9112 §5.1: whitespace before the colon MUST be rejected; so is any non-token.
            raise Rejection(400, "the field name is not a token")
        value = value.strip(OWS)
        if not FIELD_VALUE.fullmatch(value):
            # RFC 9110 §5.5: CR, LF, NUL and other controls are not field content.
            raise Rejection(400, "a control character in a field value")
        result.fields.append((name, value))
    _check_host(result, authority)
    _framing(result)
    return result


def _target(method: bytes, target: bytes) -> tuple[str, bytes | None]:
    """The path and, for absolute-form, the authority (RFC 9112 §3.2)."""
    if not TARGET.fullmatch(target):
        raise Rejection(400, "the request-target has bytes that are not allowed")
    if target.startswith(b"/"):
        return target.split(b"?", 1)[0].decode("ascii"), None
    absolute = ABSOLUTE.fullmatch(target)
    if absolute:
        # RFC 9112 §3.2.2: a server MUST accept the absolute-form.
        path = absolute.group(2).split(b"?", 1)[0] or b"/"
        return path.decode("ascii"), absolute.group(1)
    if target == b"*" and method == b"OPTIONS":
        return "*", None
    # RFC 9112 §3.2.3 and §3.2.4: authority-form is for CONNECT, asterisk-form for OPTIONS.
    raise Rejection(400, "the request-target is in no form this method allows")


def _check_host(head: Head, authority: bytes | None) -> None:
    hosts = head.values(b"host")
    if head.minor >= 1 and not hosts:
        raise Rejection(400, "an HTTP/1.1 request without Host")  # RFC 9112 §3.2
    if len(hosts) > 1:
        raise Rejection(400, "more than one Host field line")
    if hosts and not HOST.fullmatch(hosts[0]):
        raise Rejection(400, "an invalid Host value")
    if authority is not None and not HOST.fullmatch(authority):
        raise Rejection(400, "an invalid authority in the request-target")


def _framing(head: Head) -> None:
    """RFC 9112 §6.1 and §6.3: how long the body is, or why it cannot be known."""
    codings = head.tokens(b"transfer-encoding")
    lengths = head.values(b"content-length")
    if head.values(b"transfer-encoding"):
        if head.minor == 0:
            raise Rejection(400, "Transfer-Encoding in an HTTP/1.0 request")
        if lengths:
            raise Rejection(400, "both Content-Length and Transfer-Encoding")
        if not codings:
            raise Rejection(400, "an empty Transfer-Encoding")
        if b"chunked" in codings and (codings[-1] != b"chunked" or codings.count(b"chunked") > 1):
            raise Rejection(400, "chunked is not the final coding, or is applied twice")
        if codings != [b"chunked"]:
            raise Rejection(501, "a transfer coding this server does not implement")
        head.chunked = True
        return
    if lengths:
        numbers = set()
        for element in (e.strip(OWS) for line in lengths for e in line.split(b",")):
            if not element.isdigit() or not element.isascii():
                raise Rejection(400, "Content-Length is not a decimal number")
            if len(element.lstrip(b"0")) > 18:
                raise Rejection(413, "the body is too large")
            numbers.add(int(element))
        if len(numbers) != 1:
            raise Rejection(400, "differing Content-Length values")
        head.length = numbers.pop()
        if head.length > BODY_CAP:
            raise Rejection(413, "the body is too large")


class HTTP1Channel(protocol.Protocol):
    """One connection: requests parsed here and passed through h11, answered in order."""

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor
        self.buffer = bytearray()
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=HEAD_CAP + 1024)
        self.head: Head | None = None
        self.body = bytearray()
        self.remaining = 0  # Content-Length octets, or chunk-data octets, still to come
        self.state = "head"  # head | length | chunk-size | chunk-data | chunk-end | trailers
        self.closing = False
        self.linger: Any = None

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted's name
        if self.closing:
            return
        self.buffer += data
        try:
            while not self.closing and self._step():
                pass
        except Rejection as rejection:
            self._reject(rejection.status, str(rejection))
        except Exception as exc:  # never let a request crash the server
            self._reject(500, f"{type(exc).__name__}: {exc}")

    def connectionLost(self, reason: Any = None) -> None:  # noqa: N802
        if self.linger is not None and self.linger.active():
            self.linger.cancel()

    # -- parsing: each step returns True when it made progress

    def _step(self) -> bool:
        if self.state == "head":
            return self._read_head()
        if self.state == "length":
            return self._read_length_body()
        if self.state == "chunk-size":
            return self._read_chunk_size()
        if self.state == "chunk-data":
            return self._read_chunk_data()
        if self.state == "chunk-end":
            return self._read_chunk_end()
        return self._read_trailer()

    def _line(self, cap: int, status: int, what: str) -> bytes | None:
        """The next line (CRLF or LF ended, RFC 9112 §2.2), or None while incomplete."""
        end = self.buffer.find(b"\n")
        if end < 0:
            if len(self.buffer) > cap:
                raise Rejection(status, f"{what} is too long")
            return None
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 1]
        return line[:-1] if line.endswith(b"\r") else line

    def _read_head(self) -> bool:
        skipped = 0
        while self.buffer[:2] == b"\r\n" or self.buffer[:1] == b"\n":
            # RFC 9112 §2.2: ignore empty lines before the request line.
            del self.buffer[: 2 if self.buffer[:1] == b"\r" else 1]
            skipped += 1
            if skipped > LEADING_EMPTY_LINES_CAP:
                raise Rejection(400, "too many empty lines before the request")
        if not self.buffer or self.buffer == b"\r":
            return False
        match = re.search(rb"\r?\n\r?\n", self.buffer)
        if match is None:
            first = self.buffer.find(b"\n")
            if first < 0 and len(self.buffer) > REQUEST_LINE_CAP:
                raise Rejection(414, "the request line is too long")
            if len(self.buffer) > HEAD_CAP:
                raise Rejection(431, "the header section is too large")
            return False
        if match.start() > HEAD_CAP:
            raise Rejection(431, "the header section is too large")
        raw = bytes(self.buffer[: match.start()])
        del self.buffer[: match.end()]
        head = parse_head(raw)
        self._begin(head)
        return True

    def _begin(self, head: Head) -> None:
        self.head = head
        self.body = bytearray()
        expectations = head.tokens(b"expect")
        if expectations and expectations != [b"100-continue"]:
            raise Rejection(417, "an expectation this server cannot meet")  # RFC 9110 §10.1.1
        self._feed(self._canonical_head(head))
        event = self.h11.next_event()
        if not isinstance(event, h11.Request):
            raise Rejection(400, f"h11 did not take the request: {event!r}")
        if head.chunked:
            self.state = "chunk-size"
        elif head.length:
            self.state = "length"
            self.remaining = head.length
        else:
            self._complete()
            return
        if self.h11.they_are_waiting_for_100_continue and not self.buffer:
            interim = h11.InformationalResponse(status_code=100, headers=self._common(), reason=b"Continue")
            self._write(self.h11.send(interim))

    @staticmethod
    def _canonical_head(head: Head) -> bytes:
        lines = [b"%s %s HTTP/1.%d" % (head.method, head.target, head.minor)]
        for name, value in head.fields:
            if name.lower() not in (b"content-length", b"transfer-encoding"):
                lines.append(name + b": " + value)
        if head.chunked:
            lines.append(b"Transfer-Encoding: chunked")
        elif head.length is not None:
            lines.append(b"Content-Length: %d" % head.length)
        return b"\r\n".join(lines) + b"\r\n\r\n"

    def _read_length_body(self) -> bool:
        if not self.buffer:
            return False
        take = bytes(self.buffer[: self.remaining])
        del self.buffer[: len(take)]
        self.remaining -= len(take)
        self._body(take, chunked=False)
        if self.remaining == 0:
            self._complete()
        return True

    def _read_chunk_size(self) -> bool:
        line = self._line(4096, 400, "a chunk-size line")
        if line is None:
            return False
        match = CHUNK_LINE.fullmatch(line)
        if match is None:
            raise Rejection(400, "an invalid chunk-size line")
        digits = match.group(1).lstrip(b"0")
        if len(digits) > 15:
            # RFC 9112 §7.1: anticipate large numerals; never let them wrap.
            raise Rejection(413, "a chunk larger than this server accepts")
        size = int(digits or b"0", 16)
        if len(self.body) + size > BODY_CAP:
            raise Rejection(413, "the body is too large")
        if size == 0:
            self.state = "trailers"
        else:
            self.remaining = size
            self.state = "chunk-data"
        return True

    def _read_chunk_data(self) -> bool:
        if not self.buffer:
            return False
        take = bytes(self.buffer[: self.remaining])
        del self.buffer[: len(take)]
        self.remaining -= len(take)
        self._body(take, chunked=True)
        if self.remaining == 0:
            self.state = "chunk-end"
        return True

    def _read_chunk_end(self) -> bool:
        if self.buffer[:2] == b"\r\n" or self.buffer[:1] == b"\n":
            del self.buffer[: 2 if self.buffer[:1] == b"\r" else 1]
            self.state = "chunk-size"
            return True
        if self.buffer in (b"", b"\r"):
            return False
        raise Rejection(400, "chunk data is not followed by CRLF")

    def _read_trailer(self) -> bool:
        line = self._line(FIELD_LINE_CAP, 431, "a trailer line")
        if line is None:
            return False
        if not line:
            self._feed(b"0\r\n\r\n")
            self._complete()
            return True
        # RFC 9112 §7.1.2: trailer fields are field lines; checked, then discarded.
        name, colon, value = line.partition(b":")
        if b"\r" in line or not colon or not TOKEN.fullmatch(name) or not FIELD_VALUE.fullmatch(value):
            raise Rejection(400, "an invalid trailer field line")
        return True

    def _body(self, data: bytes, *, chunked: bool) -> None:
        if not data:
            return
        self.body += data
        self._feed(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)

    def _feed(self, data: bytes) -> None:
        self.h11.receive_data(data)

    # -- answering

    def _complete(self) -> None:
        head = self.head
        assert head is not None
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA or isinstance(event, h11.EndOfMessage):
                break
        request = resources.Request(
            method=head.method.decode("ascii"),
            target=head.target.decode("ascii"),
            path=head.path,
            version=f"HTTP/1.{head.minor}",
            headers=[(n.decode("latin-1"), v.decode("latin-1")) for n, v in head.fields],
            body=bytes(self.body),
        )
        response = resources.respond(request)
        headers = [*self._common(), *response.headers]
        no_content = response.status in (204, 304)
        if not no_content:
            headers.append(("Content-Length", str(len(response.body))))
        reason = REASONS.get(response.status, "Unknown").encode()
        out = self.h11.send(h11.Response(status_code=response.status, headers=headers, reason=reason))
        if head.method != b"HEAD" and not no_content and response.body:
            out += self.h11.send(h11.Data(data=response.body))
        out += self.h11.send(h11.EndOfMessage())
        self._write(out)
        self.head = None
        self.state = "head"
        if self.h11.our_state is h11.MUST_CLOSE:
            self._close()
        else:
            self.h11.start_next_cycle()

    @staticmethod
    def _common() -> list[tuple[str, str]]:
        return [("Date", email.utils.formatdate(usegmt=True)), ("Server", resources.SERVER)]

    def _reject(self, status: int, why: str) -> None:
        """Answer outside h11 (the request never reached it, or broke it) and close."""
        if self.closing:
            return
        body = f"{status} {REASONS.get(status, '')}: {why}\n".encode("latin-1", "replace")
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}"]
        lines += [f"{name}: {value}" for name, value in self._common()]
        lines += ["Content-Type: text/plain; charset=utf-8", f"Content-Length: {len(body)}"]
        lines.append("Connection: close")
        self._write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        self._close()

    def _write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def _close(self) -> None:
        """Close after the response: stop writing, then read and discard for a while, so that
        unread request bytes do not make the kernel reset the connection before the client
        read the response (RFC 9112 §9.6)."""
        self.closing = True
        self.buffer.clear()
        lose_write = getattr(self.transport, "loseWriteConnection", None)
        if lose_write is None:
            self.transport.loseConnection()
            return
        lose_write()
        self.linger = self.reactor.callLater(LINGER_SECONDS, self.transport.loseConnection)


class HTTP1Factory(protocol.Factory):
    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor
        self.channels: set[HTTP1Channel] = set()

    def buildProtocol(self, addr: Any) -> HTTP1Channel:  # noqa: N802
        channel = _TrackedChannel(self.reactor, self.channels)
        channel.factory = self
        return channel


class _TrackedChannel(HTTP1Channel):
    def __init__(self, reactor: Any, registry: set[HTTP1Channel]) -> None:
        super().__init__(reactor)
        self.registry = registry

    def connectionMade(self) -> None:  # noqa: N802
        self.registry.add(self)

    def connectionLost(self, reason: Any = None) -> None:  # noqa: N802
        super().connectionLost(reason)
        self.registry.discard(self)
