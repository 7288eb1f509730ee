"""A deliberately faulty WebSocket client, to show that every WebSocket client case can FAIL.

    python tests/faulty/ws_client.py [--fault NAME]... URL

It follows the client contract (README, "Client mode"): open the connection to URL, echo every
text and binary message, answer pings, close when the server closes; exit 0 after a clean
closing handshake, 1 when it failed the connection or the opening handshake. With no fault
it checks what RFC 6455 asks a client to check; each fault switches one rule wrong.
``--list-faults`` lists them.
"""

from __future__ import annotations

import argparse
import base64
import codecs
import hashlib
import os
import socket
import struct
import sys
from urllib.parse import urlsplit

FAULTS = {
    "no-mask": "sends its frames unmasked",
    "accepts-bad-accept": "does not check Sec-WebSocket-Accept",
    "accepts-any-status": "takes any status for 101",
    "ignores-upgrade-connection": "does not check the Upgrade and Connection fields of the answer",
    "accepts-unoffered-extension": "takes an extension it did not offer",
    "accepts-unoffered-subprotocol": "takes a subprotocol it did not offer",
    "ignores-rsv": "takes frames with RSV bits set",
    "ignores-reserved-opcode": "skips frames with a reserved opcode",
    "no-echo-of-fragmented": "does not echo fragmented messages",
    "accepts-invalid-utf8": "echoes text that is not UTF-8",
    "lenient-control-frames": "takes long or fragmented control frames",
    "lenient-fragmentation": "takes a continuation with no message begun, or a new message inside one",
    "accepts-invalid-close": "takes close frames with invalid codes, a 1-byte payload or bad UTF-8",
    "no-pong": "does not answer pings",
    "no-close-reply": "does not answer the server's close frame",
    "accepts-masked-frames": "unmasks and takes masked frames from the server",
}
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
VALID_CODES = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011}


class Failed(Exception):
    def __init__(self, why: str, code: int | None = 1002) -> None:
        super().__init__(why)
        self.code = code


class Client:
    def __init__(self, sock: socket.socket, faults: set[str]) -> None:
        self.sock = sock
        self.faults = faults
        self.buf = bytearray()
        self.eof = False

    def on(self, fault: str) -> bool:
        return fault in self.faults

    def recv(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            self.eof = True
        self.buf += data

    def take(self, count: int) -> bytes:
        while len(self.buf) < count:
            if self.eof:
                raise EOFError
            self.recv()
        data = bytes(self.buf[:count])
        del self.buf[:count]
        return data

    def send_frame(self, opcode: int, payload: bytes) -> None:
        head = bytes([0x80 | opcode])
        masked = not self.on("no-mask")
        bit = 0x80 if masked else 0
        n = len(payload)
        if n < 126:
            head += bytes([bit | n])
        elif n < 65536:
            head += bytes([bit | 126]) + struct.pack("!H", n)
        else:
            head += bytes([bit | 127]) + struct.pack("!Q", n)
        if masked:
            key = os.urandom(4)
            repeated = (key * (len(payload) // 4 + 1))[: len(payload)]
            value = int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")
            payload = value.to_bytes(len(payload), "big")
            head += key
        self.sock.sendall(head + payload)

    # -- the opening handshake

    def handshake(self, host: str, target: str) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {target} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        while b"\r\n\r\n" not in self.buf:
            if self.eof:
                raise Failed("closed during the handshake", None)
            self.recv()
        end = self.buf.index(b"\r\n\r\n")
        head = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
        del self.buf[: end + 4]
        status = head[0].split(" ")
        fields: dict[str, str] = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        if not self.on("accepts-any-status") and (len(status) < 2 or status[1] != "101"):
            raise Failed(f"status {head[0]}", None)
        if not self.on("ignores-upgrade-connection"):
            if fields.get("upgrade", "").lower() != "websocket":
                raise Failed("no Upgrade: websocket", None)
            if "upgrade" not in [t.strip().lower() for t in fields.get("connection", "").split(",")]:
                raise Failed("no Connection: Upgrade", None)
        digest = hashlib.sha1((key + GUID).encode(), usedforsecurity=False).digest()
        if (
            not self.on("accepts-bad-accept")
            and fields.get("sec-websocket-accept") != base64.b64encode(digest).decode()
        ):
            raise Failed("wrong Sec-WebSocket-Accept", None)
        if "sec-websocket-extensions" in fields and not self.on("accepts-unoffered-extension"):
            raise Failed("an extension not offered", None)
        if "sec-websocket-protocol" in fields and not self.on("accepts-unoffered-subprotocol"):
            raise Failed("a subprotocol not offered", None)

    # -- frames

    def run(self) -> bool:
        """Echo until the server closes; True after a clean closing handshake."""
        message: list[bytes] = []
        kind = 0
        frames = 0
        utf8 = codecs.getincrementaldecoder("utf-8")()
        while True:
            b0, b1 = self.take(2)
            fin, rsv, opcode = b0 & 0x80, b0 & 0x70, b0 & 0x0F
            masked, n = b1 & 0x80, b1 & 0x7F
            if n == 126:
                (n,) = struct.unpack("!H", self.take(2))
            elif n == 127:
                (n,) = struct.unpack("!Q", self.take(8))
                if n >> 63:
                    raise Failed("a 64-bit length with its most significant bit set")
            key = self.take(4) if masked else b""
            payload = self.take(n)
            if key:
                if not self.on("accepts-masked-frames"):
                    raise Failed("a masked frame from the server")
                repeated = (key * (n // 4 + 1))[:n]
                payload = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
                    n, "big"
                )
            if rsv and not self.on("ignores-rsv"):
                raise Failed("RSV bits set")
            if opcode in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15):
                if self.on("ignores-reserved-opcode"):
                    continue
                raise Failed("a reserved opcode")
            if opcode >= 8:
                if (n > 125 or not fin) and not self.on("lenient-control-frames"):
                    raise Failed("a long or fragmented control frame")
                if not fin:  # lenient: the continuations complete the control frame
                    kind, message, frames = opcode, [payload], 1
                    continue
                if opcode == 9 and not self.on("no-pong"):
                    self.send_frame(10, payload)
                elif opcode == 8:
                    return self.closed(payload)
                continue
            if opcode == 0 and not kind:
                if not self.on("lenient-fragmentation"):
                    raise Failed("a continuation with no message begun")
                continue
            if opcode in (1, 2) and kind:
                if not self.on("lenient-fragmentation"):
                    raise Failed("a new message inside a fragmented one")
                message, frames = [], 0
                utf8.reset()
            if opcode in (1, 2):
                kind = opcode
            message.append(payload)
            frames += 1
            if kind == 1 and not self.on("accepts-invalid-utf8"):
                try:
                    utf8.decode(payload, final=bool(fin))
                except UnicodeDecodeError:
                    raise Failed("invalid UTF-8", 1007) from None
            if fin and kind >= 8:  # a fragmented control frame, taken whole (lenient)
                if kind == 9 and not self.on("no-pong"):
                    self.send_frame(10, b"".join(message))
                message, kind, frames = [], 0, 0
            elif fin:
                if not (frames > 1 and self.on("no-echo-of-fragmented")):
                    self.send_frame(kind, b"".join(message))
                message, kind, frames = [], 0, 0
                utf8.reset()

    def closed(self, payload: bytes) -> bool:
        if not self.on("accepts-invalid-close"):
            if len(payload) == 1:
                raise Failed("a 1-byte close payload")
            if len(payload) >= 2:
                (code,) = struct.unpack("!H", payload[:2])
                if code not in VALID_CODES and not 3000 <= code <= 4999:
                    raise Failed(f"close code {code}")
                try:
                    payload[2:].decode("utf-8")
                except UnicodeDecodeError:
                    raise Failed("a close reason that is not UTF-8", 1007) from None
        if self.on("no-close-reply"):
            return False
        self.send_frame(8, payload[:2])
        while not self.eof:  # the server closes TCP (RFC 6455 §7.1.1)
            self.recv()
        return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fault", action="append", default=[], choices=sorted(FAULTS))
    parser.add_argument("--list-faults", action="store_true")
    parser.add_argument("url", nargs="?")
    args = parser.parse_args()
    if args.list_faults:
        for name, what in FAULTS.items():
            print(f"{name}: {what}")
        return
    parts = urlsplit(args.url or "")
    sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=30)
    client = Client(sock, set(args.fault))
    try:
        # The query too: an Autobahn-style script hands it /runCase?case=N&agent=A.
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        client.handshake(f"{parts.hostname}:{parts.port}", target)
        clean = client.run()
    except Failed as exc:
        print(f"failed: {exc}", file=sys.stderr)
        if exc.code is not None:  # the connection was established: a close frame says why
            try:
                client.send_frame(8, struct.pack("!H", exc.code))
                while not client.eof:
                    client.recv()
            except OSError:
                pass
        sys.exit(1)
    except (EOFError, OSError) as exc:
        print(f"connection lost: {exc!r}", file=sys.stderr)
        sys.exit(1)
    sys.exit(0 if clean else 1)


if __name__ == "__main__":
    main()
