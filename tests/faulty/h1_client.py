"""A deliberately faulty HTTP/1.1 client, to show that every client case can FAIL.

    python tests/faulty/h1_client.py [--fault NAME]... URL

It follows the client contract (README, "Client mode"): one GET for URL, the response body on
standard output, exit 0 when it accepted the response and 1 when it rejected it. With no fault
it reads responses as RFC 9112 asks (choosing, where the RFC leaves a choice, differently from
the reference client: Transfer-Encoding over Content-Length rather than an error); each fault
switches one rule wrong. ``--list-faults`` lists them.
"""

from __future__ import annotations

import argparse
import re
import socket
import sys
from urllib.parse import urlsplit

FAULTS = {
    "no-host": "sends no Host field",
    "host-without-port": "sends Host without the port of the URL",
    "absolute-form": "sends the whole URL as the request-target",
    "bare-lf-request": "ends the request's lines with LF alone",
    "extra-crlf": "follows its request with an extra CRLF",
    "te-on-get": "sends its GET with Transfer-Encoding: chunked and an empty chunked body",
    "te-chunked": "sends TE: chunked",
    "content-length-on-get": "sends Content-Length: 0 with its GET",
    "reuses-after-close": "sends a second request on the connection after a Connection: close response",
    "reads-to-close": "ignores Content-Length and reads the body up to the close",
    "lenient-content-length": "reads the leading digits of the last Content-Length, whatever follows",
    "content-length-over-te": "frames by Content-Length (leading digits) when Transfer-Encoding is there too",
    "wraps-64-bit-lengths": "keeps Content-Length and chunk sizes modulo 2^64",
    "accepts-incomplete": "takes what arrived before the close (or a reset) as the whole response",
    "rejects-close-delimited": "rejects a response that neither Content-Length nor chunked frames",
    "body-on-204-304": "reads a body after a 204 or 304 response as its fields announce",
    "takes-1xx-as-final": "takes a 1xx response for the final response",
    "rejects-unknown-status": "rejects a status code it does not know",
    "ignores-chunked": "does not decode chunked: reads the body up to the close",
    "rejects-chunk-extensions": "rejects a chunk with an extension",
    "rejects-trailers": "rejects a trailer section",
    "accepts-broken-chunks": "takes the chunks decoded so far as the body when decoding fails",
    "keeps-obs-fold": "takes an obs-fold continuation line for a field line of its own",
    "whitespace-line-as-field": "reads a whitespace-preceded line after the status line as a field",
    "bare-cr-as-line-end": "takes a bare CR in a field line for the end of the line",
    "reason-phrase-must-match": "rejects a reason phrase other than the status code's usual one",
    "rejects-newer-minor-version": "rejects a status line whose version is neither HTTP/1.0 nor HTTP/1.1",
    "case-sensitive-field-names": "finds Content-Length and Transfer-Encoding only when spelled so",
    "chunked-case-sensitive": "recognizes the chunked coding only when spelled in lowercase",
    "te-value-exactly-chunked": "decodes chunked only when a whole Transfer-Encoding value is 'chunked'",
    "nul-ends-field-value": "ends a field value at its first NUL octet, as a C string ends",
    "http10-reads-to-close": "reads an HTTP/1.0 response up to the close, whatever its Content-Length",
    "reset-as-close": "takes a connection reset for the close that ends a close-delimited body",
    "rejects-obs-text": "rejects a field value with an octet above 0x7F",
    "rejects-empty-field-value": "rejects a field with an empty value",
    "strict-field-names": "rejects a field name of other characters than letters, digits and '-'",
    "no-user-agent": "sends no User-Agent",
    "sends-http10": "sends its request as HTTP/1.0",
    "expect-continue-on-get": "sends Expect: 100-continue with its GET",
    "te-without-connection-option": "sends TE: trailers without a TE option in Connection",
    "no-slash-before-query": "sends '?query' without the '/' when the URL's path is empty",
    "folds-request-fields": "folds its User-Agent field value onto a second line (obs-fold)",
    "content-on-get": "sends its GET with Content-Length: 5 and a 5-octet body",
}
REASONS = {200: b"OK", 204: b"No Content", 304: b"Not Modified"}
_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
_CHUNK_EXT = rb"[ \t]*;[ \t]*" + _TOKEN + rb"(?:[ \t]*=[ \t]*(?:" + _TOKEN + rb"|" + _QUOTED + rb"))?"
CAP = 1 << 40


class Rejected(Exception):
    pass


class Incomplete(Rejected):
    """The connection ended before the response did."""

    def __init__(self, why: str, partial: bytes) -> None:
        super().__init__(why)
        self.partial = partial


class Client:
    def __init__(self, sock: socket.socket, faults: frozenset[str]) -> None:
        self.sock = sock
        self.faults = faults
        self.buf = bytearray()
        self.eof = False
        self.reset = False
        self.body = bytearray()

    def on(self, fault: str) -> bool:
        return fault in self.faults

    def _more(self) -> bool:
        if self.eof:
            return False
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            self.reset = True
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def line(self) -> bytes:
        while True:
            end = self.buf.find(b"\n")
            if self.on("bare-cr-as-line-end"):
                cr = self.buf.find(b"\r")
                if 0 <= cr < end - 1:
                    line = bytes(self.buf[:cr])
                    del self.buf[: cr + 1]
                    return line
            if end >= 0:
                line = bytes(self.buf[:end]).removesuffix(b"\r")
                del self.buf[: end + 1]
                if b"\r" in line:
                    raise Rejected("bare CR")
                return line
            if not self._more():
                raise Incomplete("closed in a line", bytes(self.body))

    def exactly(self, size: int) -> bytes:
        while len(self.buf) < size:
            if not self._more():
                self.body += self.buf
                raise Incomplete("closed in the body", bytes(self.body))
        data = bytes(self.buf[:size])
        del self.buf[:size]
        return data

    def rest(self) -> bytes:
        while self._more():
            pass
        data = bytes(self.buf)
        self.buf.clear()
        if self.reset and not self.on("reset-as-close"):
            # RFC 9112 §8: a close-delimited response is complete at the close unless the
            # connection indicated an error: a reset is one.
            raise Incomplete("the connection was reset", data)
        return data

    def fields(self) -> list[tuple[bytes, bytes]]:
        fields: list[tuple[bytes, bytes]] = []
        skipping = False
        while True:
            line = self.line()
            if not line:
                if self.on("rejects-empty-field-value") and any(not v for _, v in fields):
                    raise Rejected("a field with an empty value")
                return fields
            if line[:1] in (b" ", b"\t"):
                if (not fields or skipping) and not self.on("whitespace-line-as-field"):
                    skipping = True
                    continue
                if fields and not self.on("keeps-obs-fold") and not skipping:
                    name, value = fields[-1]
                    fields[-1] = (name, (value + b" " + line.strip(b" \t")).strip(b" \t"))
                    continue
                if not self.on("whitespace-line-as-field"):
                    raise Rejected(f"field line starting with whitespace: {line!r}")
                line = line.lstrip(b" \t")
            skipping = False
            name, colon, value = line.partition(b":")
            if not colon or not re.fullmatch(_TOKEN, name):
                raise Rejected(f"invalid field line {line!r}")
            if self.on("strict-field-names") and not re.fullmatch(rb"[A-Za-z0-9-]+", name):
                raise Rejected(f"unusual field name {name!r}")
            if self.on("nul-ends-field-value"):
                value = value.split(b"\x00")[0]
            if self.on("rejects-obs-text") and re.search(rb"[\x80-\xff]", value):
                raise Rejected(f"a non-ASCII field value {value!r}")
            if not self.on("case-sensitive-field-names"):
                name = name.lower()
            fields.append((name, value.strip(b" \t")))

    def size(self, value: int) -> int:
        return value % (1 << 64) if self.on("wraps-64-bit-lengths") else value

    def chunked(self) -> bytes:
        while True:
            line = self.line()
            match = re.fullmatch(rb"([0-9A-Fa-f]+)((?:" + _CHUNK_EXT + rb")*)", line)
            if match is None:
                raise Rejected(f"invalid chunk-size line {line!r}")
            if match.group(2) and self.on("rejects-chunk-extensions"):
                raise Rejected("a chunk extension")
            size = self.size(int(match.group(1), 16))
            if size > CAP:
                raise Rejected("chunk too large")
            if size == 0:
                trailers = self.fields()
                if trailers and self.on("rejects-trailers"):
                    raise Rejected("a trailer section")
                return bytes(self.body)
            self.body += self.exactly(size)
            if self.line() != b"":
                raise Rejected("no CRLF after chunk data")

    def framing(self, fields: list[tuple[bytes, bytes]]) -> tuple[list[bytes], list[bytes]]:
        """The transfer codings and the Content-Length values the fields announce."""
        te, cl = b"transfer-encoding", b"content-length"
        if self.on("case-sensitive-field-names"):
            te, cl = b"Transfer-Encoding", b"Content-Length"
        if self.on("te-value-exactly-chunked"):
            codings = [v.strip().lower() for n, v in fields if n == te]
        else:
            codings = [e.strip() for n, v in fields if n == te for e in v.split(b",") if e.strip()]
        if not self.on("chunked-case-sensitive"):
            codings = [coding.lower() for coding in codings]
        return codings, [v for n, v in fields if n == cl]

    def response(self) -> bytes:
        while True:
            line = self.line()
            match = re.fullmatch(rb"HTTP/1\.(\d) (\d{3})(?: (.*))?", line)
            if match is None:
                raise Rejected(f"invalid status line {line!r}")
            minor, status, reason = int(match.group(1)), int(match.group(2)), match.group(3) or b""
            if self.on("rejects-newer-minor-version") and minor > 1:
                raise Rejected(f"unsupported version HTTP/1.{minor}")
            if self.on("reason-phrase-must-match") and reason != REASONS.get(status, b"Unknown"):
                raise Rejected(f"unexpected reason phrase {reason!r}")
            if self.on("rejects-unknown-status") and status >= 200 and status not in REASONS:
                raise Rejected(f"unknown status {status}")
            fields = self.fields()
            if 100 <= status < 200:
                if self.on("takes-1xx-as-final"):
                    return b""
                continue
            break
        codings, lengths = self.framing(fields)
        if status in (204, 304) and not self.on("body-on-204-304"):
            return b""
        if minor == 0 and self.on("http10-reads-to-close"):
            return self.rest()
        if codings and lengths and self.on("content-length-over-te"):
            return self.exactly(self.size(_leading_digits(lengths[-1])))
        if codings and not self.on("ignores-chunked"):
            if codings[-1] != b"chunked":
                raise Rejected("transfer coding not decoded")
            try:
                return self.chunked()
            except Incomplete:
                raise
            except Rejected:
                if self.on("accepts-broken-chunks"):
                    return bytes(self.body)
                raise
        if lengths and not codings and not self.on("reads-to-close"):
            if self.on("lenient-content-length"):
                return self.exactly(self.size(_leading_digits(lengths[-1])))
            values = [e.strip() for v in lengths for e in v.split(b",") if e.strip()]
            if not all(re.fullmatch(rb"[0-9]+", v) for v in values) or len({int(v) for v in values}) != 1:
                raise Rejected(f"invalid Content-Length {lengths!r}")
            size = self.size(int(values[0]))
            if size > CAP:
                raise Rejected("Content-Length too large")
            return self.exactly(size)
        if self.on("rejects-close-delimited") and not codings and not lengths:
            raise Rejected("a close-delimited response")
        return self.rest()


def _leading_digits(value: bytes) -> int:
    match = re.match(rb"[0-9]*", value.strip())
    return int(match.group() or b"0") if match else 0


def request(url: str, faults: frozenset[str]) -> bytes:
    parts = urlsplit(url)
    host = parts.hostname or ""
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if "no-slash-before-query" in faults and parts.query:
        target = f"{parts.path}?{parts.query}"
    if "absolute-form" in faults:
        target = url
    lines = [f"GET {target} HTTP/1.0" if "sends-http10" in faults else f"GET {target} HTTP/1.1"]
    if "no-host" not in faults:
        lines.append(f"Host: {host}" if "host-without-port" in faults else f"Host: {parts.netloc}")
    if "folds-request-fields" in faults:
        lines.append("User-Agent: faulty-h1-client\r\n (obsolete line folding)")
    elif "no-user-agent" not in faults:
        lines.append("User-Agent: faulty-h1-client")
    lines.append("Accept: */*")
    if "expect-continue-on-get" in faults:
        lines.append("Expect: 100-continue")
    if "te-without-connection-option" in faults:
        lines.append("TE: trailers")
    if "te-chunked" in faults:
        lines.append("TE: trailers, chunked")
    if "content-length-on-get" in faults:
        lines.append("Content-Length: 0")
    if "content-on-get" in faults:
        lines.append("Content-Length: 5")
    if "te-on-get" in faults:
        lines.append("Transfer-Encoding: chunked")
    end = "\n" if "bare-lf-request" in faults else "\r\n"
    body = "0\r\n\r\n" if "te-on-get" in faults else "hello" if "content-on-get" in faults else ""
    extra = "\r\n" if "extra-crlf" in faults else ""
    return (end.join(lines) + end + end + body + extra).encode("latin-1")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fault", action="append", default=[], choices=sorted(FAULTS), metavar="NAME")
    parser.add_argument("--list-faults", action="store_true")
    parser.add_argument("url", nargs="?")
    args = parser.parse_args(argv)
    if args.list_faults or not args.url:
        for name, what in FAULTS.items():
            print(f"{name:28} {what}")
        return 0 if args.list_faults else 2
    faults = frozenset(args.fault)
    parts = urlsplit(args.url)
    sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=30)
    try:
        sock.sendall(request(args.url, faults))
        client = Client(sock, faults)
        try:
            body = client.response()
        except Incomplete as exc:
            if "accepts-incomplete" not in faults:
                raise
            body = exc.partial
        if "reuses-after-close" in faults:
            sock.sendall(request(args.url, faults))
    except (Rejected, OSError) as exc:
        sys.stderr.write(f"rejected: {exc}\n")
        return 1
    finally:
        sock.close()
    sys.stdout.buffer.write(body)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
