"""The reference HTTP/2 client: ``python -m conformance.clients.h2 URL``.

One GET for an ``http://`` URL over cleartext HTTP/2 with prior knowledge (RFC 9113 §3.3), on
the h2 library: the connection preface and SETTINGS (with SETTINGS_ENABLE_PUSH=0: this client
takes no pushes), the request on stream 1, and the response read with h2's validation of
inbound field blocks and content-length. As the HTTP/1.1 reference client puts a strict reader
in front of h11, frames pass a reader here before h2 sees them: it refuses frames on streams
this client never saw opened (h2 lets an RST_STREAM on an idle stream pass), lets a graceful
GOAWAY leave stream 1 to complete (h2 refuses every frame after any GOAWAY), and judges every
field block by RFC 9113 §8.2-§8.3 and the content by its content-length (§8.1.1), whatever h2
let through. The body goes to standard output. Exit status 0: the
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
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

from conformance.clients import SCHEMES, arguments, connect
from conformance.codecs import h2fields

#: Seconds the client waits for the server at any point before it gives up (rejects).
TIMEOUT = 30.0
SUITE = "h2"


class Rejected(Exception):
    """The response is not one this client accepts; the message says why."""


class ConnectionError_(Rejected):
    """A connection error this client found itself (RFC 9113 §5.4.1): GOAWAY with ``code``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


#: Frame types that may not arrive on an idle stream (RFC 9113 §5.1): all but HEADERS and
#: PRIORITY; on a stream the server would have to open (even: it can only push, and this
#: client disabled push), every one of them is on an idle stream.
_DATA, _HEADERS, _PRIORITY, _RST_STREAM, _GOAWAY, _WINDOW_UPDATE, _CONTINUATION = 0, 1, 2, 3, 7, 8, 9


class _Frames:
    """Whole frames out of the byte stream, each judged before h2 sees it."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> bytes:
        """The bytes h2 is to see: whole frames, less those this reader takes care of."""
        self.buffer += data
        out = bytearray()
        while len(self.buffer) >= 9:
            length = int.from_bytes(self.buffer[:3], "big")
            if len(self.buffer) < 9 + length:
                break
            frame = bytes(self.buffer[: 9 + length])
            del self.buffer[: 9 + length]
            kind, stream = frame[3], int.from_bytes(frame[5:9], "big") & 0x7FFFFFFF
            if stream and stream % 2 == 0 and kind in (_DATA, _RST_STREAM, _WINDOW_UPDATE, _CONTINUATION):
                raise ConnectionError_(
                    h2.errors.ErrorCodes.PROTOCOL_ERROR, f"frame type {kind} on idle stream {stream} (§5.1)"
                )
            if kind == _GOAWAY and length >= 8 and stream == 0:
                last = int.from_bytes(frame[9:13], "big") & 0x7FFFFFFF
                code = int.from_bytes(frame[13:17], "big")
                if code == 0 and last >= 1:
                    continue  # graceful: stream 1 was taken and completes (§6.8); we open no other
            out += frame
        return bytes(out)


def _check_fields(headers: list[tuple[bytes, bytes]], *, trailers: bool) -> None:
    found = h2fields.response_violations(headers, trailers=trailers)
    if found:
        raise Rejected("a malformed response: " + "; ".join(v.describe() for v in found))


def fetch(url: str, ca: str | None = None) -> tuple[int, bytes, str]:
    """(exit status, body, reason) of one GET for ``url`` (https://: over TLS, trusting ``ca``)."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES[SUITE] or not parts.hostname:
        return 2, b"", f"not an http:// or https:// URL: {url!r}"
    port = parts.port or SCHEMES[SUITE][parts.scheme][0]
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    authority = parts.hostname if parts.port is None else f"{parts.hostname}:{port}"
    try:
        sock = connect(SUITE, parts, ca, TIMEOUT)
    except OSError as exc:
        return 2, b"", f"cannot connect: {exc}"
    config = h2.config.H2Configuration(client_side=True, header_encoding=None, validate_inbound_headers=True)
    connection = h2.connection.H2Connection(config=config)
    # Push off in the preface's SETTINGS itself (RFC 9113 §6.5.2).
    connection.local_settings = h2.settings.Settings(
        client=True, initial_values={h2.settings.SettingCodes.ENABLE_PUSH: 0}
    )
    try:
        connection.initiate_connection()
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
    except ConnectionError_ as exc:
        connection.close_connection(error_code=exc.code)
        with contextlib.suppress(OSError):
            sock.sendall(connection.data_to_send())
        return 1, b"", f"connection error: {exc}"
    except Rejected as exc:
        if connection.state_machine.state.name != "CLOSED":
            connection.reset_stream(1, error_code=h2.errors.ErrorCodes.PROTOCOL_ERROR)
            with contextlib.suppress(OSError, h2.exceptions.ProtocolError):
                sock.sendall(connection.data_to_send())
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
    length: bytes | None = None
    frames = _Frames()
    while True:
        data = sock.recv(65536)
        if not data:
            raise Rejected("the server closed the connection before the response ended")
        for event in connection.receive_data(frames.feed(data)):
            if isinstance(event, (h2.events.ResponseReceived, h2.events.InformationalResponseReceived)):
                _check_fields(event.headers, trailers=False)
            elif isinstance(event, h2.events.TrailersReceived):
                _check_fields(event.headers, trailers=True)
            if isinstance(event, h2.events.ResponseReceived) and event.stream_id == 1:
                status = dict(event.headers).get(b":status")
                lengths = [v for n, v in event.headers if n == b"content-length"]
                if len(set(lengths)) > 1:
                    raise Rejected(f"content-length values disagree: {lengths!r}")
                length = lengths[0] if lengths else None
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
                if length is not None and (not length.isdigit() or int(length) != len(body)):
                    raise Rejected(f"content-length {length!r} but {len(body)} octets of DATA (§8.1.1)")
                sock.sendall(connection.data_to_send())
                return bytes(body)
        pending = connection.data_to_send()
        if pending:
            sock.sendall(pending)


def main(argv: list[str]) -> int:
    parsed = arguments(argv, "conformance.clients.h2")
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
