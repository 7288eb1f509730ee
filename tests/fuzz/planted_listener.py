"""The listening loop the planted-bug servers share: ``--port N --bug NAME``, 127.0.0.1, one
thread per connection."""

from __future__ import annotations

import argparse
import socket
import threading
from collections.abc import Callable, Sequence


def serve_forever(bugs: Sequence[str], handle: Callable[[socket.socket, str], None]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bug", choices=["none", *bugs], default="none")
    args = parser.parse_args()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(128)
    while True:
        sock, _ = listener.accept()
        threading.Thread(target=handle, args=(sock, args.bug), daemon=True).start()
