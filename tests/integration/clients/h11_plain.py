"""The client contract for h11 used as a plain client: one GET, h11 reads the response.

conformance client --suite h1 'h11=python3 h11_plain.py {url}'

Not the reference client (``conformance.clients.h1``), which has h11 write the request and
reads the response with a strict reader of its own; here h11 alone judges the response.
"""

import socket
import sys
from urllib.parse import urlsplit

import h11

url = urlsplit(sys.argv[1])
target = (url.path or "/") + (f"?{url.query}" if url.query else "")
conn = h11.Connection(our_role=h11.CLIENT)
body = bytearray()
try:
    with socket.create_connection((url.hostname, url.port or 80), timeout=30) as sock:
        host = url.netloc.encode()
        sock.sendall(conn.send(h11.Request(method="GET", target=target, headers=[("Host", host)])))
        sock.sendall(conn.send(h11.EndOfMessage()))
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(sock.recv(65536))
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                sys.exit("rejected: connection closed before a response")
except (h11.ProtocolError, OSError) as exc:  # a response it refused, or cut short
    sys.exit(f"rejected: {exc!r}")
sys.stdout.buffer.write(body)
