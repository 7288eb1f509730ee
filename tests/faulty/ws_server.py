"""A configurable WebSocket echo server whose every check can be switched off.

With no faults it is a strict RFC 6455 / RFC 7692 echo server: it refuses a wrong opening
handshake with the right HTTP error, fails the connection (with the right close code) on
every frame a client must not send — unmasked, reserved bits or opcodes, oversized or
fragmented control frames, broken fragmentation, invalid UTF-8 (failing fast, even in the
middle of a frame), invalid close codes and reasons — answers pings, echoes every message
whole, answers a close and then closes TCP, and speaks permessage-deflate with its
parameters. Each fault in :data:`FAULTS` switches exactly one behaviour wrong, so that a
test can show that the cases about that behaviour FAIL — and only they.

Written by hand (not on wsproto, nor on the harness's own codec), so that each rule is one
switchable line and a bug in the harness's codec cannot hide in the target too.

Run it in the foreground::

    python tests/faulty/ws_server.py --port 18082 [--fault NAME ...]
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import sys
import zlib
from collections.abc import Iterable
from typing import Any

import fault_matrix
from twisted.internet import protocol
from twisted.internet.interfaces import IListeningPort

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MESSAGE_CAP = 64 * 1024 * 1024
SUBPROTOCOLS = ("chat", "superchat")
VALID_CODES = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011}

#: fault name -> what it breaks. Every fault switches off (or gets wrong) one rule.
FAULTS: dict[str, str] = {
    # the opening handshake (RFC 6455 §4.2)
    "accept-wrong": "computes Sec-WebSocket-Accept without the GUID",
    "no-upgrade-in-101": "leaves Upgrade: websocket out of the 101",
    "accept-any-version": "accepts any Sec-WebSocket-Version",
    "no-version-in-426": "answers an unknown version with 426 but no Sec-WebSocket-Version",
    "no-key-check": "accepts a missing or malformed Sec-WebSocket-Key",
    "no-method-check": "accepts any method",
    "no-http-version-check": "accepts an HTTP/1.0 handshake",
    "no-host-check": "accepts a handshake without Host",
    "no-upgrade-check": "upgrades without Upgrade: websocket or Connection: Upgrade",
    "case-sensitive-tokens": "compares Upgrade and Connection case-sensitively, as whole values",
    "subprotocol-unoffered": "answers Sec-WebSocket-Protocol: chat whatever was offered",
    "extension-unrequested": "answers an offer of an unknown extension with another it was not offered",
    "deflate-invalid-offer-accepted": "accepts permessage-deflate offers with invalid parameters",
    # framing (RFC 6455 §5)
    "no-mask-check": "accepts unmasked client frames",
    "no-rsv-check": "ignores reserved bits",
    "no-opcode-check": "ignores frames with reserved opcodes",
    "no-length-msb-check": "reads a 64-bit length without its most significant bit",
    "non-minimal-ignored": "drops frames whose length is not in its minimal form, silently",
    "no-control-length-check": "accepts control frames over 125 bytes",
    "no-control-fin-check": "accepts fragmented control frames",
    "no-continuation-check": "takes a continuation frame with no message begun as a new message",
    "no-interleave-check": "takes a data frame inside a fragmented message as its continuation",
    "no-reassembly": "echoes every data frame as a message of its own",
    "truncate-large": "echoes only the first MiB of larger messages",
    "masked-replies": "masks the frames it sends",
    "non-minimal-replies": "writes every length in the 64-bit form",
    # UTF-8 (RFC 6455 §8.1)
    "no-utf8-check": "echoes text messages that are not valid UTF-8",
    "no-close-reason-utf8-check": "accepts close reasons that are not valid UTF-8, echoing them",
    # ping and pong (RFC 6455 §5.5.2, §5.5.3)
    "no-pong": "ignores pings",
    "pong-empty": "answers pings with an empty pong",
    "pong-to-pong": "answers a pong with a pong",
    # the close (RFC 6455 §5.5.1, §7)
    "no-close-reply": "closes TCP at a close frame without answering it",
    "no-close-code-check": "accepts any close code and echoes it",
    "no-close-length-check": "accepts a close frame with a 1-byte payload",
    "no-tcp-close": "leaves the TCP connection open after the closing handshake",
    "data-after-close": "goes on reading and answering frames after a close frame",
    # permessage-deflate (RFC 7692)
    "deflate-rsv1-uncompressed": "sets RSV1 on messages it sends uncompressed",
    "deflate-context-kept": "keeps its compression context despite server_no_context_takeover",
    "deflate-rsv1-on-control": "sets RSV1 on the control frames it sends when deflate is in use",
    "deflate-client-context-dropped": "inflates each message afresh, as if client_no_context_takeover "
    "had been agreed",
    "deflate-no-tail": "inflates a message without appending 00 00 ff ff to it first",
    "deflate-window-above-offer": "answers server_max_window_bits=15 to a smaller one offered",
    "deflate-window-ignored": "agrees server_max_window_bits as offered but compresses with 15",
    "deflate-params-unanswered": "accepts server_no_context_takeover and server_max_window_bits "
    "without naming them in its answer",
}


def _tokens(values: list[str]) -> list[str]:
    return [t.strip().lower() for v in values for t in v.split(",") if t.strip()]


def accept_for(key: str, faults: frozenset[str]) -> str:
    salt = b"" if "accept-wrong" in faults else GUID
    return base64.b64encode(hashlib.sha1(key.encode("latin-1") + salt).digest()).decode("ascii")


def mask(data: bytes, key: bytes) -> bytes:
    if not data:
        return b""
    n = len(data)
    keys = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(keys, "big")).to_bytes(n, "big")


class Fail(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class Deflate:
    """The negotiated permessage-deflate state of a connection."""

    def __init__(self, params: dict[str, str | None], faults: frozenset[str]) -> None:
        self.faults = faults
        self.server_reset = "server_no_context_takeover" in params and "deflate-context-kept" not in faults
        self.client_reset = (
            "client_no_context_takeover" in params or "deflate-client-context-dropped" in faults
        )
        bits = params.get("server_max_window_bits")
        self.window = int(bits) if bits else 15
        # zlib makes no raw stream with an 8-bit window; with 9 its references reach back at
        # most 250 bytes (512 less its lookahead), within a peer's 256.
        self.window = 15 if "deflate-window-ignored" in faults else max(9, self.window)
        self.compressor = zlib.compressobj(6, zlib.DEFLATED, -self.window)
        self.decompressor = zlib.decompressobj(-15)

    def compress(self, data: bytes) -> bytes:
        out = self.compressor.compress(data) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
        if self.server_reset:
            self.compressor = zlib.compressobj(6, zlib.DEFLATED, -self.window)
        return out[:-4] if out.endswith(b"\x00\x00\xff\xff") else out

    def decompress(self, data: bytes) -> bytes:
        try:
            tail = b"" if "deflate-no-tail" in self.faults else b"\x00\x00\xff\xff"
            out = self.decompressor.decompress(data + tail, MESSAGE_CAP + 1)
        except zlib.error:
            raise Fail(1007) from None
        if self.client_reset:
            self.decompressor = zlib.decompressobj(-15)
        return out


def negotiate_deflate(value: str, faults: frozenset[str]) -> tuple[str, dict[str, str | None]] | None:
    """The first acceptable permessage-deflate offer (RFC 7692 §7.1): the response and the
    parameters, or None."""
    for element in value.split(","):
        name, *raw = [part.strip() for part in element.split(";")]
        if name.lower() != "permessage-deflate":
            continue
        params: dict[str, str | None] = {}
        ok = True
        for item in raw:
            key, _, val = item.partition("=")
            key = key.strip().lower()
            val_text: str | None = val.strip().strip('"') if _ else None
            if key in params:
                ok = False
            params[key] = val_text
            if key in ("server_no_context_takeover", "client_no_context_takeover"):
                ok = ok and val_text is None
            elif key == "server_max_window_bits":
                ok = ok and val_text is not None and val_text.isdigit() and 8 <= int(val_text) <= 15
            elif key == "client_max_window_bits":
                ok = ok and (val_text is None or (val_text.isdigit() and 8 <= int(val_text) <= 15))
            else:
                ok = False
        if not ok and "deflate-invalid-offer-accepted" not in faults:
            continue
        answer = ["permessage-deflate"]
        accepted: dict[str, str | None] = {}
        for key in ("server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits"):
            if key in params:
                accepted[key] = params[key]
                if key == "server_max_window_bits" and "deflate-window-above-offer" in faults:
                    accepted[key] = "15"
                if key != "client_no_context_takeover" and "deflate-params-unanswered" in faults:
                    continue
                value = accepted[key]
                answer.append(key if value is None else f"{key}={value}")
        return "; ".join(answer), accepted
    return None


class FaultyWebSocket(protocol.Protocol):
    def __init__(self, faults: frozenset[str]) -> None:
        self.faults = faults
        self.buf = bytearray()
        self.open = False
        self.closed = False  # we sent a close frame
        self.deflate: Deflate | None = None
        self.message: int | None = None  # opcode of the fragmented message in progress
        self.parts: list[bytes] = []
        self.size = 0
        self.compressed = False
        self.utf8: Any = None
        self.probe: Any = None  # UTF-8 state of a text frame not yet whole (fail fast)
        self.probe_upto = 0  # payload bytes of that frame already checked
        self.draining = False  # our side is closed; what still comes is read and dropped

    # -- the opening handshake

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        if self.draining:
            return
        self.buf += data
        if not self.open:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end]).decode("latin-1")
            del self.buf[: end + 4]
            self.handshake(head)
            if not self.open:
                return
        try:
            while self.open and self.frame():
                pass
            if self.open:
                self.fail_fast()
        except Fail as failure:
            self.fail(failure.code)

    def refuse(self, status: str, headers: tuple[str, ...] = ()) -> None:
        lines = [f"HTTP/1.1 {status}", *headers, "Content-Length: 0", "Connection: close", "", ""]
        self.transport.write("\r\n".join(lines).encode("latin-1"))
        self.drop()

    def handshake(self, head: str) -> None:
        faults = self.faults
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return self.refuse("400 Bad Request")
        method, _target, version = parts
        headers: dict[str, list[str]] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        if method != "GET" and "no-method-check" not in faults:
            return self.refuse("405 Method Not Allowed", ("Allow: GET",))
        if version != "HTTP/1.1" and "no-http-version-check" not in faults:
            return self.refuse("400 Bad Request")
        if len(headers.get("host", [])) != 1 and "no-host-check" not in faults:
            return self.refuse("400 Bad Request")
        if "case-sensitive-tokens" in faults:
            upgrade_ok = headers.get("upgrade") == ["websocket"]
            connection_ok = headers.get("connection") == ["Upgrade"]
        else:
            upgrade_ok = "websocket" in _tokens(headers.get("upgrade", []))
            connection_ok = "upgrade" in _tokens(headers.get("connection", []))
        if not (upgrade_ok and connection_ok) and "no-upgrade-check" not in faults:
            return self.refuse("426 Upgrade Required", ("Upgrade: websocket", "Connection: Upgrade"))
        keys = headers.get("sec-websocket-key", [])
        if "no-key-check" in faults:
            keys = keys[-1:]
        try:
            key_ok = len(keys) == 1 and len(base64.b64decode(keys[0], validate=True)) == 16
        except (binascii.Error, ValueError):
            key_ok = False
        if not key_ok and "no-key-check" not in faults:
            return self.refuse("400 Bad Request")
        if headers.get("sec-websocket-version") != ["13"] and "accept-any-version" not in faults:
            extra = () if "no-version-in-426" in faults else ("Sec-WebSocket-Version: 13",)
            return self.refuse("426 Upgrade Required", extra)
        answer = [
            "HTTP/1.1 101 Switching Protocols",
            "Connection: Upgrade",
            f"Sec-WebSocket-Accept: {accept_for(keys[0] if keys else '', faults)}",
        ]
        if "no-upgrade-in-101" not in faults:
            answer.insert(1, "Upgrade: websocket")
        offered = _tokens(headers.get("sec-websocket-protocol", []))
        chosen = next((p for p in offered if p in SUBPROTOCOLS), None)
        if "subprotocol-unoffered" in faults:
            chosen = "chat"
        if chosen:
            answer.append(f"Sec-WebSocket-Protocol: {chosen}")
        extensions = ", ".join(headers.get("sec-websocket-extensions", []))
        negotiated = negotiate_deflate(extensions, faults)
        accepted = []
        if negotiated is not None:
            accepted.append(negotiated[0])
            self.deflate = Deflate(negotiated[1], faults)
        if "extension-unrequested" in faults and any(
            "deflate" not in e and e.strip() for e in extensions.split(",")
        ):
            # Accepting the unknown offer itself would be the server's choice (RFC 6455 §9: it
            # MAY accept what it implements); naming one never offered is not (§9: "A server
            # MUST NOT respond with any extension not requested by the client").
            accepted.append("x-unrequested")
        if accepted:
            answer.append(f"Sec-WebSocket-Extensions: {', '.join(accepted)}")
        self.transport.write(("\r\n".join(answer) + "\r\n\r\n").encode("latin-1"))
        self.open = True

    # -- frames

    def frame(self) -> bool:
        """Read one whole frame from the buffer; False when there is none yet."""
        faults = self.faults
        buf = self.buf
        if len(buf) < 2:
            return False
        first, second = buf[0], buf[1]
        fin, rsv, opcode = bool(first & 0x80), (first >> 4) & 0x7, first & 0x0F
        masked, length, at = bool(second & 0x80), second & 0x7F, 2
        minimal = True
        if length == 126:
            if len(buf) < 4:
                return False
            length, at = int.from_bytes(buf[2:4], "big"), 4
            minimal = length > 125
        elif length == 127:
            if len(buf) < 10:
                return False
            length, at = int.from_bytes(buf[2:10], "big"), 10
            minimal = length > 0xFFFF
            if length >> 63:
                if "no-length-msb-check" not in faults:
                    raise Fail(1002)
                length &= (1 << 63) - 1
                length = min(length, 3)
        if length > MESSAGE_CAP:
            raise Fail(1009)
        key = b""
        if masked:
            if len(buf) < at + 4:
                return False
            key, at = bytes(buf[at : at + 4]), at + 4
        if len(buf) < at + length:
            return False
        payload = bytes(buf[at : at + length])
        del buf[: at + length]
        self.probe, self.probe_upto = None, 0
        if masked:
            payload = mask(payload, key)
        if not masked and "no-mask-check" not in faults:
            raise Fail(1002)
        if not minimal and "non-minimal-ignored" in faults:
            return True
        self.on_frame(fin, rsv, opcode, payload)
        return True

    def on_frame(self, fin: bool, rsv: int, opcode: int, payload: bytes) -> None:
        faults = self.faults
        if self.closed and "data-after-close" not in faults:
            return
        data_frame = opcode in (0, 1, 2)
        if opcode not in (0, 1, 2, 8, 9, 10):
            if "no-opcode-check" in faults:
                return
            raise Fail(1002)
        rsv1_ok = self.deflate is not None and opcode in (1, 2) and self.message is None
        if (rsv & 0b011 or (rsv & 0b100 and not rsv1_ok)) and "no-rsv-check" not in faults:
            raise Fail(1002)
        if not data_frame:
            if len(payload) > 125 and "no-control-length-check" not in faults:
                raise Fail(1002)
            if not fin and "no-control-fin-check" not in faults:
                raise Fail(1002)
            return self.control(opcode, payload)
        if opcode == 0 and self.message is None:
            if "no-continuation-check" not in faults:
                raise Fail(1002)
            opcode = 1
        if opcode != 0 and self.message is not None:
            if "no-interleave-check" not in faults:
                raise Fail(1002)
            opcode = 0
        if "no-reassembly" in faults:
            kind = opcode or self.message or 1
            self.message = None if fin else kind
            return self.send(kind, payload)
        if opcode != 0:
            self.message = opcode
            self.parts, self.size = [], 0
            self.compressed = bool(rsv & 0b100) and self.deflate is not None
            self.utf8 = codecs.getincrementaldecoder("utf-8")() if opcode == 1 else None
        self.size += len(payload)
        if self.size > MESSAGE_CAP:
            raise Fail(1009)
        self.parts.append(payload)
        if self.utf8 is not None and not self.compressed:
            self.check_utf8(self.utf8, payload)
        if not fin:
            return
        kind, data = self.message or 1, b"".join(self.parts)
        self.message, self.parts = None, []
        if self.compressed:
            assert self.deflate is not None
            data = self.deflate.decompress(data)
            if kind == 1:
                self.check_utf8(codecs.getincrementaldecoder("utf-8")(), data)
        if kind == 1 and "no-utf8-check" not in faults:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                raise Fail(1007) from None
        if "truncate-large" in faults:
            data = data[: 1 << 20]
        self.send(kind, data)

    def check_utf8(self, decoder: Any, data: bytes) -> None:
        if "no-utf8-check" in self.faults:
            return
        try:
            decoder.decode(data, False)
        except UnicodeDecodeError:
            raise Fail(1007) from None
        held = decoder.getstate()[0]
        if len(held) >= 2 and held[0] == 0xED and held[1] > 0x9F:  # a surrogate
            raise Fail(1007)

    def fail_fast(self) -> None:
        """Check the UTF-8 of a text frame whose payload has only partly arrived."""
        buf = self.buf
        if self.utf8 is None and not (len(buf) >= 2 and buf[0] & 0x0F == 1):
            return
        if self.compressed or len(buf) < 2 or not buf[1] & 0x80:
            return
        opcode = buf[0] & 0x0F
        if opcode not in (0, 1) or (opcode == 0 and self.utf8 is None) or buf[0] & 0x40:
            return
        short = buf[1] & 0x7F
        at = 2 + {126: 2, 127: 8}.get(short, 0)
        if len(buf) < at + 4:
            return
        key = bytes(buf[at : at + 4])
        new = bytes(buf[at + 4 + self.probe_upto :])
        if not new:
            return
        if self.probe is None:
            self.probe = codecs.getincrementaldecoder("utf-8")()
            if opcode == 0 and self.utf8 is not None:
                self.probe.setstate(self.utf8.getstate())
        turn = self.probe_upto % 4
        self.probe_upto += len(new)
        self.check_utf8(self.probe, mask(new, key[turn:] + key[:turn]))

    def control(self, opcode: int, payload: bytes) -> None:
        faults = self.faults
        if opcode == 9:
            if "no-pong" not in faults:
                self.send(10, b"" if "pong-empty" in faults else payload)
            return
        if opcode == 10:
            if "pong-to-pong" in faults:
                self.send(10, payload)
            return
        # a close frame (RFC 6455 §5.5.1)
        if len(payload) == 1 and "no-close-length-check" not in faults:
            raise Fail(1002)
        code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
        valid = code is None or code in VALID_CODES or 3000 <= code <= 4999
        if not valid and "no-close-code-check" not in faults:
            raise Fail(1002)
        if "no-close-reason-utf8-check" not in faults:
            try:
                payload[2:].decode("utf-8")
            except UnicodeDecodeError:
                raise Fail(1007) from None
        if "no-close-reply" in faults:
            self.drop()
            return
        if self.closed:
            return
        reply = payload[:2] if code is not None else b""
        if "no-close-reason-utf8-check" in faults:
            # An ordinary answer to an invalid reason only says the reason was not read (the
            # case's "not exercised"); echoing it sends invalid UTF-8, a close no endpoint may
            # send (RFC 6455 §5.5.1: the reason is UTF-8-encoded data).
            reply = payload
        self.send(8, reply)
        self.closed = True
        if "no-tcp-close" not in faults and "data-after-close" not in faults:
            self.drop()

    def send(self, opcode: int, payload: bytes) -> None:
        rsv1 = 0
        if opcode >= 8 and self.deflate is not None and "deflate-rsv1-on-control" in self.faults:
            rsv1 = 0x40
        if opcode in (1, 2) and self.deflate is not None:
            if "deflate-rsv1-uncompressed" in self.faults:
                rsv1 = 0x40
            else:
                payload, rsv1 = self.deflate.compress(payload), 0x40
        head = bytes([0x80 | rsv1 | opcode])
        masked = 0x80 if "masked-replies" in self.faults else 0
        n = len(payload)
        if "non-minimal-replies" in self.faults or n > 0xFFFF:
            head += bytes([masked | 127]) + n.to_bytes(8, "big")
        elif n > 125:
            head += bytes([masked | 126]) + n.to_bytes(2, "big")
        else:
            head += bytes([masked | n])
        if masked:
            head += b"\x01\x02\x03\x04"
            payload = mask(payload, b"\x01\x02\x03\x04")
        self.transport.write(head + payload)

    def fail(self, code: int) -> None:
        """_Fail the WebSocket Connection_ (RFC 6455 §7.1.7): a close frame, then TCP closed."""
        if not self.closed:
            self.send(8, code.to_bytes(2, "big"))
            self.closed = True
        self.open = False
        self.drop()

    def drop(self) -> None:
        """Close TCP (RFC 6455 §7.1.1: the server first), reading on for a while: closing a
        socket with unread data in it resets the connection, and a reset can destroy the
        close frame before the client reads it."""
        from twisted.internet import reactor

        self.draining = True
        self.transport.loseWriteConnection()
        reactor.callLater(2.0, self.transport.loseConnection)  # type: ignore[attr-defined]


def listen(
    reactor: Any, faults: Iterable[str] = (), *, host: str = "127.0.0.1", port: int = 0
) -> IListeningPort:
    """Start the server on ``host:port`` (0: a free port) with the given faults switched on."""
    chosen = fault_matrix.check_faults(faults, FAULTS)
    listening: IListeningPort = fault_matrix.listen_tcp(
        reactor, lambda: FaultyWebSocket(chosen), host=host, port=port
    )
    return listening


def main(argv: list[str] | None = None) -> int:
    return fault_matrix.serve(
        argv,
        description=__doc__,
        faults=FAULTS,
        listen=listen,
        label="faulty WebSocket server",
        url="ws://{host}:{port}/",
        default_port=18082,
    )


if __name__ == "__main__":
    sys.exit(main())
