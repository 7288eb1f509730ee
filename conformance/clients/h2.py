"""The reference HTTP/2 client: ``python -m conformance.clients.h2 URL``.

One GET for an ``http://`` URL over cleartext HTTP/2 with prior knowledge (RFC 9113 §3.3), on
the h2 library: the connection preface and SETTINGS (with SETTINGS_ENABLE_PUSH=0: this client
takes no pushes), the request on stream 1, and the response read with h2's validation of
inbound field blocks and content-length. The body goes to standard output. Exit status 0: the
response was accepted; 1: it was rejected (a stream reset, a connection error, a malformed
response; why goes to standard error); 2: the command line was wrong or the server could not
be reached.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

#: Seconds the client waits for the server at any point before it gives up (rejects).
TIMEOUT = 30.0


class Rejected(Exception):
    """The response is not one this client accepts; the message says why."""


def fetch(url: str) -> tuple[int, bytes, str]:
    """(exit status, body, reason) of one GET for ``url``."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return 2, b"", f"not an http:// URL: {url!r}"
    port = parts.port or 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    authority = parts.hostname if parts.port is None else f"{parts.hostname}:{port}"
    try:
        sock = socket.create_connection((parts.hostname, port), timeout=TIMEOUT)
    except OSError as exc:
        return 2, b"", f"cannot connect: {exc}"
    config = h2.config.H2Configuration(client_side=True, header_encoding=None, validate_inbound_headers=True)
    connection = h2.connection.H2Connection(config=config)
    try:
        connection.initiate_connection()
        connection.update_settings({h2.settings.SettingCodes.ENABLE_PUSH: 0})
        headers = [
            (b":method", b"GET"),
            (b":scheme", b"http"),
            (b":authority", authority.encode("ascii")),
            (b":path", path.encode("ascii")),
            (b"user-agent", b"conformance-reference-client"),
        ]
        connection.send_headers(1, headers, end_stream=True)
        sock.sendall(connection.data_to_send())
        body = _read(sock, connection)
        connection.close_connection()
        with contextlib.suppress(OSError):  # the response is whole: a server gone changes nothing
            sock.sendall(connection.data_to_send())
        return 0, body, ""
    except Rejected as exc:
        return 1, b"", str(exc)
    except h2.exceptions.ProtocolError as exc:
        # h2 has queued the GOAWAY of this connection error (with its code): send it.
        with contextlib.suppress(OSError):
            sock.sendall(connection.data_to_send())
        return 1, b"", f"connection error: {type(exc).__name__}: {exc}"
    except OSError as exc:
        return 1, b"", f"connection error: {exc}"
    finally:
        sock.close()


def _read(sock: socket.socket, connection: h2.connection.H2Connection) -> bytes:
    body = bytearray()
    status: bytes | None = None
    while True:
        data = sock.recv(65536)
        if not data:
            raise Rejected("the server closed the connection before the response ended")
        for event in connection.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived) and event.stream_id == 1:
                status = dict(event.headers).get(b":status")
            elif isinstance(event, h2.events.DataReceived) and event.stream_id == 1:
                body += event.data
                # Give the window back as the body is consumed (RFC 9113 §6.9).
                connection.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamReset) and event.stream_id == 1:
                raise Rejected(f"the server reset the stream ({event.error_code!r})")
            elif isinstance(event, h2.events.ConnectionTerminated):
                if event.error_code != 0 or (event.last_stream_id or 0) < 1:
                    raise Rejected(
                        f"the server ended the connection (GOAWAY {event.error_code!r}, "
                        f"last stream {event.last_stream_id})"
                    )
            elif isinstance(event, h2.events.StreamEnded) and event.stream_id == 1:
                if status is None:
                    raise Rejected("the stream ended without a response")
                sock.sendall(connection.data_to_send())
                return bytes(body)
        pending = connection.data_to_send()
        if pending:
            sock.sendall(pending)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m conformance.clients.h2 URL\n")
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
