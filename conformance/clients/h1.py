"""The reference HTTP/1.1 client: ``python -m conformance.clients.h1 URL``.

One GET for URL over a fresh connection: h11 writes the request; the response is read by a
strict reader here that frames it by RFC 9112 §6.3 and refuses what a user agent must not
accept (as the reference target puts a strict request reader in front of h11: h11's own reader
refuses some valid responses, chunk extensions with whitespace around ``;`` for one). The body
goes to standard output. Exit status 0: the response was accepted; 1: it was rejected (why goes
to standard error); 2: the command line was wrong or the server could not be reached.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from urllib.parse import urlsplit

import h11

from conformance.clients import SCHEMES, arguments, connect

#: Seconds the client waits for the server at any point before it gives up (rejects).
TIMEOUT = 30.0
SUITE = "h1"
#: Octets of a response head, and of a chunk-size line, read at the most.
HEAD_CAP = 64 * 1024
LINE_CAP = 8 * 1024
#: A chunk or Content-Length beyond this is refused as too large (RFC 9110 §8.6, RFC 9112 §7.1:
#: a recipient anticipates large numerals; Python's integers do not overflow, this bounds memory).
SIZE_CAP = 1 << 40

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
# https://www.rfc-editor.org/rfc/rfc9112#section-4, read leniently as §4 allows (whitespace
# separators, a missing reason phrase).
_STATUS_LINE = re.compile(rb"HTTP/(\d)\.(\d)[ \t]+(\d{3})(?:[ \t]+([^\r\n]*))?[ \t]*")
# https://www.rfc-editor.org/rfc/rfc9112#section-7.1: chunk-size [ chunk-ext ], where
# chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ).
_CHUNK_LINE = re.compile(
    rb"([0-9A-Fa-f]+)((?:[ \t]*;[ \t]*"
    + _TOKEN
    + rb"(?:[ \t]*=[ \t]*(?:"
    + _TOKEN
    + rb"|"
    + _QUOTED
    + rb"))?)*)"
)
_FIELD_NAME = re.compile(_TOKEN)


class Rejected(Exception):
    """The response is not one a user agent may accept; the message says why."""


class _Reader:
    """Bytes from the connection, read as lines and runs of octets; EOF is an error unless
    the caller asks for everything up to it."""

    def __init__(self, recv: Callable[[], bytes]) -> None:
        self.recv = recv
        self.buf = bytearray()
        self.eof = False

    def _more(self) -> bool:
        if self.eof:
            return False
        data = self.recv()
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def line(self, cap: int, what: str) -> bytes:
        """One line without its end (CRLF, or LF alone: RFC 9112 §2.2 lets a recipient take
        it); a bare CR elsewhere in it is refused (RFC 9112 §2.2)."""
        while True:
            end = self.buf.find(b"\n")
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[: end + 1]
                if line.endswith(b"\r"):
                    line = line[:-1]
                if b"\r" in line:
                    raise Rejected(f"a bare CR in the {what}")
                return line
            if len(self.buf) > cap:
                raise Rejected(f"the {what} is longer than {cap} octets")
            if not self._more():
                raise Rejected(f"the connection closed in the middle of the {what} (incomplete response)")

    def exactly(self, size: int, what: str) -> bytes:
        while len(self.buf) < size:
            if not self._more():
                raise Rejected(
                    f"the connection closed after {len(self.buf)} of the {size} octets of the {what} "
                    "(incomplete response)"
                )
        data = bytes(self.buf[:size])
        del self.buf[:size]
        return data

    def rest(self) -> bytes:
        while self._more():
            pass
        data = bytes(self.buf)
        self.buf.clear()
        return data


def _fields(reader: _Reader, budget: list[int], what: str) -> list[tuple[bytes, bytes]]:
    """The field lines up to the empty line, names lowercased, values without OWS."""
    fields: list[tuple[bytes, bytes]] = []
    first = True
    skipping = False
    while True:
        line = reader.line(LINE_CAP, what)
        budget[0] -= len(line) + 2
        if budget[0] < 0:
            raise Rejected(f"the {what} is longer than {HEAD_CAP} octets")
        if not line:
            return fields
        if line[:1] in (b" ", b"\t"):
            if first or skipping:
                # RFC 9112 §2.2: whitespace between the start-line and the first field: each
                # such line is consumed without further processing.
                skipping = True
                continue
            # RFC 9112 §5.2: a user agent replaces each obs-fold with SP.
            name, value = fields[-1]
            fields[-1] = (name, (value + b" " + line.strip(b" \t")).strip(b" \t"))
            continue
        first = skipping = False
        name, colon, value = line.partition(b":")
        if not colon or not _FIELD_NAME.fullmatch(name):
            raise Rejected(f"an invalid field line in the {what}: {line[:60]!r}")
        fields.append((name.lower(), value.strip(b" \t")))


def _values(fields: list[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    """The list elements of every field called ``name`` (RFC 9110 §5.6.1: empty ones ignored)."""
    return [
        element.strip(b" \t")
        for field, value in fields
        if field == name
        for element in value.split(b",")
        if element.strip(b" \t")
    ]


def _chunked(reader: _Reader) -> bytes:
    """A chunked body, decoded (RFC 9112 §7.1.3); its trailer fields are read and dropped."""
    body = bytearray()
    while True:
        line = reader.line(LINE_CAP, "chunk-size line")
        match = _CHUNK_LINE.fullmatch(line)
        if match is None:
            raise Rejected(f"an invalid chunk-size line: {line[:60]!r}")
        size = int(match.group(1), 16)
        if size > SIZE_CAP:
            raise Rejected(f"a chunk of {size} octets is more than this client takes")
        if size == 0:
            _fields(reader, [HEAD_CAP], "trailer section")
            return bytes(body)
        body += reader.exactly(size, "chunk")
        if reader.line(LINE_CAP, "chunk") != b"":
            raise Rejected("chunk data longer than its size (no CRLF after it)")


def read_response(recv: Callable[[], bytes]) -> bytes:
    """The body of the final response to a GET, read from ``recv``; :class:`Rejected` when
    the response is invalid or incomplete."""
    reader = _Reader(recv)
    while True:
        line = reader.line(LINE_CAP, "status line")
        match = _STATUS_LINE.fullmatch(line)
        if match is None:
            raise Rejected(f"an invalid status line: {line[:60]!r}")
        major, minor, status = int(match.group(1)), int(match.group(2)), int(match.group(3))
        if major != 1:
            raise Rejected(f"HTTP/{major}.{minor} is not HTTP/1.x")
        fields = _fields(reader, [HEAD_CAP], "header section")
        if status == 101:
            raise Rejected("101 Switching Protocols, but no upgrade was asked for")
        if 100 <= status < 200:
            continue  # RFC 9110 §15.2: parse it, then read on to the final response
        if status in (204, 304):
            return b""  # RFC 9112 §6.3 rule 1: no content, whatever the fields say
        codings = [c.lower() for c in _values(fields, b"transfer-encoding")]
        lengths = _values(fields, b"content-length")
        if codings:
            if lengths:
                # RFC 9112 §6.3 rule 3: "ought to be handled as an error".
                raise Rejected("both Transfer-Encoding and Content-Length")
            if codings[-1] != b"chunked" or codings.count(b"chunked") > 1:
                raise Rejected(f"transfer codings this client does not decode: {b', '.join(codings)!r}")
            if minor == 0:
                raise Rejected("Transfer-Encoding in an HTTP/1.0 response (RFC 9112 §6.1)")
            return _chunked(reader)
        if any(name == b"content-length" for name, _ in fields):
            # RFC 9112 §6.3 rule 5: a list of one repeated valid value is that value; anything
            # else (an empty value among it: no value at all) is an unrecoverable error.
            if (
                not lengths
                or any(not value.isdigit() for value in lengths)
                or len(set(int(v) for v in lengths)) != 1
            ):
                raise Rejected(f"an invalid Content-Length: {b', '.join(lengths)!r}")
            size = int(lengths[0])
            if size > SIZE_CAP:
                raise Rejected(f"a Content-Length of {size} is more than this client takes")
            return reader.exactly(size, "body")
        return reader.rest()  # RFC 9112 §6.3 rule 8: the body ends at the close


def fetch(url: str, ca: str | None = None) -> tuple[int, bytes, str]:
    """(exit status, body, reason) of one GET for ``url`` (https://: over TLS, trusting ``ca``)."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES[SUITE] or not parts.hostname:
        return 2, b"", f"not an http:// or https:// URL: {url!r}"
    port = parts.port or SCHEMES[SUITE][parts.scheme][0]
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    authority = parts.hostname if parts.port is None else f"{parts.hostname}:{port}"
    try:
        sock = connect(SUITE, parts, ca, TIMEOUT)
    except OSError as exc:
        return 2, b"", f"cannot connect: {exc}"
    try:
        connection = h11.Connection(our_role=h11.CLIENT)
        request = h11.Request(
            method="GET",
            target=target,
            headers=[("Host", authority), ("User-Agent", "conformance-reference-client"), ("Accept", "*/*")],
        )
        sock.sendall(connection.send(request) + connection.send(h11.EndOfMessage()))
        return 0, read_response(lambda: sock.recv(65536)), ""
    except Rejected as exc:
        return 1, b"", str(exc)
    except OSError as exc:
        return 1, b"", f"connection error: {exc}"
    finally:
        sock.close()


def main(argv: list[str]) -> int:
    parsed = arguments(argv, "conformance.clients.h1")
    if parsed is None:
        return 2
    status, body, reason = fetch(*parsed)
    if status == 0:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    else:
        sys.stderr.write(f"rejected: {reason}\n")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
