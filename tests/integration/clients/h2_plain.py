"""The client contract for the h2 library, used as its documentation shows a client.

    conformance client --suite h2 'h2=python3 h2_plain.py {url}'

One GET over cleartext HTTP/2 with prior knowledge (RFC 9113 §3.3) on a plain socket, with
h2's default configuration (it validates inbound field blocks) and no reader of our own in
front of it. That is what sets it apart from the reference client (conformance/clients/h2.py),
which judges every frame and field block itself before h2 sees it: this script judges what h2
alone does. The body goes to standard output; exit 0 when h2 delivered a whole response, 1
when the stream was reset, the connection ended first, or h2 raised a protocol error.
"""

import socket
import sys
from urllib.parse import urlsplit

import h2.connection
import h2.events
import h2.exceptions


def get(url: str) -> bytes:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=30)
    connection = h2.connection.H2Connection()
    connection.initiate_connection()
    connection.send_headers(
        1,
        [(":method", "GET"), (":scheme", "http"), (":authority", parts.netloc), (":path", parts.path or "/")],
        end_stream=True,
    )
    sock.sendall(connection.data_to_send())
    body = bytearray()
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("the server closed the connection before the response ended")
            for event in connection.receive_data(data):
                if isinstance(event, h2.events.DataReceived):
                    body += event.data
                    connection.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded) and event.stream_id == 1:
                    connection.close_connection()
                    sock.sendall(connection.data_to_send())
                    return bytes(body)
                elif isinstance(event, h2.events.StreamReset) and event.stream_id == 1:
                    raise ConnectionError(f"the server reset the stream ({event.error_code!r})")
                elif isinstance(event, h2.events.ConnectionTerminated) and (
                    # A graceful GOAWAY that covers stream 1 lets it complete (RFC 9113 §6.8):
                    # read on, and let h2 decide what it does with the rest.
                    event.error_code != 0 or (event.last_stream_id or 0) < 1
                ):
                    raise ConnectionError(f"the server ended the connection ({event.error_code!r})")
            sock.sendall(connection.data_to_send())
    except h2.exceptions.ProtocolError:
        sock.sendall(connection.data_to_send())  # the GOAWAY h2 queued for the error
        raise
    finally:
        sock.close()


try:
    body = get(sys.argv[1])
except (h2.exceptions.ProtocolError, OSError) as exc:
    sys.exit(f"rejected: {exc!r}")
sys.stdout.buffer.write(body)
