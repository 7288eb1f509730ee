"""A WebSocket echo server with planted bugs, for ``conformance fuzz --suite ws``.
``--bug none`` is the correct twin.

Small, strict and threaded (one thread per connection), written without the project's codecs
so that it does not share their mistakes: a handshake with a key and ``Upgrade: websocket``
gets a 101 (the handshake checks stop there: the fuzzer sends valid ones); then every
frame must be masked, with no reserved bits or opcodes; control frames carry at most 125
bytes and are not fragmented; a continuation continues a message and a new message waits
for the last one to end; text is valid UTF-8; a close payload is empty or a valid code and
a UTF-8 reason. A violation fails the connection (close 1002, 1007 for bad UTF-8). Messages
are echoed, pings answered, a close answered with a close.

The bugs (the bundled ws suite catches the first two, not the others):

- ``utf8``: a text message that is not valid UTF-8 is echoed instead of failing the
  connection (RFC 6455 §8.1);
- ``crash``: a pong inside a fragmented message ends the process (the suite sends pings
  there, never a pong);
- ``hang``: a ping with FIN clear (a fragmented control frame) stops the connection's thread
  for good: no close, no answer;
- ``last-fragment``: a fragmented message is echoed as its last fragment only (a reading of
  its own, for the differential oracle: no RFC sentence is about what an echo endpoint echoes).
- ``lax-after-pong``: once it has answered a ping, it takes unmasked frames, reserved bits and
  reserved opcodes (RFC 6455 §5.1, §5.2: it MUST fail the connection). The suite sends none of
  those after a ping, and the fuzzer's rule oracle finds it only since it judges frames after
  earlier answers.

Run: ``python planted_ws_server.py --port N --bug utf8``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import time

from planted_listener import serve_forever  # a sibling: this file runs as a script

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_MESSAGE = 1 << 20


class Failed(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def frame(opcode: int, payload: bytes) -> bytes:
    """A server frame: FIN, unmasked, the minimal length form."""
    size = len(payload)
    if size <= 125:
        head = bytes((0x80 | opcode, size))
    elif size <= 0xFFFF:
        head = bytes((0x80 | opcode, 126)) + size.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 127)) + size.to_bytes(8, "big")
    return head + payload


def valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8", "strict")
    except UnicodeDecodeError:
        return False
    return True


def valid_close_code(code: int) -> bool:
    return code in (1000, 1001, 1002, 1003) or 1007 <= code <= 1014 or 3000 <= code <= 4999


class Connection:
    def __init__(self, sock: socket.socket, bug: str) -> None:
        self.sock = sock
        self.bug = bug
        self.buf = b""
        self.ponged = False

    def read(self, count: int) -> bytes:
        while len(self.buf) < count:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError
            self.buf += data
        out, self.buf = self.buf[:count], self.buf[count:]
        return out

    def handshake(self) -> bool:
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 16384:
                return False
            data = self.sock.recv(65536)
            if not data:
                return False
            self.buf += data
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        fields = {}
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip()
        key = fields.get(b"sec-websocket-key")
        if not head.startswith(b"GET ") or key is None or fields.get(b"upgrade", b"").lower() != b"websocket":
            self.sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return False
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        self.sock.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        return True

    def next_frame(self) -> tuple[bool, int, bytes]:
        first, second = self.read(2)
        fin, rsv, opcode = bool(first & 0x80), first & 0x70, first & 0x0F
        length = second & 0x7F
        if length == 126:
            length = int.from_bytes(self.read(2), "big")
        elif length == 127:
            length = int.from_bytes(self.read(8), "big")
            if length >> 63:
                raise Failed(1002)
        masked = bool(second & 0x80)
        lax = self.bug == "lax-after-pong" and self.ponged  # the planted bug
        if not masked and not lax:
            raise Failed(1002)  # RFC 6455 §5.1: a client's frames are masked
        if (rsv or opcode in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15)) and not lax:
            raise Failed(1002)
        if opcode >= 0x8 and (length > 125 or not fin):
            if self.bug == "hang" and opcode == 0x9 and not fin and length <= 125:
                time.sleep(3600)  # the planted hang
            raise Failed(1002)
        if length > MAX_MESSAGE:
            raise Failed(1009)
        key = self.read(4) if masked else b"\0\0\0\0"
        data = self.read(length)
        payload = bytes(byte ^ key[index % 4] for index, byte in enumerate(data))
        return fin, opcode, payload

    def serve(self) -> None:
        if not self.handshake():
            return
        message_opcode: int | None = None
        message = b""
        while True:
            fin, opcode, payload = self.next_frame()
            if opcode == 0x9:
                self.sock.sendall(frame(0xA, payload))
                self.ponged = True
                continue
            if opcode == 0xA:
                if self.bug == "crash" and message_opcode is not None:
                    os._exit(1)  # the planted crash
                continue
            if opcode == 0x8:
                if len(payload) == 1:
                    raise Failed(1002)
                if payload:
                    if not valid_close_code(int.from_bytes(payload[:2], "big")):
                        raise Failed(1002)
                    if not valid_utf8(payload[2:]):
                        raise Failed(1007)
                self.sock.sendall(frame(0x8, payload[:2] if payload else b""))
                return
            if opcode == 0x0:
                if message_opcode is None:
                    raise Failed(1002)
            elif message_opcode is not None:
                raise Failed(1002)
            else:
                message_opcode, message = opcode, b""
            message = payload if self.bug == "last-fragment" and opcode == 0x0 else message + payload
            if len(message) > MAX_MESSAGE:
                raise Failed(1009)
            if not fin:
                continue
            if message_opcode == 0x1 and not valid_utf8(message) and self.bug != "utf8":
                raise Failed(1007)
            self.sock.sendall(frame(message_opcode, message))
            message_opcode, message = None, b""


def handle(sock: socket.socket, bug: str) -> None:
    connection = Connection(sock, bug)
    try:
        connection.serve()
    except Failed as failure:
        try:
            sock.sendall(frame(0x8, failure.code.to_bytes(2, "big")))
            # Then wait for the client's close (RFC 6455 §7.1.1: the server closes TCP first, but
            # closing with unread data would reset the connection and lose the close frame).
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(1.0)
            while sock.recv(65536):
                pass
        except OSError:
            pass
    except (EOFError, OSError):
        pass
    finally:
        sock.close()


def main() -> None:
    serve_forever(["utf8", "crash", "hang", "last-fragment", "lax-after-pong"], handle)


if __name__ == "__main__":
    main()
