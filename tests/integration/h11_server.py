"""A plain h11 server, as h11's documentation builds one: a thread per connection, the
application of apps.py and a Date field, nothing checked beyond what h11 checks. Judged by the integration
tests as "h11".

    python tests/integration/h11_server.py PORT
"""

from __future__ import annotations

import email.utils
import socket
import sys
import threading
from urllib.parse import urlsplit

import h11
from apps import ECHO_PATH, answer, echo_document

MAX_BODY = 1024 * 1024


def serve_connection(sock: socket.socket) -> None:
    connection = h11.Connection(h11.SERVER)
    sock.settimeout(10)
    try:
        while True:
            request = None
            body = b""
            while True:
                event = connection.next_event()
                if event is h11.NEED_DATA:
                    data = sock.recv(65536)
                    connection.receive_data(data)
                    if not data and connection.their_state is not h11.DONE:
                        return
                    continue
                if isinstance(event, h11.Request):
                    request = event
                    if connection.they_are_waiting_for_100_continue:
                        sock.sendall(connection.send(h11.InformationalResponse(status_code=100, headers=[])))
                elif isinstance(event, h11.Data):
                    body += event.data
                    if len(body) > MAX_BODY:
                        return
                elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                    break
            if request is None:
                return
            fields = {name.lower(): value.decode("latin-1") for name, value in request.headers}
            target = request.target.decode("latin-1")
            absolute = urlsplit(target) if not target.startswith("/") else None
            path = (absolute.path or "/") if absolute and absolute.netloc else target.split("?", 1)[0]
            if path == ECHO_PATH:
                # The echo contract: what h11 parsed (raw names, in order), the authority from
                # an absolute-form target, else Host (RFC 9112 §3.2.2).
                authority = absolute.netloc if absolute and absolute.netloc else fields.get(b"host", "")
                status, headers = 200, [("Content-Type", "application/json")]
                raw = [[n.decode("latin-1"), v.decode("latin-1")] for n, v in request.headers.raw_items()]
                content = echo_document(
                    request.method.decode("latin-1"),
                    target,
                    f"HTTP/{request.http_version.decode()}",
                    authority,
                    raw,
                    body,
                )
            else:
                status, headers, content = answer(
                    request.method.decode("latin-1"),
                    path,
                    fields.get(b"if-none-match"),
                    fields.get(b"if-match"),
                )
            if status != 304:
                headers.append(("Content-Length", str(len(content))))
            headers.append(("Date", email.utils.formatdate(usegmt=True)))
            out = connection.send(h11.Response(status_code=status, headers=headers))
            if request.method != b"HEAD" and content and status != 304:
                out += connection.send(h11.Data(data=content))
            out += connection.send(h11.EndOfMessage())
            sock.sendall(out)
            if connection.our_state is h11.MUST_CLOSE:
                return
            connection.start_next_cycle()
    except h11.RemoteProtocolError as exc:
        try:
            status = exc.error_status_hint
            response = h11.Response(
                status_code=status, headers=[("Content-Length", "0"), ("Connection", "close")]
            )
            sock.sendall(connection.send(response) or b"")
        except (h11.LocalProtocolError, OSError):
            pass
    except OSError:
        pass
    finally:
        linger_close(sock)


def linger_close(sock: socket.socket) -> None:
    """Close in stages (RFC 9112 §9.6): stop writing, read what the client still sends for a
    moment, then close, so that unread request bytes do not reset the connection before the
    client has read the response."""
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(1)
        for _ in range(1000):
            if not sock.recv(65536):
                break
    except OSError:
        pass
    finally:
        sock.close()


def main() -> None:
    port = int(sys.argv[1])
    listener = socket.create_server(("127.0.0.1", port), backlog=128)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve_connection, args=(client,), daemon=True).start()


if __name__ == "__main__":
    main()
