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
import zlib
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
    "deflate-accepts-bad-response": "takes a permessage-deflate response with unknown, repeated or invalid parameters",
    "deflate-keeps-context": "keeps its compression context across messages when client_no_context_takeover is agreed",
    "deflate-ignores-window-bits": "compresses with a 32 KiB window whatever client_max_window_bits it was given",
    "deflate-rsv1-on-control": "sets RSV1 on its pongs and close frames when permessage-deflate is in use",
    "deflate-assumes-no-takeover": "inflates each message on its own, as if the server took no context over",
    "deflate-accepts-rsv1-anywhere": "takes RSV1 on control frames and continuation frames",
    "deflate-drops-bad-data": "drops a compressed message that does not inflate, and goes on",
}
#: What the client offers when its URL asks for permessage-deflate (``?permessage-deflate``).
DEFLATE_OFFER = "permessage-deflate; client_max_window_bits"
TAIL = b"\x00\x00\xff\xff"
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
VALID_CODES = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011}


class Deflate:
    """permessage-deflate as agreed: our compressor and the server's messages' inflater."""

    def __init__(self, params: dict[str, str | None], faults: set[str]) -> None:
        self.faults = faults
        self.client_reset = "client_no_context_takeover" in params
        self.server_reset = "server_no_context_takeover" in params
        bits = params.get("client_max_window_bits")
        self.client_bits = (
            15 if bits is None or "deflate-ignores-window-bits" in faults else max(9, int(bits))
        )
        self.server_bits = int(params.get("server_max_window_bits") or 15)
        self.compressor = self._compressor()
        self.inflater = zlib.decompressobj(-self.server_bits)

    def _compressor(self) -> zlib._Compress:
        return zlib.compressobj(6, zlib.DEFLATED, -self.client_bits)

    def compress(self, data: bytes) -> bytes:
        out = self.compressor.compress(data) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
        if self.client_reset and "deflate-keeps-context" not in self.faults:
            self.compressor = self._compressor()
        return out[:-4] if out.endswith(TAIL) else out

    def inflate(self, data: bytes) -> bytes:
        if self.server_reset or "deflate-assumes-no-takeover" in self.faults:
            self.inflater = zlib.decompressobj(-self.server_bits)
        return self.inflater.decompress(data + TAIL)


def check_deflate_response(value: str) -> dict[str, str | None]:
    """The parameters of a permessage-deflate response (RFC 7692 §7), or Failed."""
    elements = [e.strip() for e in value.split(",") if e.strip()]
    if len(elements) != 1:
        raise Failed(f"{len(elements)} extensions in the answer", None)
    name, *items = [item.strip() for item in elements[0].split(";")]
    if name.lower() != "permessage-deflate":
        raise Failed(f"an extension not offered: {name}", None)
    params: dict[str, str | None] = {}
    for item in items:
        key, eq, val = item.partition("=")
        key, value_ = key.strip().lower(), (val.strip().strip('"') if eq else None)
        if key in params:
            raise Failed(f"{key} twice in the deflate response", None)
        if key in ("server_no_context_takeover", "client_no_context_takeover"):
            if value_ is not None:
                raise Failed(f"{key} with a value", None)
        elif key in ("server_max_window_bits", "client_max_window_bits"):
            if value_ is None or not value_.isdigit() or not 8 <= int(value_) <= 15:
                raise Failed(f"{key}={value_}", None)
        else:
            raise Failed(f"unknown deflate parameter {key}", None)
        params[key] = value_
    return params


def lenient_deflate_response(value: str) -> dict[str, str | None]:
    """The fault: whatever parses, taken (what is not a window size is left out)."""
    params: dict[str, str | None] = {}
    for item in value.split(",")[0].split(";")[1:]:
        key, eq, val = item.partition("=")
        val = val.strip()
        if key.strip().endswith("max_window_bits") and not (val.isdigit() and 8 <= int(val) <= 15):
            continue
        params[key.strip().lower()] = val if eq else None
    return params


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
        self.deflate: Deflate | None = None

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
        rsv1 = 0
        if self.deflate is not None and opcode in (1, 2):
            payload, rsv1 = self.deflate.compress(payload), 0x40
        elif self.deflate is not None and opcode >= 8 and self.on("deflate-rsv1-on-control"):
            rsv1 = 0x40
        head = bytes([0x80 | rsv1 | opcode])
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

    def handshake(self, host: str, target: str, deflate: bool = False) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        offer = f"Sec-WebSocket-Extensions: {DEFLATE_OFFER}\r\n" if deflate else ""
        request = (
            f"GET {target} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n"
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
        value = fields.get("sec-websocket-extensions")
        if value is not None and deflate:
            if self.on("deflate-accepts-bad-response"):
                params = lenient_deflate_response(value)
            else:
                params = check_deflate_response(value)
                if "client_max_window_bits" in params and params["client_max_window_bits"] is None:
                    raise Failed("client_max_window_bits without a value", None)
            self.deflate = Deflate(params, self.faults)
        elif value is not None and not self.on("accepts-unoffered-extension"):
            raise Failed("an extension not offered", None)
        if "sec-websocket-protocol" in fields and not self.on("accepts-unoffered-subprotocol"):
            raise Failed("a subprotocol not offered", None)

    # -- frames

    def run(self) -> bool:
        """Echo until the server closes; True after a clean closing handshake."""
        message: list[bytes] = []
        kind = 0
        frames = 0
        compressed = False
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
            if key and not self.on("accepts-masked-frames"):
                raise Failed("a masked frame from the server")
            # RSV1 is permessage-deflate's "Per-Message Compressed" bit, on the first frame of
            # a data message only (RFC 7692 §6.1).
            first_data = opcode in (1, 2)
            rsv1_allowed = self.deflate is not None and (
                first_data or self.on("deflate-accepts-rsv1-anywhere")
            )
            if rsv & ~(0x40 if rsv1_allowed else 0) and not self.on("ignores-rsv"):
                raise Failed("RSV bits set")
            if opcode in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15):
                self.take(n)
                if self.on("ignores-reserved-opcode"):
                    continue
                raise Failed("a reserved opcode")
            if opcode in (1, 2) and kind:
                utf8.reset()  # a new message inside one: raised below unless lenient
            # Uncompressed text is checked as it arrives, even inside a frame (RFC 6455 §8.1).
            text = opcode == 1 or (opcode == 0 and kind == 1)
            streaming = text and not (compressed if opcode == 0 else bool(rsv & 0x40))
            check = utf8 if streaming and not self.on("accepts-invalid-utf8") else None
            payload = self.take_payload(n, key, check)
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
            if opcode in (1, 2):
                kind = opcode
                compressed = bool(rsv & 0x40) and self.deflate is not None
            message.append(payload)
            frames += 1
            if fin and check is not None:
                try:
                    utf8.decode(b"", final=True)
                except UnicodeDecodeError:
                    raise Failed("invalid UTF-8", 1007) from None
            if fin and kind >= 8:  # a fragmented control frame, taken whole (lenient)
                if kind == 9 and not self.on("no-pong"):
                    self.send_frame(10, b"".join(message))
                message, kind, frames = [], 0, 0
            elif fin:
                whole = b"".join(message)
                if compressed and self.deflate is not None:
                    try:
                        whole = self.deflate.inflate(whole)
                    except zlib.error:
                        if not self.on("deflate-drops-bad-data"):
                            raise Failed("a compressed message that does not inflate", 1007) from None
                        message, kind, frames, compressed = [], 0, 0, False
                        continue
                    if kind == 1 and not self.on("accepts-invalid-utf8"):
                        try:
                            whole.decode("utf-8")
                        except UnicodeDecodeError:
                            raise Failed("invalid UTF-8", 1007) from None
                if not (frames > 1 and self.on("no-echo-of-fragmented")):
                    self.send_frame(kind, whole)
                message, kind, frames, compressed = [], 0, 0, False
                utf8.reset()

    def take_payload(self, count: int, key: bytes, utf8: codecs.IncrementalDecoder | None) -> bytes:
        """A frame's payload, unmasked; with ``utf8``, each piece is checked as it comes (a
        frame that goes wrong halfway fails before its rest arrives)."""
        out = bytearray()
        while len(out) < count:
            if not self.buf:
                if self.eof:
                    raise EOFError
                self.recv()
                continue
            piece = bytes(self.buf[: count - len(out)])
            del self.buf[: len(piece)]
            if key:
                offset = len(out) % 4
                repeated = (key * (len(piece) // 4 + 2))[offset : offset + len(piece)]
                piece = (int.from_bytes(piece, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
                    len(piece), "big"
                )
            if utf8 is not None:
                try:
                    utf8.decode(piece)
                except UnicodeDecodeError:
                    raise Failed("invalid UTF-8", 1007) from None
            out += piece
        return bytes(out)

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
        deflate = "permessage-deflate" in [item.partition("=")[0] for item in parts.query.split("&")]
        client.handshake(f"{parts.hostname}:{parts.port}", target, deflate)
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
