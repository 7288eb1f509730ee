"""The reference HTTP/1.1 client: ``python -m conformance.clients.h1 URL``.

One GET for URL over a fresh connection, read with h11 (which frames responses by RFC 9112
§6.3 and refuses what a client must not accept), the body written to standard output. Exit
status 0: the response was accepted; 1: it was rejected (what was wrong goes to standard
error); 2: the command line was wrong or the server could not be reached.
"""

from __future__ import annotations

import socket
import sys
from urllib.parse import urlsplit

import h11

#: Seconds the client waits for the server at any point before it gives up (rejects).
TIMEOUT = 30.0


def fetch(url: str) -> tuple[int, bytes, str]:
    """(exit status, body, reason) of one GET for ``url``."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return 2, b"", f"not an http:// URL: {url!r}"
    port = parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    authority = parts.hostname if parts.port is None else f"{parts.hostname}:{port}"
    try:
        sock = socket.create_connection((parts.hostname, port), timeout=TIMEOUT)
    except OSError as exc:
        return 2, b"", f"cannot connect: {exc}"
    connection = h11.Connection(our_role=h11.CLIENT)
    body = bytearray()
    try:
        request = h11.Request(
            method="GET",
            target=target,
            headers=[("Host", authority), ("User-Agent", "conformance-reference-client"), ("Accept", "*/*")],
        )
        sock.sendall(connection.send(request) + connection.send(h11.EndOfMessage()))
        # RFC 9112 §9.6: the client closes after this exchange (one request per run).
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                data = sock.recv(65536)
                connection.receive_data(data)
                continue
            if isinstance(event, h11.InformationalResponse):
                continue  # RFC 9110 §15.2: a client MUST be able to parse 1xx responses, and go on
            if isinstance(event, h11.Response):
                continue
            if isinstance(event, h11.Data):
                body += event.data
                continue
            if isinstance(event, h11.EndOfMessage):
                return 0, bytes(body), ""
            if isinstance(event, h11.ConnectionClosed):
                return 1, bytes(body), "the connection closed before a complete response"
            return 1, bytes(body), f"unexpected event {event!r}"
    except h11.RemoteProtocolError as exc:
        return 1, bytes(body), f"invalid response: {exc}"
    except OSError as exc:
        return 1, bytes(body), f"connection error: {exc}"
    finally:
        sock.close()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m conformance.clients.h1 URL\n")
        return 2
    status, body, reason = fetch(argv[0])
    if status == 0:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    else:
        sys.stderr.write(f"rejected: {reason}\n")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
