"""An HTTP/2 server (prior knowledge, cleartext) with one planted crash, for ``conformance fuzz
--suite h2``. ``--bug none`` is the correct twin.

Built on the h2 library, one thread per connection; every request gets a 200 with a short
body. The bug: a PING frame with flag bit 0x20 set (a flag PING does not define, which RFC
9113 §4.1 says MUST be ignored) ends the process. The bundled suite sends undefined flags on
PING as 0x16 only, so it does not trip over it.

Run: ``python planted_h2_server.py --port N --bug crash``.
"""

from __future__ import annotations

import os
import socket

import h2.config
import h2.connection
import h2.events
import h2.exceptions
from planted_listener import serve_forever  # a sibling: this file runs as a script

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def serve(sock: socket.socket, bug: str) -> None:
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    connection.initiate_connection()
    raw = b""  # the frames as they came, for the planted bug
    seen_preface = False
    try:
        sock.sendall(connection.data_to_send())
        while True:
            data = sock.recv(65536)
            if not data:
                return
            if bug == "crash":
                raw += data
                if not seen_preface and len(raw) >= len(PREFACE):
                    raw, seen_preface = raw[len(PREFACE) :], True
                while seen_preface and len(raw) >= 9:
                    length = int.from_bytes(raw[:3], "big")
                    if len(raw) < 9 + length:
                        break
                    if raw[3] == 0x6 and raw[4] & 0x20:
                        os._exit(1)  # the planted crash
                    raw = raw[9 + length :]
            try:
                events = connection.receive_data(data)
            except h2.exceptions.ProtocolError:
                sock.sendall(connection.data_to_send())
                return
            for event in events:
                if isinstance(event, h2.events.RequestReceived):
                    connection.send_headers(
                        event.stream_id, [(":status", "200"), ("content-length", "8")], end_stream=False
                    )
                    connection.send_data(event.stream_id, b"planted\n", end_stream=True)
            sock.sendall(connection.data_to_send())
    except (OSError, h2.exceptions.H2Error):
        return
    finally:
        sock.close()


def main() -> None:
    serve_forever(["crash"], serve)


if __name__ == "__main__":
    main()
