"""A server under test that ``conformance run --server`` starts as a command (test_cli_server.py).

``python command_server.py PORT STATE_DIR [stubborn]``: HTTP/1.1 on 127.0.0.1:PORT, one thread per
connection. ``GET /fast`` is answered 200; ``GET /slow`` never (STATE_DIR/slow is created
when one arrives, so a test knows the run is under way); ``GET /die`` ends the process with
status 7, without an answer; anything else is a 404. At start it writes STATE_DIR/pids: its process group and the pid
of a child (``sleep``) that it leaves running, so that a test can check that stopping the
server ended the whole group, not only the process the command started. ``stubborn``: it
ignores SIGTERM (creating STATE_DIR/term when one comes), so that only SIGKILL ends it.
"""

from __future__ import annotations

import os
import signal
import socketserver
import subprocess
import sys
from pathlib import Path


class Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        line = self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        if line.startswith(b"GET /fast "):
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        elif line.startswith(b"GET /slow "):
            (STATE / "slow").touch()
            self.rfile.read()  # until the client closes
        elif line.startswith(b"GET /die "):
            os._exit(7)
        else:  # the run's pre-flight probe, say
            self.wfile.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    PORT, STATE = int(sys.argv[1]), Path(sys.argv[2])
    if sys.argv[3:] == ["stubborn"]:
        signal.signal(signal.SIGTERM, lambda number, frame: (STATE / "term").touch())
    child = subprocess.Popen(["sleep", "300"])
    with Server(("127.0.0.1", PORT), Handler) as server:
        (STATE / "pids.tmp").write_text(f"{os.getpgid(0)} {child.pid}\n")
        (STATE / "pids.tmp").replace(STATE / "pids")
        print(f"listening on {PORT}", flush=True)
        server.serve_forever()
