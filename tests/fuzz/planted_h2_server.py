"""An HTTP/2 server (prior knowledge, cleartext) with planted bugs, for ``conformance fuzz
--suite h2``. ``--bug none`` is the correct twin.

Built on the h2 library, one thread per connection; every request gets a 200 with a short
body. Each bug is keyed on a flag the bundled suite never sets on that frame type, so that
the suite gives the bugged server its twin's verdicts, and only fuzzing finds it:

- ``crash``: a PING frame with flag bit 0x20 set (a flag PING does not define, which RFC 9113
  §4.1 says MUST be ignored) ends the process. The suite sends undefined flags on PING as
  0x16 only.
- ``rule``: a RST_STREAM frame with any flag set (it defines none) is dropped unread, so one
  on stream 0, on an idle stream or of the wrong length is not the connection error RFC 9113
  §6.4 requires. The suite sends RST_STREAM with no flags.
- ``hang``: after a PRIORITY frame with any flag set (it defines none) the connection stops:
  nothing more is read or answered, and it is not closed. The suite sends PRIORITY with no
  flags.
- ``invalid``: after a frame of type 0xFA (an extension this server "knows") with flag bit
  0x1 (the suite sends extension frames of other types), its responses carry ``Connection: keep-alive``, a connection-specific field RFC 9113
  §8.2.2 forbids.

The twin is the h2 library with two corrections, where seeded fuzzing found the library
breaking a rule the suite's cases do not reach: an RST_STREAM on an idle stream above the one
a request opened (the suite's case resets stream 1 before any request) is the connection
error RFC 9113 §6.4 requires, and a HEAD request gets no content (RFC 9110 §9.3.2).

Run: ``python planted_h2_server.py --port N --bug crash``.
"""

from __future__ import annotations

import os
import socket

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
from planted_listener import serve_forever  # a sibling: this file runs as a script

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
BUGS = ("crash", "rule", "hang", "invalid")


class Planted:
    """Reads the raw frames as they come, before the h2 library does, for the planted bug:
    what the library is given (``feed``) and what the bug changes."""

    def __init__(self, bug: str) -> None:
        self.bug = bug
        self.raw = b""
        self.seen_preface = False
        self.stalled = False
        self.connection_field = False
        self.highest = 0  # the highest stream a HEADERS frame of ours has named
        self.idle_reset = False  # an RST_STREAM on an idle stream came: the connection's end

    def feed(self, data: bytes) -> bytes:
        """The bytes the h2 library gets of ``data``."""
        if self.idle_reset:
            return b""
        self.raw += data
        passed = b""
        if not self.seen_preface:
            if len(self.raw) < len(PREFACE):
                return b""
            passed, self.raw, self.seen_preface = self.raw[: len(PREFACE)], self.raw[len(PREFACE) :], True
        while len(self.raw) >= 9:
            length = int.from_bytes(self.raw[:3], "big")
            if len(self.raw) < 9 + length:
                break
            frame, self.raw = self.raw[: 9 + length], self.raw[9 + length :]
            kind, flags = frame[3], frame[4]
            if self.bug == "crash" and kind == 0x6 and flags & 0x20:
                os._exit(1)  # the planted crash
            if self.bug == "rule" and kind == 0x3 and flags:
                continue  # the planted bug: dropped unread
            if self.bug == "hang" and kind == 0x2 and flags:
                self.stalled = True
                return passed
            if self.bug == "invalid" and kind == 0xFA and flags & 0x1:
                self.connection_field = True
            stream = int.from_bytes(frame[5:9], "big") & 0x7FFFFFFF
            if kind == 0x1 and stream % 2:
                self.highest = max(self.highest, stream)
            if kind == 0x3 and stream % 2 and stream > self.highest:
                self.idle_reset = True  # the twin's correction: RFC 9113 §6.4
                self.raw = b""
                return passed
            passed += frame
        return passed


def serve(sock: socket.socket, bug: str) -> None:
    # What it sends goes out as it is made: h2 would check and strip the planted field.
    config = h2.config.H2Configuration(
        client_side=False, validate_outbound_headers=False, normalize_outbound_headers=False
    )
    connection = h2.connection.H2Connection(config)
    connection.initiate_connection()
    planted = Planted(bug)
    try:
        sock.sendall(connection.data_to_send())
        while True:
            data = sock.recv(65536)
            if not data:
                return
            if planted.stalled:
                continue  # the planted hang: read and drop, answer nothing, never close
            try:
                events = connection.receive_data(planted.feed(data))
            except h2.exceptions.ProtocolError:
                sock.sendall(connection.data_to_send())
                return
            for event in events:
                if isinstance(event, h2.events.RequestReceived):
                    fields = [(":status", "200"), ("content-length", "8")]
                    if planted.connection_field:
                        fields.append(("connection", "keep-alive"))
                    head = (b":method", b"HEAD") in [(bytes(n), bytes(v)) for n, v in event.headers]
                    connection.send_headers(event.stream_id, fields, end_stream=head)
                    if not head:
                        connection.send_data(event.stream_id, b"planted\n", end_stream=True)
            if planted.idle_reset:
                connection.close_connection(error_code=h2.errors.ErrorCodes.PROTOCOL_ERROR)
                sock.sendall(connection.data_to_send())
                return
            sock.sendall(connection.data_to_send())
    except (OSError, h2.exceptions.H2Error):
        return
    finally:
        sock.close()


def main() -> None:
    serve_forever(BUGS, serve)


if __name__ == "__main__":
    main()
