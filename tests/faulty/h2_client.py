"""A deliberately faulty HTTP/2 client, to show that every HTTP/2 client case can FAIL.

    python tests/faulty/h2_client.py [--fault NAME]... URL

It follows the client contract (README, "Client mode"): one GET for URL over cleartext HTTP/2
with prior knowledge, the response body on standard output, exit 0 when it accepted the
response and 1 when it rejected it. It is written apart from the reference client (frames by
hand, HPACK by the hpack library): with no fault it keeps RFC 9113 as the cases read it; each
fault switches one rule wrong. ``--list-faults`` lists them.

After the response ends, or after it resets the stream, it keeps reading for a moment before it
exits, answering what still comes (STREAM_CLOSED for frames on the closed stream, PING ACKs),
as a client with more to do on the connection would.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import sys
import time
from urllib.parse import urlsplit

import hpack

FAULTS = {
    "bad-preface": "sends a wrong connection preface",
    "no-settings-ack": "never acknowledges the server's SETTINGS",
    "no-ping-ack": "never answers a PING",
    "answers-ping-ack": "answers a PING that has the ACK flag too",
    "accepts-uppercase-field": "accepts uppercase field names",
    "accepts-connection-specific": "accepts connection-specific fields (connection, transfer-encoding, ...)",
    "lenient-pseudo-headers": "accepts a response without :status, with request pseudo-headers, "
    "repeated ones, or pseudo-headers after regular fields",
    "accepts-bad-field-chars": "accepts NUL, CR or LF in values, and spaces, colons or DEL in names",
    "accepts-field-whitespace": "accepts field values with leading or trailing whitespace",
    "ignores-content-length-mismatch": "accepts DATA that does not add up to content-length",
    "accepts-push-when-disabled": "ignores a PUSH_PROMISE after it disabled push",
    "no-window-update": "never sends WINDOW_UPDATE",
    "ignores-window-overflow": "lets WINDOW_UPDATE take a window past 2^31-1",
    "ignores-frame-size": "accepts frames over its SETTINGS_MAX_FRAME_SIZE",
    "lenient-continuation": "accepts other frames inside a field block, and stray CONTINUATION frames",
    "ignores-idle-streams": "ignores frames on streams that were never opened",
    "ignores-bad-padding": "reads a Pad Length longer than the frame as no padding",
    "ignores-stream-zero": "ignores DATA, HEADERS, PRIORITY, RST_STREAM and CONTINUATION on stream 0",
    "lenient-settings": "ignores invalid SETTINGS values and SETTINGS on a stream",
    "ignores-bad-lengths": "ignores frames of a wrong length (PING, SETTINGS, RST_STREAM, WINDOW_UPDATE, PRIORITY)",
    "no-goaway": "closes the connection on a connection error without GOAWAY",
    "wrong-error-codes": "sends CANCEL as the code of every error",
    "rejects-unknown-frame": "treats a frame of an unknown type as an error",
    "takes-1xx-as-final": "takes a 1xx response for the final response",
    "accepts-bad-trailers": "accepts trailers with pseudo-headers, and a final response twice",
    "accepts-after-reset": "takes what arrived before an RST_STREAM or a GOAWAY as the whole response",
    "no-table-size-limit": "accepts a dynamic table size update above its SETTINGS_HEADER_TABLE_SIZE",
}
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = (
    range(10)
)
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20
NO_ERROR, PROTOCOL_ERROR, FLOW_CONTROL_ERROR = 0x0, 0x1, 0x3
STREAM_CLOSED, FRAME_SIZE_ERROR, CANCEL, COMPRESSION_ERROR = 0x5, 0x6, 0x8, 0x9
MAX_FRAME = 16384
MAX_WINDOW = (1 << 31) - 1
LINGER = 0.4  # seconds of reading on after the outcome is known
CONNECTION_SPECIFIC = {b"connection", b"proxy-connection", b"keep-alive", b"transfer-encoding", b"upgrade"}


class ConnectionError_(Exception):
    def __init__(self, code: int, why: str) -> None:
        super().__init__(why)
        self.code = code


class StreamError(Exception):
    def __init__(self, code: int, why: str) -> None:
        super().__init__(why)
        self.code = code


class Rejected(Exception):
    pass


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


class Client:
    def __init__(self, sock: socket.socket, faults: set[str]) -> None:
        self.sock = sock
        self.faults = faults
        self.buffer = bytearray()
        self.decoder = hpack.Decoder()
        if "no-table-size-limit" in faults:
            self.decoder.max_allowed_table_size = 1 << 40
        self.block: tuple[int, int, bytearray, bool] | None = None  # stream, flags, fragments, push
        self.stream_state = "open"  # open (half-closed local) | done | reset
        self.final: list[tuple[bytes, bytes]] | None = None
        self.body = bytearray()
        self.outcome: str | None = None  # accepted | rejected
        self.why = ""
        self.send_window = 65535
        self.stream_window = 65535
        self.initial_window = 65535

    def error_code(self, code: int) -> int:
        return CANCEL if "wrong-error-codes" in self.faults else code

    def send(self, data: bytes) -> None:
        with contextlib.suppress(OSError):  # a server gone already: the outcome is read on
            self.sock.sendall(data)

    # -- the frames

    def frames(self) -> list[tuple[int, int, int, bool, bytes]]:
        out = []
        while len(self.buffer) >= 9:
            length = int.from_bytes(self.buffer[:3], "big")
            if len(self.buffer) < 9 + length:
                break
            head = bytes(self.buffer[:9])
            payload = bytes(self.buffer[9 : 9 + length])
            del self.buffer[: 9 + length]
            word = int.from_bytes(head[5:9], "big")
            out.append((head[3], head[4], word & MAX_WINDOW, bool(word >> 31), payload))
        return out

    def on_frame(self, kind: int, flags: int, stream: int, payload: bytes) -> None:
        f = self.faults
        if len(payload) > MAX_FRAME and "ignores-frame-size" not in f:
            if kind == DATA and stream:
                raise StreamError(FRAME_SIZE_ERROR, "a DATA frame over SETTINGS_MAX_FRAME_SIZE")
            raise ConnectionError_(FRAME_SIZE_ERROR, "a frame over SETTINGS_MAX_FRAME_SIZE")
        if self.block is not None and kind != CONTINUATION and "lenient-continuation" not in f:
            raise ConnectionError_(PROTOCOL_ERROR, "a frame inside a field block")
        zero_not_allowed = (DATA, HEADERS, PRIORITY, RST_STREAM, CONTINUATION, PUSH_PROMISE)
        if stream == 0 and kind in zero_not_allowed:
            if "ignores-stream-zero" in f:
                return
            raise ConnectionError_(PROTOCOL_ERROR, f"frame type {kind} on stream 0")
        if stream and stream != 1 and kind in (DATA, HEADERS, RST_STREAM, WINDOW_UPDATE, CONTINUATION):
            if "ignores-idle-streams" in f:
                return
            raise ConnectionError_(PROTOCOL_ERROR, f"frame type {kind} on idle stream {stream}")
        handler = {
            DATA: self.on_data,
            HEADERS: self.on_headers,
            PRIORITY: self.on_priority,
            RST_STREAM: self.on_rst_stream,
            SETTINGS: self.on_settings,
            PUSH_PROMISE: self.on_push_promise,
            PING: self.on_ping,
            GOAWAY: self.on_goaway,
            WINDOW_UPDATE: self.on_window_update,
            CONTINUATION: self.on_continuation,
        }.get(kind)
        if handler is None:
            if "rejects-unknown-frame" in f:
                raise ConnectionError_(PROTOCOL_ERROR, f"unknown frame type {kind}")
            return
        handler(flags, stream, payload)

    def unpad(self, flags: int, payload: bytes) -> bytes:
        if not flags & PADDED:
            return payload
        if not payload:
            raise ConnectionError_(FRAME_SIZE_ERROR, "a PADDED frame without a Pad Length")
        pad = payload[0]
        if pad >= len(payload):
            if "ignores-bad-padding" in self.faults:
                return payload[1:]
            raise ConnectionError_(PROTOCOL_ERROR, "a Pad Length as long as the payload")
        return payload[1 : len(payload) - pad]

    def closed_stream(self, what: str) -> bool:
        """True when the frame is to be passed over; raises the stream error otherwise."""
        if self.stream_state == "open":
            return False
        raise StreamError(STREAM_CLOSED, f"{what} on a closed stream")

    def on_data(self, flags: int, stream: int, payload: bytes) -> None:
        if self.closed_stream("DATA"):
            return
        data = self.unpad(flags, payload)
        if "no-window-update" not in self.faults and payload:
            increment = len(payload).to_bytes(4, "big")
            self.send(frame(WINDOW_UPDATE, 0, 0, increment) + frame(WINDOW_UPDATE, 0, 1, increment))
        if self.final is None:
            raise StreamError(PROTOCOL_ERROR, "DATA before the response's HEADERS")
        self.body += data
        if flags & END_STREAM:
            self.end()

    def on_headers(self, flags: int, stream: int, payload: bytes) -> None:
        if self.closed_stream("HEADERS"):
            return
        block = self.unpad(flags, payload)
        if flags & PRIORITY_FLAG:
            block = block[5:]
        self.block = (stream, flags, bytearray(block), False)
        if flags & END_HEADERS:
            self.end_block()

    def on_continuation(self, flags: int, stream: int, payload: bytes) -> None:
        if self.block is None or self.block[0] != stream:
            if "lenient-continuation" in self.faults:
                return
            raise ConnectionError_(PROTOCOL_ERROR, "CONTINUATION without an open field block")
        self.block[2].extend(payload)
        if flags & END_HEADERS:
            self.end_block()

    def end_block(self) -> None:
        assert self.block is not None
        stream, flags, fragments, push = self.block
        self.block = None
        try:
            fields = [(bytes(n), bytes(v)) for n, v in self.decoder.decode(bytes(fragments), raw=True)]
        except Exception as exc:  # any HPACK failure
            raise ConnectionError_(COMPRESSION_ERROR, f"the field block does not decode: {exc}") from None
        if push:
            return
        trailers = self.final is not None
        self.check_fields(fields, trailers)
        if trailers:
            if not flags & END_STREAM and "accepts-bad-trailers" not in self.faults:
                raise StreamError(PROTOCOL_ERROR, "a HEADERS without END_STREAM after the final response")
        else:
            status = dict(fields).get(b":status", b"")
            if status[:1] == b"1" and "takes-1xx-as-final" not in self.faults:
                return
            self.final = fields
        if flags & END_STREAM:
            self.end()

    def check_fields(self, fields: list[tuple[bytes, bytes]], trailers: bool) -> None:
        f = self.faults
        seen: set[bytes] = set()
        regular = False
        for name, value in fields:
            if name.startswith(b":"):
                if "lenient-pseudo-headers" in f:
                    continue
                bad = (trailers and "accepts-bad-trailers" not in f) or (
                    not trailers and (name != b":status" or name in seen or regular)
                )
                if bad:
                    raise StreamError(PROTOCOL_ERROR, f"pseudo-header field {name!r} where it may not be")
                seen.add(name)
                continue
            regular = True
            if name != name.lower() and "accepts-uppercase-field" not in f:
                raise StreamError(PROTOCOL_ERROR, f"uppercase field name {name!r}")
            if "accepts-bad-field-chars" not in f and (
                not name or any(c <= 0x20 or c == 0x7F or c == 0x3A or c > 0x7E for c in name)
            ):
                raise StreamError(PROTOCOL_ERROR, f"invalid field name {name!r}")
            if "accepts-bad-field-chars" not in f and any(c in value for c in b"\x00\r\n"):
                raise StreamError(PROTOCOL_ERROR, f"NUL, CR or LF in the value of {name!r}")
            if "accepts-field-whitespace" not in f and (
                value[:1] in b" \t" and value or value[-1:] in (b" ", b"\t")
            ):
                raise StreamError(PROTOCOL_ERROR, f"whitespace around the value of {name!r}")
            if name in CONNECTION_SPECIFIC and "accepts-connection-specific" not in f:
                raise StreamError(PROTOCOL_ERROR, f"connection-specific field {name!r}")
        if not trailers and b":status" not in seen and "lenient-pseudo-headers" not in f:
            raise StreamError(PROTOCOL_ERROR, "a response without :status")

    def end(self) -> None:
        assert self.final is not None
        lengths = {v for n, v in self.final if n == b"content-length"}
        mismatch = len(lengths) > 1 or not lengths.issubset({str(len(self.body)).encode()})
        if lengths and mismatch and "ignores-content-length-mismatch" not in self.faults:
            raise StreamError(PROTOCOL_ERROR, f"content-length {lengths!r}, {len(self.body)} octets of DATA")
        self.stream_state = "done"
        self.finish("accepted")

    def finish(self, outcome: str, why: str = "") -> None:
        if self.outcome is None:
            self.outcome, self.why = outcome, why

    def on_priority(self, flags: int, stream: int, payload: bytes) -> None:
        if len(payload) != 5 and "ignores-bad-lengths" not in self.faults:
            raise StreamError(FRAME_SIZE_ERROR, "a PRIORITY frame not of 5 octets")

    def on_rst_stream(self, flags: int, stream: int, payload: bytes) -> None:
        if len(payload) != 4:
            if "ignores-bad-lengths" in self.faults:
                return
            raise ConnectionError_(FRAME_SIZE_ERROR, "an RST_STREAM not of 4 octets")
        if self.stream_state != "open":
            return
        self.stream_state = "reset"
        if "accepts-after-reset" in self.faults:
            self.finish("accepted")
        else:
            self.finish("rejected", "the server reset the stream")

    def on_settings(self, flags: int, stream: int, payload: bytes) -> None:
        f = self.faults
        lenient = "lenient-settings" in f
        if stream != 0:
            if lenient:
                return
            raise ConnectionError_(PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & ACK:
            if payload and "ignores-bad-lengths" not in f:
                raise ConnectionError_(FRAME_SIZE_ERROR, "a SETTINGS ACK with a payload")
            return
        if len(payload) % 6:
            if "ignores-bad-lengths" in f:
                return
            raise ConnectionError_(FRAME_SIZE_ERROR, "a SETTINGS not a multiple of 6 octets")
        for at in range(0, len(payload), 6):
            key, value = (
                int.from_bytes(payload[at : at + 2], "big"),
                int.from_bytes(payload[at + 2 : at + 6], "big"),
            )
            if key == 2 and value != 0 and not lenient:
                raise ConnectionError_(PROTOCOL_ERROR, f"SETTINGS_ENABLE_PUSH={value} from a server")
            if key == 4:
                if value > MAX_WINDOW:
                    if lenient:
                        continue
                    raise ConnectionError_(FLOW_CONTROL_ERROR, "SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1")
                self.stream_window += value - self.initial_window
                self.initial_window = value
            if key == 5 and not MAX_FRAME <= value <= (1 << 24) - 1 and not lenient:
                raise ConnectionError_(PROTOCOL_ERROR, f"SETTINGS_MAX_FRAME_SIZE={value}")
        if "no-settings-ack" not in f:
            self.send(frame(SETTINGS, ACK, 0))

    def on_push_promise(self, flags: int, stream: int, payload: bytes) -> None:
        block = self.unpad(flags, payload)
        promised = int.from_bytes(block[:4], "big") & MAX_WINDOW
        if promised % 2 == 1:
            raise ConnectionError_(PROTOCOL_ERROR, f"PUSH_PROMISE promising odd stream {promised}")
        if "accepts-push-when-disabled" not in self.faults:
            raise ConnectionError_(PROTOCOL_ERROR, "PUSH_PROMISE after SETTINGS_ENABLE_PUSH=0")
        self.block = (stream, flags, bytearray(block[4:]), True)
        if flags & END_HEADERS:
            self.end_block()

    def on_ping(self, flags: int, stream: int, payload: bytes) -> None:
        f = self.faults
        if stream != 0:
            raise ConnectionError_(PROTOCOL_ERROR, "PING on a stream")
        if len(payload) != 8:
            if "ignores-bad-lengths" in f:
                return
            raise ConnectionError_(FRAME_SIZE_ERROR, "a PING not of 8 octets")
        if flags & ACK and "answers-ping-ack" not in f:
            return
        if "no-ping-ack" not in f:
            self.send(frame(PING, ACK, 0, payload))

    def on_goaway(self, flags: int, stream: int, payload: bytes) -> None:
        if stream != 0:
            raise ConnectionError_(PROTOCOL_ERROR, "GOAWAY on a stream")
        last = int.from_bytes(payload[:4], "big") & MAX_WINDOW
        code = int.from_bytes(payload[4:8], "big")
        graceful = code == NO_ERROR and last >= 1
        if not graceful and self.stream_state == "open":
            self.stream_state = "reset"
            if "accepts-after-reset" in self.faults:
                self.finish("accepted")
            else:
                self.finish("rejected", f"GOAWAY {code} (last stream {last})")

    def on_window_update(self, flags: int, stream: int, payload: bytes) -> None:
        if len(payload) != 4:
            if "ignores-bad-lengths" in self.faults:
                return
            raise ConnectionError_(FRAME_SIZE_ERROR, "a WINDOW_UPDATE not of 4 octets")
        increment = int.from_bytes(payload, "big") & MAX_WINDOW
        if increment == 0:
            if stream == 0:
                raise ConnectionError_(PROTOCOL_ERROR, "a connection WINDOW_UPDATE of 0")
            raise StreamError(PROTOCOL_ERROR, "a stream WINDOW_UPDATE of 0")
        overflow = "ignores-window-overflow" not in self.faults
        if stream == 0:
            self.send_window += increment
            if overflow and self.send_window > MAX_WINDOW:
                raise ConnectionError_(FLOW_CONTROL_ERROR, "the connection window past 2^31-1")
        elif self.stream_state == "open":
            self.stream_window += increment
            if overflow and self.stream_window > MAX_WINDOW:
                raise StreamError(FLOW_CONTROL_ERROR, "the stream window past 2^31-1")

    # -- the loop

    def run(self, authority: str, path: str) -> None:
        preface = b"PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n" if "bad-preface" in self.faults else PREFACE
        request = hpack.Encoder().encode(
            [(":method", "GET"), (":scheme", "http"), (":authority", authority), (":path", path)]
        )
        settings = (2).to_bytes(2, "big") + (0).to_bytes(4, "big")  # SETTINGS_ENABLE_PUSH=0
        self.send(
            preface + frame(SETTINGS, 0, 0, settings) + frame(HEADERS, END_STREAM | END_HEADERS, 1, request)
        )
        deadline: float | None = None
        while True:
            if self.outcome is not None and deadline is None:
                deadline = time.monotonic() + LINGER
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                return
            if not data:
                self.finish("rejected", "the connection closed before the response ended")
                return
            self.buffer += data
            for kind, flags, stream, _reserved, payload in self.frames():
                try:
                    self.on_frame(kind, flags, stream, payload)
                except StreamError as exc:
                    self.send(frame(RST_STREAM, 0, 1, self.error_code(exc.code).to_bytes(4, "big")))
                    if self.stream_state == "open":
                        self.stream_state = "reset"
                        self.finish("rejected", str(exc))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="h2_client.py")
    parser.add_argument("--fault", action="append", default=[], choices=sorted(FAULTS), metavar="NAME")
    parser.add_argument("--list-faults", action="store_true")
    parser.add_argument("url", nargs="?")
    args = parser.parse_args(argv)
    if args.list_faults:
        for name, what in FAULTS.items():
            print(f"{name}: {what}")
        return 0
    parts = urlsplit(args.url or "")
    if parts.scheme != "http" or not parts.hostname:
        sys.stderr.write("usage: h2_client.py [--fault NAME]... http://HOST:PORT/PATH\n")
        return 2
    port = parts.port or 80
    try:
        sock = socket.create_connection((parts.hostname, port), timeout=30)
    except OSError as exc:
        sys.stderr.write(f"cannot connect: {exc}\n")
        return 2
    client = Client(sock, set(args.fault))
    try:
        client.run(f"{parts.hostname}:{port}", parts.path or "/")
    except ConnectionError_ as exc:
        if "no-goaway" not in client.faults:
            goaway = (0).to_bytes(4, "big") + client.error_code(exc.code).to_bytes(4, "big")
            client.send(frame(GOAWAY, 0, 0, goaway))
        sock.close()
        sys.stderr.write(f"rejected: connection error: {exc}\n")
        return 1
    except OSError as exc:
        client.finish("rejected", f"connection error: {exc}")
    sock.close()
    if client.outcome == "accepted":
        sys.stdout.buffer.write(bytes(client.body))
        sys.stdout.flush()
        return 0
    sys.stderr.write(f"rejected: {client.why or 'no response'}\n")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
