"""An HTTP/1.1 server whose every response is an attempt at script injection into a report.

It answers each request (read until the end of its head, at most 64 KiB, 2 s) with one
response that puts markup into the reason phrase, header names, header values and the body,
then closes. Every payload sets ``window.__pwned`` if it ever runs, so a browser test can
tell. Binds 127.0.0.1 on a free port; ``with HostileHTTPServer() as url:`` stops it.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from types import TracebackType

PAYLOADS = {
    "script": "<script>window.__pwned='script'</script>",
    "img": '"><img src=x onerror="window.__pwned=\'img\'">',
    "end-script": "</script><script>window.__pwned='end-script'</script>",
    "comment": "<!--<script>window.__pwned='comment'</script>-->",
    "svg": "<svg onload=\"window.__pwned='svg'\">",
    "separators": "\u2028\u2029</SCRIPT ><script>window.__pwned='upper'</script>",
}
ALL = "".join(PAYLOADS.values())


def response() -> bytes:
    body = (ALL + "\r\n" + PAYLOADS["end-script"] * 3).encode("utf-8")
    head = [
        f"HTTP/1.1 200 {PAYLOADS['script']}{PAYLOADS['img']}{PAYLOADS['end-script']}",
        f"X-{PAYLOADS['script']}: {PAYLOADS['img']}",
        f"X-Value: {PAYLOADS['end-script']}{PAYLOADS['comment']}",
        f"{PAYLOADS['svg']}: {PAYLOADS['separators']}",
        "Content-Type: text/html",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("utf-8") + body


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        conn: socket.socket = self.request
        conn.settimeout(2.0)
        received = b""
        try:
            while b"\r\n\r\n" not in received and len(received) < 64 * 1024:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                received += chunk
            conn.sendall(response())
        except OSError:
            return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class HostileHTTPServer:
    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def __enter__(self) -> str:
        self._thread.start()
        return self.url

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
