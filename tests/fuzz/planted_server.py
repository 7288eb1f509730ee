"""An HTTP/1.1 origin server with one planted bug, for proving that ``conformance fuzz`` finds,
shrinks and writes it. ``--bug none`` is the correct twin.

A small, strict, threaded server (one thread per connection): CRLF only, token names, a
colon right after the name, one Host, Transfer-Encoding ``chunked`` or a Content-Length of
identical digits (both: 400), chunked bodies with extensions and trailers. ``/echo`` answers
with the echo contract's JSON; every other path with a short text. Errors: 400 and close.

The bugs are made so that the bundled h1 suite does not trip over them:

- ``crash``: a field name of at most three characters containing "~" ends the process;
- ``hang``: a chunk extension containing "z" stops the connection's thread for good;
- ``malformed``: a field value containing "|" gets a response with both Content-Length and
  Transfer-Encoding (RFC 9112 §6.2: a sender MUST NOT);
- ``differential``: a Content-Length line with whitespace after its digits ("5 ", which is
  5: RFC 9110 §5.5 strips it) is read as 0, so the content is read as the next request.

Run: ``python planted_server.py --port N --bug crash``.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time

from planted_listener import serve_forever  # a sibling: this file runs as a script

TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
VALUE = re.compile(rb"[\t \x21-\x7e\x80-\xff]*")
CHUNK_LINE = re.compile(
    rb"([0-9A-Fa-f]{1,8})((?:;[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:=(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|\"[^\"\\\r\n]*\"))?)*)"
)


class BadRequest(Exception):
    pass


class Connection:
    def __init__(self, sock: socket.socket, bug: str) -> None:
        self.sock = sock
        self.bug = bug
        self.buf = b""
        self.length_bug = False

    def more(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            if len(self.buf) > 16384:
                raise BadRequest("line too long")
            self.more()
        line, self.buf = self.buf.split(b"\r\n", 1)
        if b"\n" in line or b"\r" in line:
            raise BadRequest("bare CR or LF")
        return line

    def take(self, count: int) -> bytes:
        while len(self.buf) < count:
            self.more()
        data, self.buf = self.buf[:count], self.buf[count:]
        return data

    def fields(self) -> list[tuple[bytes, bytes]]:
        fields = []
        while True:
            line = self.line()
            if not line:
                return fields
            name, colon, value = line.partition(b":")
            if not colon or not TOKEN.fullmatch(name):
                raise BadRequest("bad field line")
            if self.bug == "differential" and name.lower() == b"content-length" and value.endswith(b" "):
                self.length_bug = True  # the planted misreading, applied in request()
            value = value.strip(b" \t")
            if not VALUE.fullmatch(value):
                raise BadRequest("bad field value")
            if self.bug == "crash" and len(name) <= 3 and b"~" in name:
                os._exit(1)  # the planted crash
            fields.append((name, value))

    def request(self) -> tuple[bytes, bytes, bytes, list[tuple[bytes, bytes]], bytes]:
        self.length_bug = False
        line = self.line()
        while not line:  # RFC 9112 §2.2: an empty line before the request-line is ignored
            line = self.line()
        parts = line.split(b" ")
        if len(parts) != 3 or not TOKEN.fullmatch(parts[0]) or parts[2] not in (b"HTTP/1.1", b"HTTP/1.0"):
            raise BadRequest("bad request line")
        method, target, version = parts
        if not target or not re.fullmatch(rb"[\x21-\x7e]+", target):
            raise BadRequest("bad target")
        fields = self.fields()
        names = [name.lower() for name, _ in fields]
        if names.count(b"host") != 1:
            raise BadRequest("Host")
        lengths = [value for name, value in fields if name.lower() == b"content-length"]
        codings = [value for name, value in fields if name.lower() == b"transfer-encoding"]
        if codings:
            if lengths or len(codings) != 1 or codings[0].lower() != b"chunked":
                raise BadRequest("framing")
            body = self.chunked()
        elif lengths:
            members = {m.strip(b" \t") for value in lengths for m in value.split(b",")}
            if len(members) != 1 or not re.fullmatch(rb"[0-9]{1,9}", next(iter(members))):
                raise BadRequest("Content-Length")
            length = int(next(iter(members)))
            if self.length_bug:
                length = 0  # the planted misreading
            body = self.take(length)
        else:
            body = b""
        return method, target, version, fields, body

    def chunked(self) -> bytes:
        body = b""
        while True:
            line = self.line()
            match = CHUNK_LINE.fullmatch(line)
            if not match:
                raise BadRequest("chunk size")
            if self.bug == "hang" and b"z" in match.group(2):
                time.sleep(3600)  # the planted hang
            size = int(match.group(1), 16)
            if size == 0:
                self.fields()  # trailers, discarded
                return body
            body += self.take(size)
            if self.take(2) != b"\r\n":
                raise BadRequest("chunk data")

    def serve(self) -> None:
        try:
            while True:
                try:
                    method, target, version, fields, body = self.request()
                except BadRequest:
                    self.send(400, [], b"bad request\n", close=True)
                    return
                close = version == b"HTTP/1.0" or any(
                    name.lower() == b"connection" and b"close" in value.lower() for name, value in fields
                )
                if target.split(b"?")[0] == b"/echo":
                    document = {
                        "method": method.decode("latin-1"),
                        "target": target.decode("latin-1"),
                        "version": version.decode("latin-1"),
                        "authority": next(v for n, v in fields if n.lower() == b"host").decode("latin-1"),
                        "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in fields],
                        "body": body.decode("latin-1"),
                    }
                    content = json.dumps(document).encode()
                    headers = [(b"Content-Type", b"application/json")]
                else:
                    content, headers = b"planted\n", [(b"Content-Type", b"text/plain")]
                if method == b"HEAD":
                    content = b""
                malformed = self.bug == "malformed" and any(b"|" in value for _, value in fields)
                self.send(200, headers, content, close=close, malformed=malformed, head=method == b"HEAD")
                if close:
                    return
        except (EOFError, OSError):
            return
        finally:
            self.sock.close()

    def send(
        self,
        status: int,
        headers: list[tuple[bytes, bytes]],
        content: bytes,
        *,
        close: bool,
        malformed: bool = False,
        head: bool = False,
    ) -> None:
        reason = {200: b"OK", 400: b"Bad Request"}[status]
        lines = [b"HTTP/1.1 %d %s" % (status, reason), *(n + b": " + v for n, v in headers)]
        if malformed:
            # The planted bug: both framings (RFC 9112 §6.2), the content chunked.
            lines += [b"Content-Length: %d" % len(content), b"Transfer-Encoding: chunked"]
            payload = (b"%x\r\n%s\r\n0\r\n\r\n" % (len(content), content)) if content else b"0\r\n\r\n"
        else:
            lines.append(b"Content-Length: %d" % len(content))
            payload = content
        if close:
            lines.append(b"Connection: close")
        self.sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + (b"" if head else payload))


def main() -> None:
    serve_forever(
        ["crash", "hang", "malformed", "differential"], lambda sock, bug: Connection(sock, bug).serve()
    )


if __name__ == "__main__":
    main()
