"""A configurable HTTP/2 server whose every check can be switched off or got wrong.

With no faults it is a small, strict HTTP/2 origin server (RFC 9113, RFC 7541): it checks
the connection preface, sends its SETTINGS and acknowledges the client's, tracks stream
states and identifiers, enforces flow control in both directions and the frame size limit,
validates padding, priority, CONTINUATION sequencing, header fields (§8.2) and
pseudo-header fields (§8.3), answers PING, honours GOAWAY, RST_STREAM and WINDOW_UPDATE,
treats HPACK errors as COMPRESSION_ERROR, refuses streams over MAX_CONCURRENT_STREAMS, never
pushes, and defends itself against floods (§10.5). Each fault in :data:`FAULTS` switches
exactly one of those behaviours wrong, so that a test can show that the cases about it
FAIL — and only they.

Frames are read by hand from the 9-octet header on (not with hyperframe's parser, which
enforces some rules itself — a DATA frame on stream 0 cannot even be built — so those rules
could not be switched off); frames are written with hyperframe, header blocks decoded and
encoded with hpack. Resources are the reference target's (``conformance.targets.resources``).

Run it in the foreground::

    python tests/faulty/h2_server.py --port 18082 [--fault NAME ...]
    python tests/faulty/h2_server.py --matrix   # every configuration, ports as JSON
"""

from __future__ import annotations

import base64
import copy
import email.utils
import re
import struct
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fault_matrix
import hpack
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    PushPromiseFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)
from twisted.internet import protocol
from twisted.internet.interfaces import IListeningPort

if __name__ == "__main__":  # run as a script: the package is two levels up
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from conformance.targets import resources  # noqa: E402

RFC9113 = "https://www.rfc-editor.org/rfc/rfc9113"

#: fault name -> what it breaks. Every fault switches off (or gets wrong) one rule.
FAULTS: dict[str, str] = {
    # connection preface and SETTINGS (§3.4, §6.5)
    "invalid-preface-ignored": "discards an invalid client preface and waits, silently, for a valid one",
    "first-frame-not-settings-ok": "accepts a first frame other than SETTINGS after the preface",
    "no-server-settings": "never sends its own SETTINGS frame (the server connection preface)",
    "no-settings-ack": "never acknowledges the client's SETTINGS",
    "settings-ack-before-applying": "acknowledges SETTINGS without applying INITIAL_WINDOW_SIZE",
    "settings-on-stream-ok": "accepts SETTINGS on a stream other than 0",
    "settings-ack-with-payload-ok": "accepts a SETTINGS ACK that carries a payload",
    "settings-ack-acknowledged": "answers the client's SETTINGS ACK with a SETTINGS ACK of its own",
    "settings-length-unchecked": "accepts a SETTINGS payload whose length is not a multiple of 6",
    "enable-push-unchecked": "accepts SETTINGS_ENABLE_PUSH values other than 0 and 1",
    "window-size-setting-unchecked": "accepts SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1",
    "max-frame-size-setting-unchecked": "accepts SETTINGS_MAX_FRAME_SIZE outside 16384..2^24-1",
    "unknown-setting-rejected": "treats an unknown SETTINGS identifier as a PROTOCOL_ERROR",
    "first-setting-wins": "applies the first of repeated values of a setting, not the last",
    # frame format and size (§4.1, §4.2)
    "unknown-frame-type-rejected": "treats a frame of an unknown type as a PROTOCOL_ERROR",
    "unknown-flags-rejected": "treats undefined flags as a PROTOCOL_ERROR",
    "reserved-bit-rejected": "treats a set reserved bit in the stream identifier as a PROTOCOL_ERROR",
    "ignore-max-frame-size": "accepts frames larger than its SETTINGS_MAX_FRAME_SIZE",
    "frames-over-peer-max-frame-size": "sends DATA frames twice as large as the client's SETTINGS_MAX_FRAME_SIZE",
    # (not PROTOCOL_ERROR: RFC 9113 §5.4 lets a generic code stand in for a specific one)
    "wrong-error-code-frame-size": "answers an oversized frame with FLOW_CONTROL_ERROR, not FRAME_SIZE_ERROR",
    # stream states and identifiers (§5.1, §5.1.1, §5.1.2)
    "accept-frame-on-idle-stream": "accepts DATA, RST_STREAM and WINDOW_UPDATE on an idle stream",
    "idle-rst-above-open-ok": "ignores RST_STREAM on an idle stream numbered above one a request opened",
    "accept-even-stream-id": "accepts a client-initiated stream with an even identifier",
    "accept-lower-stream-id": "accepts a new stream whose identifier is lower than one already used",
    "accept-data-after-end-stream": "ignores DATA on a stream the client has ended with END_STREAM",
    "accept-headers-after-end-stream": "ignores HEADERS on a stream the client has ended with END_STREAM",
    "stream-closed-as-refused-stream": "answers frames on closed streams with REFUSED_STREAM, not STREAM_CLOSED",
    "ignore-max-concurrent-streams": "accepts streams beyond its SETTINGS_MAX_CONCURRENT_STREAMS",
    # priority (§5.3, §6.3, RFC 9218)
    "priority-length-unchecked": "accepts a PRIORITY frame whose length is not 5",
    "priority-on-stream-zero-ok": "accepts a PRIORITY frame on stream 0",
    "priority-opens-stream": "takes a PRIORITY frame on an idle stream as opening it",
    "priority-update-wrong-error-code": "answers a misplaced PRIORITY_UPDATE with FRAME_SIZE_ERROR, not PROTOCOL_ERROR",
    # DATA, HEADERS and padding (§6.1, §6.2)
    "data-on-stream-zero-ok": "accepts DATA on stream 0",
    "headers-on-stream-zero-ok": "accepts HEADERS on stream 0",
    "padding-unchecked": "accepts a pad length as long as the frame payload or longer",
    "padding-stripped-wrong": "ignores the PADDED flag: the pad length and padding are read as content",
    # CONTINUATION (§6.10, §4.3)
    "continuation-interleave-ok": "accepts other frames in the middle of a header block",
    "continuation-other-stream-ok": "accepts a CONTINUATION for another stream in the middle of a block",
    "continuation-without-headers-ok": "ignores a CONTINUATION that follows no open header block",
    "no-continuation-support": "treats a header block split into CONTINUATION frames as an error",
    # RST_STREAM, PING, GOAWAY, WINDOW_UPDATE (§6.4, §6.7, §6.8, §6.9)
    "rst-stream-zero-ok": "accepts RST_STREAM on stream 0",
    "rst-stream-length-unchecked": "accepts an RST_STREAM frame whose length is not 4",
    "no-ping-ack": "does not answer a PING",
    "ping-ack-wrong-payload": "answers a PING with zeros instead of its payload",
    "ping-ack-answered": "answers a PING ACK with another PING ACK",
    "ping-on-stream-ok": "accepts PING on a stream other than 0",
    "ping-length-unchecked": "accepts a PING whose length is not 8",
    "goaway-on-stream-ok": "accepts GOAWAY on a stream other than 0",
    "goaway-wrong-last-stream": "sends GOAWAY with last-stream-id 0 whatever it processed",
    # a graceful shutdown (§6.8) is allowed at any time, but its GOAWAY must not disown
    # streams it answered, and a client's GOAWAY does not cancel the client's own requests
    "shutdown-disowns-answered-streams": (
        "after each response, shuts down with GOAWAY NO_ERROR naming stream 0 (not the one answered)"
    ),
    "client-goaway-drops-requests": "drops the connection, unanswered requests included, on the client's GOAWAY",
    "no-goaway-on-error": "closes the connection without a GOAWAY on a connection error",
    "window-update-zero-ok": "accepts a WINDOW_UPDATE with an increment of 0",
    "window-update-length-unchecked": "accepts a WINDOW_UPDATE whose length is not 4",
    "ignore-window-overflow": "accepts a WINDOW_UPDATE that takes a window above 2^31-1",
    "window-overflow-as-frame-size-error": "answers a window overflow with FRAME_SIZE_ERROR, not FLOW_CONTROL_ERROR",
    # flow control (§5.2, §6.9)
    "no-window-update": "never sends WINDOW_UPDATE: a request body beyond 65,535 octets stalls",
    "ignore-flow-control": "sends DATA beyond the client's flow-control window",
    "ignore-window-update": "never sends more DATA after a window is exhausted, whatever WINDOW_UPDATEs come",
    "ignore-initial-window-change": "does not adjust open streams' windows when INITIAL_WINDOW_SIZE changes",
    "ignore-negative-window": "treats a window made negative by SETTINGS as zero",
    # HPACK (RFC 7541, RFC 9113 §4.3)
    "hpack-error-as-frame-size-error": "answers a header block it cannot decode with FRAME_SIZE_ERROR",
    "hpack-error-as-stream-error": "answers a header block it cannot decode with RST_STREAM",
    "hpack-rolled-back-on-reset": "undoes the dynamic table changes of a request it resets as malformed",
    "hpack-table-size-unchecked": "accepts a dynamic table size update above SETTINGS_HEADER_TABLE_SIZE",
    "no-header-list-limit": "decodes header sections of any size (HPACK bomb)",
    # field validity (§8.2) and pseudo-header fields (§8.3)
    "uppercase-names-ok": "accepts field names with uppercase letters",
    "invalid-name-chars-ok": "accepts field names with controls, spaces, colons or non-ASCII",
    "invalid-value-chars-ok": "accepts field values with NUL, CR or LF",
    "value-whitespace-ok": "accepts field values with leading or trailing whitespace",
    "connection-fields-ok": "accepts connection-specific fields (Connection, Keep-Alive, ...)",
    "te-not-trailers-ok": "accepts TE with a value other than trailers",
    "unknown-pseudo-ok": "accepts unknown pseudo-header fields",
    "response-pseudo-ok": "accepts response pseudo-header fields (:status) in requests",
    "pseudo-after-regular-ok": "accepts pseudo-header fields after regular fields",
    "duplicate-pseudo-ok": "accepts a pseudo-header field given twice",
    "missing-pseudo-ok": "accepts a request without :method, :scheme or :path",
    "empty-path-ok": "serves an empty :path as /",
    "method-token-unchecked": "accepts a :method that is not a token and serves it as a GET (200)",
    "path-form-unchecked": "serves a :path that does not start with / as if it did",
    "pseudo-in-trailers-ok": "accepts pseudo-header fields in trailers",
    "trailers-without-end-stream-ok": "accepts a second HEADERS frame without END_STREAM",
    "authority-host-mismatch-ok": "accepts :authority and Host that disagree",
    "protocol-pseudo-ok": "accepts :protocol although it never enabled extended CONNECT",
    "extended-connect-unchecked": "accepts :protocol on any method, and extended CONNECT without :path",
    "connect-with-path-tunnels": "accepts a CONNECT with :scheme and :path and answers 200, opening a tunnel",
    "content-length-unchecked": "accepts DATA whose total differs from content-length",
    # responses (§8.1, §8.2, §8.4)
    "uppercase-response-names": "sends response field names with uppercase letters",
    "connection-field-in-response": "sends a Connection field in responses",
    "no-status": "sends responses without :status",
    "push-despite-disabled": "sends PUSH_PROMISE although the client set SETTINGS_ENABLE_PUSH to 0",
    "head-with-body": "sends content in the response to HEAD",
    # resource-exhaustion defences (§10.5)
    "rapid-reset-silence": "past the rapid-reset limit, stops answering instead of sending GOAWAY",
    "control-flood-silence": "past the SETTINGS/PING limit, stops answering instead of sending GOAWAY",
    "empty-frame-flood-silence": "past the empty-DATA limit, stops answering instead of sending GOAWAY",
}

#: optional features a configuration may switch on (each is correct behaviour)
FEATURES: dict[str, str] = {
    "extended-connect": "advertises SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 and checks extended CONNECT (RFC 8441)",
}
#: faults that break a feature: they are switched on together with it
FAULT_FEATURES: dict[str, tuple[str, ...]] = {
    "extended-connect-unchecked": ("extended-connect",),
}
#: the fault matrix: the correct configurations (one per optional feature: a case about a
#: feature is UNIMPLEMENTED without it, and one about its absence is with it) and each fault
CONFIGURATIONS: dict[str, tuple[str, ...]] = {
    "correct": (),
    "correct-extended-connect": ("extended-connect",),
    **{fault: (fault, *FAULT_FEATURES.get(fault, ())) for fault in FAULTS},
}

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
# frame types (§6) and the RFC 9218 extension
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE = range(9)
CONTINUATION = 0x9
PRIORITY_UPDATE = 0x10
KNOWN_TYPES = {*range(10), PRIORITY_UPDATE}
#: frame type -> the method that reads it
HANDLERS = {
    DATA: "on_data",
    HEADERS: "on_headers",
    PRIORITY: "on_priority",
    RST_STREAM: "on_rst_stream",
    SETTINGS: "on_settings",
    PUSH_PROMISE: "on_push_promise",
    PING: "on_ping",
    GOAWAY: "on_goaway",
    WINDOW_UPDATE: "on_window_update",
    CONTINUATION: "on_continuation",
    PRIORITY_UPDATE: "on_priority_update",
}
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20
#: the flags each type defines (§4.1: others MUST be ignored)
DEFINED_FLAGS = {
    DATA: END_STREAM | PADDED,
    HEADERS: END_STREAM | END_HEADERS | PADDED | PRIORITY_FLAG,
    SETTINGS: ACK,
    PING: ACK,
    CONTINUATION: END_HEADERS,
    PUSH_PROMISE: END_HEADERS | PADDED,
}
# error codes (§7)
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR = 0x0, 0x1, 0x2, 0x3
SETTINGS_TIMEOUT, STREAM_CLOSED, FRAME_SIZE_ERROR, REFUSED_STREAM = 0x4, 0x5, 0x6, 0x7
CANCEL, COMPRESSION_ERROR, CONNECT_ERROR, ENHANCE_YOUR_CALM = 0x8, 0x9, 0xA, 0xB
# settings (§6.5.2, RFC 8441)
HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE = 1, 2, 3, 4
MAX_FRAME_SIZE, MAX_HEADER_LIST_SIZE, ENABLE_CONNECT_PROTOCOL = 5, 6, 8

MAX_WINDOW = 2**31 - 1
DEFAULT_WINDOW = 65_535
MIN_FRAME_SIZE, MAX_FRAME_SIZE_LIMIT = 16_384, 2**24 - 1
OUR_MAX_FRAME_SIZE = 16_384
OUR_MAX_CONCURRENT_STREAMS = 100
OUR_MAX_HEADER_LIST_SIZE = 64 * 1024
OUR_INITIAL_WINDOW = DEFAULT_WINDOW
BODY_CAP = 16 * 1024 * 1024
# https://www.rfc-editor.org/rfc/rfc9113#section-10.5: flood limits per connection
RESET_CAP = 100
CONTINUATION_CAP = 64  # CONTINUATION frames in one header block
HEADER_BLOCK_CAP = 256 * 1024  # compressed octets in one header block
CONTROL_FRAME_CAP = 200  # SETTINGS and PING frames
EMPTY_FRAME_CAP = 100  # zero-length DATA frames without END_STREAM
LINGER_SECONDS = 1.0  # after a GOAWAY for an error: how long to read and discard before closing

# https://www.rfc-editor.org/rfc/rfc9112#section-3: an HTTP/1.1 request line (for h2c upgrades)
H1_REQUEST_LINE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP/1\.1")
H1_REQUEST_LINE_START = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?: [\x21-\x7e]*(?: H?T?T?P?/?1?\.?1?)?)?")
H1_HEAD_CAP = 8 * 1024
# https://www.rfc-editor.org/rfc/rfc9110#section-5.6.2: token = 1*tchar
TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

# https://www.rfc-editor.org/rfc/rfc9113#section-8.2.2: connection-specific fields
CONNECTION_FIELDS = {b"connection", b"proxy-connection", b"keep-alive", b"transfer-encoding", b"upgrade"}
REQUEST_PSEUDO = {b":method", b":scheme", b":authority", b":path", b":protocol"}
# https://www.rfc-editor.org/rfc/rfc9113#section-8.2.1: a field name MUST NOT contain
# 0x00-0x20, 0x41-0x5A (uppercase) or 0x7F-0xFF, nor a colon except as the pseudo prefix.
INVALID_NAME_CHAR = re.compile(rb"[\x00-\x20\x7f-\xff]|(?<!^):")
UPPERCASE = re.compile(rb"[A-Z]")
INVALID_VALUE_CHAR = re.compile(rb"[\x00\r\n]")


class ConnectionFault(Exception):
    """A connection error (§5.4.1): GOAWAY with ``code``, then close."""

    def __init__(self, code: int, why: str) -> None:
        super().__init__(why)
        self.code = code


class SilentlyIgnored(Exception):
    """The server stops processing the connection, without a word (a fault)."""


class StreamFault(Exception):
    """A stream error (§5.4.2): RST_STREAM with ``code`` on ``stream_id``."""

    def __init__(self, stream_id: int, code: int, why: str) -> None:
        super().__init__(why)
        self.stream_id = stream_id
        self.code = code


@dataclass
class Stream:
    id: int
    # "open", "half-closed-remote", "half-closed-local", "closed"
    state: str = "open"
    send_window: int = DEFAULT_WINDOW
    recv_window: int = OUR_INITIAL_WINDOW
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    content_length: int | None = None
    received: int = 0
    pending: bytes = b""  # response content waiting for window
    head: bool = False
    closed_by: str = ""  # "end" (both sides ended), "client-reset", "our-reset"


@dataclass
class HeaderBlock:
    """A header block being received: HEADERS and the CONTINUATION frames after it."""

    stream_id: int
    flags: int
    fragments: list[bytes]
    priority: tuple[int, bool] | None  # (depends on, exclusive)
    continuations: int = 0


class FaultyH2(protocol.Protocol):
    def __init__(self, faults: frozenset[str], reactor: Any) -> None:
        self.faults = faults
        self.reactor = reactor
        self.buf = bytearray()
        self.phase = "preface"  # "preface", "settings" (first frame), "frames", "closed"
        self.decoder = hpack.Decoder()
        self.decoder.max_header_list_size = (
            2**31 if self.fault("no-header-list-limit") else OUR_MAX_HEADER_LIST_SIZE
        )
        if self.fault("hpack-table-size-unchecked"):
            self.decoder.max_allowed_table_size = 2**64
        self.encoder = hpack.Encoder()
        self.streams: dict[int, Stream] = {}
        self.waiting: dict[int, Stream] = {}  # streams with response content held by flow control
        self.pos = 0
        self.preface_sent = False
        self.upgraded = False  # an h2c upgrade happened: the client preface is due
        self.active = 0  # streams open or half-closed
        self.highest_client_stream = 0
        self.block: HeaderBlock | None = None
        # the client's settings (§6.5.2 initial values)
        self.peer_initial_window = DEFAULT_WINDOW
        self.peer_max_frame_size = MIN_FRAME_SIZE
        self.peer_enable_push = 1
        self.send_window = DEFAULT_WINDOW  # connection
        self.recv_window = DEFAULT_WINDOW
        self.goaway_received = False
        self.resets = self.control_frames = self.empty_frames = 0
        self.linger: Any = None

    def fault(self, name: str) -> bool:
        return name in self.faults

    def feature(self, name: str) -> bool:
        """An optional feature of this configuration (:data:`FEATURES`)."""
        return name in self.faults

    # -- Twisted

    def send_preface(self) -> None:
        """https://www.rfc-editor.org/rfc/rfc9113#section-3.4: the server connection preface
        is a SETTINGS frame, the first frame sent. It goes once the client's first bytes
        show HTTP/2 by prior knowledge, or right after the 101 of an h2c upgrade: on a
        plain port the client may open with an HTTP/1.1 request instead."""
        if self.preface_sent or self.fault("no-server-settings"):
            return
        self.preface_sent = True
        settings = {
            MAX_CONCURRENT_STREAMS: OUR_MAX_CONCURRENT_STREAMS,
            INITIAL_WINDOW_SIZE: OUR_INITIAL_WINDOW,
            MAX_HEADER_LIST_SIZE: OUR_MAX_HEADER_LIST_SIZE,
        }
        if self.feature("extended-connect"):
            settings[ENABLE_CONNECT_PROTOCOL] = 1  # RFC 8441 §3
        self.write(SettingsFrame(0, settings=settings))

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        if self.phase == "closed":
            return
        self.buf += data
        self.pos = 0  # frames are consumed by moving this offset; buf is compacted once per read
        try:
            while self.phase != "closed" and self.step():
                pass
        except ConnectionFault as error:
            self.connection_error(error.code)
        except SilentlyIgnored:
            self.buf.clear()
            self.pos = 0
        del self.buf[: self.pos]

    def connectionLost(self, reason: Any = None) -> None:  # noqa: N802
        self.phase = "closed"
        if self.linger is not None and self.linger.active():
            self.linger.cancel()

    def write(self, frame: Any) -> None:
        if self.transport is not None and self.phase != "closed":
            self.transport.write(frame.serialize())

    def write_raw(self, frame_type: int, flags: int, stream_id: int, payload: bytes) -> None:
        if self.transport is not None and self.phase != "closed":
            header = struct.pack(">I", len(payload))[1:] + bytes([frame_type, flags])
            self.transport.write(header + struct.pack(">I", stream_id) + payload)

    # -- reading frames

    def invalid_preface(self) -> bool:
        """https://www.rfc-editor.org/rfc/rfc9113#section-3.4: an invalid preface is a
        connection error of type PROTOCOL_ERROR."""
        if self.fault("invalid-preface-ignored"):
            self.buf.clear()
            self.pos = 0
            return False
        raise ConnectionFault(PROTOCOL_ERROR, "invalid connection preface")

    def upgrade(self) -> bool:
        """An HTTP/1.1 request on the plain port: switch to HTTP/2 if it asks for h2c the way
        https://www.rfc-editor.org/rfc/rfc7540#section-3.2 says (RFC 9113 §3.1 deprecates
        the mechanism; servers may still offer it), else it is an invalid preface."""
        buf = self.buf  # nothing consumed yet: the head starts at 0
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            line_end = buf.find(b"\r\n")
            first = bytes(buf if line_end < 0 else buf[:line_end])
            if len(buf) > H1_HEAD_CAP or not H1_REQUEST_LINE_START.fullmatch(first):
                return self.invalid_preface()
            return False  # wait for the rest of the head
        lines = bytes(buf[:end]).split(b"\r\n")
        request_line = H1_REQUEST_LINE.fullmatch(lines[0])
        fields: list[tuple[bytes, bytes]] = []
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip():
                return self.invalid_preface()
            fields.append((name.lower(), value.strip(b" \t")))

        def tokens(name: bytes) -> set[bytes]:
            return {t.strip().lower() for n, v in fields if n == name for t in v.split(b",")}

        settings_fields = [v for n, v in fields if n == b"http2-settings"]
        has_body = any(n == b"transfer-encoding" or (n == b"content-length" and v != b"0") for n, v in fields)
        if (
            request_line is None
            or b"h2c" not in tokens(b"upgrade")
            or not {b"upgrade", b"http2-settings"} <= tokens(b"connection")
            or len(settings_fields) != 1  # RFC 7540 §3.2.1: exactly one HTTP2-Settings
            or has_body
        ):
            return self.invalid_preface()
        try:
            payload = base64.urlsafe_b64decode(settings_fields[0] + b"=" * (-len(settings_fields[0]) % 4))
        except ValueError:
            return self.invalid_preface()
        if len(payload) % 6:
            return self.invalid_preface()
        self.pos = end + 4
        self.upgraded = True
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
        )
        self.send_preface()
        # RFC 7540 §3.2.1: HTTP2-Settings is the payload of a SETTINGS frame, applied as one;
        # the 101 acknowledges it, no SETTINGS ACK is sent.
        values = {}
        for offset in range(0, len(payload), 6):
            identifier, value = struct.unpack(">HI", payload[offset : offset + 6])
            values[identifier] = value
        for identifier, value in values.items():
            self.check_setting(identifier, value)
        self.apply_settings(values)
        # The request is stream 1, half-closed (remote); the client preface comes next.
        method, target = request_line.group(1), request_line.group(2)
        hosts = [v for n, v in fields if n == b"host"]
        pseudo = [(b":method", method), (b":scheme", b"http"), (b":path", target)]
        if hosts:
            pseudo.append((b":authority", hosts[0]))
        hop_by_hop = CONNECTION_FIELDS | {b"host", b"http2-settings", b"te"}
        stream = self.open_stream(1)
        try:
            self.request_headers(stream, pseudo + [(n, v) for n, v in fields if n not in hop_by_hop])
            self.end_of_request(stream)
        except StreamFault as error:
            self.stream_error(error.stream_id, error.code)
        return True

    def step(self) -> bool:
        if self.phase == "preface":
            start = bytes(self.buf[self.pos : self.pos + len(PREFACE)])
            if not PREFACE.startswith(start):
                # Not HTTP/2 by prior knowledge: an h2c upgrade, or an invalid preface.
                return self.upgrade() if not self.upgraded else self.invalid_preface()
            if len(start) < len(PREFACE):
                return False
            self.pos += len(PREFACE)
            self.phase = "settings"
            self.send_preface()
            return True
        buf, at = self.buf, self.pos
        if len(buf) - at < 9:
            return False
        length = int.from_bytes(buf[at : at + 3], "big")
        frame_type, flags = buf[at + 3], buf[at + 4]
        raw_stream = int.from_bytes(buf[at + 5 : at + 9], "big")
        if length > OUR_MAX_FRAME_SIZE and not self.fault("ignore-max-frame-size"):
            # https://www.rfc-editor.org/rfc/rfc9113#section-4.2: FRAME_SIZE_ERROR; answered
            # as a connection error at once, without reading the payload.
            code = FLOW_CONTROL_ERROR if self.fault("wrong-error-code-frame-size") else FRAME_SIZE_ERROR
            raise ConnectionFault(code, f"frame of {length} octets")
        if len(buf) - at < 9 + length:
            return False
        payload = bytes(buf[at + 9 : at + 9 + length])
        self.pos = at + 9 + length
        if raw_stream & 0x8000_0000 and self.fault("reserved-bit-rejected"):
            raise ConnectionFault(PROTOCOL_ERROR, "reserved bit set")
        # §4.1: the reserved bit MUST be ignored when receiving.
        stream_id = raw_stream & 0x7FFF_FFFF
        if self.phase == "settings":
            # §3.4: the client preface ends with a SETTINGS frame.
            if (frame_type != SETTINGS or flags & ACK) and not self.fault("first-frame-not-settings-ok"):
                raise ConnectionFault(PROTOCOL_ERROR, "the first frame is not SETTINGS")
            self.phase = "frames"
        try:
            self.frame(frame_type, flags, stream_id, payload)
        except StreamFault as error:
            self.stream_error(error.stream_id, error.code)
        if self.waiting:
            self.flush_pending()
        return True

    def frame(self, frame_type: int, flags: int, stream_id: int, payload: bytes) -> None:
        defined = DEFINED_FLAGS.get(frame_type, 0)
        if flags & ~defined & 0xFF and frame_type in KNOWN_TYPES and self.fault("unknown-flags-rejected"):
            raise ConnectionFault(PROTOCOL_ERROR, "undefined flags")
        if self.block is not None:
            # https://www.rfc-editor.org/rfc/rfc9113#section-6.10: a header block is a
            # contiguous sequence of frames; anything else in it is a PROTOCOL_ERROR.
            if frame_type != CONTINUATION and not self.fault("continuation-interleave-ok"):
                raise ConnectionFault(PROTOCOL_ERROR, "a frame in the middle of a header block")
            if (
                frame_type == CONTINUATION
                and stream_id != self.block.stream_id
                and not self.fault("continuation-other-stream-ok")
            ):
                raise ConnectionFault(PROTOCOL_ERROR, "CONTINUATION for another stream")
        if frame_type not in KNOWN_TYPES:
            # §4.1, §5.5: frames of unknown types MUST be ignored.
            if self.fault("unknown-frame-type-rejected"):
                raise ConnectionFault(PROTOCOL_ERROR, "unknown frame type")
            return
        handler = getattr(self, HANDLERS[frame_type])
        handler(flags, stream_id, payload)

    def unpad(self, flags: int, payload: bytes) -> bytes:
        """https://www.rfc-editor.org/rfc/rfc9113#section-6.1: Pad Length, then content,
        then that many octets of padding; padding as long as the payload or longer is a
        connection error of type PROTOCOL_ERROR."""
        if not flags & PADDED or self.fault("padding-stripped-wrong"):
            return payload
        if not payload:
            raise ConnectionFault(FRAME_SIZE_ERROR, "PADDED frame without a Pad Length")
        pad = payload[0]
        if pad >= len(payload) and not self.fault("padding-unchecked"):
            raise ConnectionFault(PROTOCOL_ERROR, "padding as long as the payload")
        # §6.1: a receiver is not obligated to verify that padding octets are zero.
        pad = min(pad, len(payload) - 1)
        return payload[1 : len(payload) - pad]

    # -- stream states

    def is_idle(self, stream_id: int) -> bool:
        """§5.1: a client stream not yet opened (ours are never opened: we never push)."""
        return stream_id not in self.streams and (
            stream_id > self.highest_client_stream or stream_id % 2 == 0
        )

    def closed_stream(self, stream_id: int, kind: str) -> None:
        """A frame (DATA or HEADERS) on a stream in the closed state (§5.1)."""
        stream = self.streams.get(stream_id)
        reason = stream.closed_by if stream is not None else "end"
        if reason == "our-reset":
            # §5.1: frames after we sent RST_STREAM MUST be ignored (they may be in flight).
            return
        if reason == "end" and self.fault(f"accept-{kind.lower()}-after-end-stream"):
            return
        code = REFUSED_STREAM if self.fault("stream-closed-as-refused-stream") else STREAM_CLOSED
        # §5.1 closed: a connection error of type STREAM_CLOSED is allowed (and, for a
        # stream closed by END_STREAM in both directions, expected).
        raise ConnectionFault(code, f"{kind} on closed stream {stream_id}")

    def active_streams(self) -> int:
        """Streams counting against MAX_CONCURRENT_STREAMS (§5.1.2): the open and half-closed."""
        return self.active

    def close(self, stream: Stream, by: str) -> None:
        if stream.state != "closed":
            self.active -= 1
        stream.state, stream.closed_by, stream.pending = "closed", by, b""

    # -- DATA

    def on_data(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id == 0 and not self.fault("data-on-stream-zero-ok"):
            raise ConnectionFault(PROTOCOL_ERROR, "DATA on stream 0")
        # §6.9.1: the whole frame payload, padding included, counts against the windows.
        size = len(payload)
        self.recv_window -= size
        if self.recv_window < 0:
            raise ConnectionFault(FLOW_CONTROL_ERROR, "DATA beyond the connection window")
        content = self.unpad(flags, payload)
        if stream_id == 0:
            return
        if self.is_idle(stream_id):
            if not self.fault("accept-frame-on-idle-stream"):
                raise ConnectionFault(PROTOCOL_ERROR, "DATA on an idle stream")
            return
        stream = self.streams.get(stream_id)
        if stream is None or stream.state == "closed":
            self.return_window(None, size)
            self.closed_stream(stream_id, "DATA")
            return
        if stream.state == "half-closed-remote":
            self.return_window(None, size)
            if self.fault("accept-data-after-end-stream"):
                return
            code = REFUSED_STREAM if self.fault("stream-closed-as-refused-stream") else STREAM_CLOSED
            # §6.1: DATA on a stream not "open" or "half-closed (local)" is a stream error
            # of type STREAM_CLOSED.
            raise StreamFault(stream_id, code, "DATA after END_STREAM")
        stream.recv_window -= size
        if stream.recv_window < 0:
            raise StreamFault(stream_id, FLOW_CONTROL_ERROR, "DATA beyond the stream window")
        if not content and not flags & END_STREAM:
            self.empty_frames += 1
            if self.empty_frames > EMPTY_FRAME_CAP:
                self.flood("empty-frame-flood-silence", "empty DATA flood")
        stream.received += len(content)
        if len(stream.body) + len(content) <= BODY_CAP:
            stream.body += content
        self.return_window(stream, size)
        if (
            stream.content_length is not None
            and stream.received > stream.content_length
            and not self.fault("content-length-unchecked")
        ):
            # §8.1.1: DATA beyond content-length makes the request malformed.
            raise StreamFault(stream_id, PROTOCOL_ERROR, "more DATA than content-length")
        if flags & END_STREAM:
            self.end_of_request(stream)

    def return_window(self, stream: Stream | None, size: int) -> None:
        """Give the client a window back once it has used all of it (§6.9.1). Only at 0, so
        that a client sending beyond the window is caught however its frames are timed:
        a sender that keeps to the window always comes to exactly 0, and then gets more."""
        if not size or self.fault("no-window-update"):
            return
        if self.recv_window == 0:
            self.write(WindowUpdateFrame(0, window_increment=DEFAULT_WINDOW))
            self.recv_window += DEFAULT_WINDOW
        if stream is not None and stream.state == "open" and stream.recv_window == 0:
            self.write(WindowUpdateFrame(stream.id, window_increment=OUR_INITIAL_WINDOW))
            stream.recv_window += OUR_INITIAL_WINDOW

    # -- HEADERS and CONTINUATION

    def on_headers(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id == 0 and not self.fault("headers-on-stream-zero-ok"):
            raise ConnectionFault(PROTOCOL_ERROR, "HEADERS on stream 0")
        content = self.unpad(flags, payload)
        priority = None
        if flags & PRIORITY_FLAG:
            if len(content) < 5:
                raise ConnectionFault(FRAME_SIZE_ERROR, "HEADERS too short for its priority fields")
            word = int.from_bytes(content[:4], "big")
            priority = (word & 0x7FFF_FFFF, bool(word & 0x8000_0000))
            content = content[5:]
        self.block = HeaderBlock(stream_id=stream_id, flags=flags, fragments=[content], priority=priority)
        if flags & END_HEADERS:
            self.end_of_block()
        elif self.fault("no-continuation-support"):
            raise ConnectionFault(PROTOCOL_ERROR, "CONTINUATION is not supported")

    def on_continuation(self, flags: int, stream_id: int, payload: bytes) -> None:
        if self.block is None:
            # §6.10: a CONTINUATION that does not follow HEADERS, PUSH_PROMISE or
            # CONTINUATION without END_HEADERS is a connection error PROTOCOL_ERROR.
            if stream_id != 0 and self.fault("continuation-without-headers-ok"):
                return
            raise ConnectionFault(PROTOCOL_ERROR, "CONTINUATION without a header block")
        if stream_id != self.block.stream_id:  # only with continuation-other-stream-ok
            return
        self.block.fragments.append(payload)
        self.block.continuations += 1
        if (
            self.block.continuations > CONTINUATION_CAP
            or sum(map(len, self.block.fragments)) > HEADER_BLOCK_CAP
        ):
            # §10.5: a header block that never ends (CONTINUATION flood).
            raise ConnectionFault(ENHANCE_YOUR_CALM, "CONTINUATION flood")
        if flags & END_HEADERS:
            self.end_of_block()

    def end_of_block(self) -> None:
        block, self.block = self.block, None
        assert block is not None
        stream_id, flags = block.stream_id, block.flags
        if stream_id == 0:  # only with headers-on-stream-zero-ok: decode and drop
            self.decode(b"".join(block.fragments), stream_id)
            return
        stream = self.streams.get(stream_id)
        new = stream is None and not (stream_id <= self.highest_client_stream and stream_id % 2)
        if stream_id % 2 == 0 and stream is None and not self.fault("accept-even-stream-id"):
            # §5.1.1: client streams have odd identifiers.
            raise ConnectionFault(PROTOCOL_ERROR, "a client stream with an even identifier")
        if stream is None and stream_id <= self.highest_client_stream and stream_id % 2:
            if not self.fault("accept-lower-stream-id"):
                # §5.1.1: a new stream's identifier must exceed every one already used.
                self.decode(b"".join(block.fragments), stream_id)
                raise ConnectionFault(PROTOCOL_ERROR, "a stream identifier lower than one already used")
            new = True
        refuse = False
        if (
            new
            and self.active_streams() >= OUR_MAX_CONCURRENT_STREAMS
            and not self.fault("ignore-max-concurrent-streams")
        ):
            refuse = True
        self_dependent = block.priority is not None and block.priority[0] == stream_id
        if self_dependent:
            # RFC 7540 §5.3.1 made self-dependency a stream error PROTOCOL_ERROR; RFC 9113
            # dropped the rule (the cases are INFO), and this server keeps the old answer.
            if new:
                self.open_stream(stream_id, closed_by="our-reset")
            self.decode(b"".join(block.fragments), stream_id)
            raise StreamFault(stream_id, PROTOCOL_ERROR, "a stream that depends on itself")
        if refuse:
            # §5.1.2: REFUSED_STREAM (or PROTOCOL_ERROR) as a stream error; the header
            # block is decoded all the same, to keep the HPACK context in step (§4.3).
            self.open_stream(stream_id, closed_by="our-reset")
            self.decode(b"".join(block.fragments), stream_id)
            raise StreamFault(stream_id, REFUSED_STREAM, "too many concurrent streams")
        saved = copy.deepcopy(self.decoder) if self.fault("hpack-rolled-back-on-reset") else None
        fields = self.decode(b"".join(block.fragments), stream_id)
        if new:
            stream = self.open_stream(stream_id)
            try:
                self.request_headers(stream, fields)
            except StreamFault:
                if saved is not None:  # §4.3: the block's table changes stand, reset or not
                    self.decoder = saved
                raise
        else:
            assert stream is not None
            if stream.state in ("half-closed-remote", "closed"):
                if stream.state == "closed":
                    self.closed_stream(stream_id, "HEADERS")
                    return
                if self.fault("accept-headers-after-end-stream"):
                    return
                code = REFUSED_STREAM if self.fault("stream-closed-as-refused-stream") else STREAM_CLOSED
                # §5.1 half-closed (remote): any frame but WINDOW_UPDATE, PRIORITY and
                # RST_STREAM is a stream error of type STREAM_CLOSED.
                raise StreamFault(stream_id, code, "HEADERS after END_STREAM")
            self.trailers(stream, fields, flags)
            return
        if flags & END_STREAM:
            self.end_of_request(stream)

    def open_stream(self, stream_id: int, closed_by: str = "") -> Stream:
        self.highest_client_stream = max(self.highest_client_stream, stream_id)
        stream = Stream(
            id=stream_id,
            state="closed" if closed_by else "open",
            send_window=self.peer_initial_window,
            closed_by=closed_by,
        )
        self.streams[stream_id] = stream
        if not closed_by:
            self.active += 1
        return stream

    def decode(self, block: bytes, stream_id: int) -> list[tuple[bytes, bytes]]:
        try:
            return [(bytes(n), bytes(v)) for n, v in self.decoder.decode(block, raw=True)]
        except hpack.OversizedHeaderListError:
            # §10.5.1: a header section larger than we accept; the decoding context is
            # now lost, so the connection ends.
            raise ConnectionFault(ENHANCE_YOUR_CALM, "header list too large") from None
        except (hpack.HPACKError, IndexError, TypeError, UnicodeDecodeError):
            # §4.3: a header block that cannot be decompressed is a connection error of
            # type COMPRESSION_ERROR.
            if self.fault("hpack-error-as-stream-error"):
                raise StreamFault(stream_id, COMPRESSION_ERROR, "undecodable header block") from None
            code = FRAME_SIZE_ERROR if self.fault("hpack-error-as-frame-size-error") else COMPRESSION_ERROR
            raise ConnectionFault(code, "undecodable header block") from None

    # -- field validity (§8.2, §8.3)

    def check_fields(self, stream_id: int, fields: list[tuple[bytes, bytes]], *, trailers: bool) -> None:
        def malformed(why: str) -> StreamFault:
            # §8.1.1: a malformed request is a stream error of type PROTOCOL_ERROR.
            return StreamFault(stream_id, PROTOCOL_ERROR, why)

        seen_regular = False
        pseudo: dict[bytes, bytes] = {}
        for name, value in fields:
            if UPPERCASE.search(name) and not self.fault("uppercase-names-ok"):
                raise malformed("an uppercase field name")
            if (not name or INVALID_NAME_CHAR.search(name)) and not self.fault("invalid-name-chars-ok"):
                raise malformed("an invalid character in a field name")
            if INVALID_VALUE_CHAR.search(value) and not self.fault("invalid-value-chars-ok"):
                raise malformed("NUL, CR or LF in a field value")
            padded = value[:1] in (b" ", b"\t") or value[-1:] in (b" ", b"\t")
            if padded and not self.fault("value-whitespace-ok"):
                raise malformed("whitespace around a field value")
            if name.startswith(b":"):
                if trailers and not self.fault("pseudo-in-trailers-ok"):
                    raise malformed("a pseudo-header field in trailers")
                if seen_regular and not self.fault("pseudo-after-regular-ok"):
                    raise malformed("a pseudo-header field after a regular field")
                if name == b":status" and not self.fault("response-pseudo-ok"):
                    raise malformed("a response pseudo-header field in a request")
                if name not in REQUEST_PSEUDO | {b":status"} and not self.fault("unknown-pseudo-ok"):
                    raise malformed("an unknown pseudo-header field")
                if name in pseudo and not self.fault("duplicate-pseudo-ok"):
                    raise malformed("a pseudo-header field given twice")
                pseudo.setdefault(name, value)
                continue
            seen_regular = True
            if name in CONNECTION_FIELDS and not self.fault("connection-fields-ok"):
                raise malformed("a connection-specific field")
            if name == b"te" and value != b"trailers" and not self.fault("te-not-trailers-ok"):
                raise malformed("TE other than trailers")
        if trailers:
            return
        method = pseudo.get(b":method")
        if b":protocol" in pseudo:
            if not self.feature("extended-connect") and not self.fault("protocol-pseudo-ok"):
                # RFC 8441 §3: only after SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 was sent.
                raise malformed(":protocol without extended CONNECT")
            if self.feature("extended-connect") and not self.fault("extended-connect-unchecked"):
                # RFC 8441 §4: :protocol only on CONNECT, which then carries :scheme and
                # :path (and :authority) like any request.
                if method != b"CONNECT":
                    raise malformed(":protocol on a request other than CONNECT")
                if not {b":scheme", b":path", b":authority"} <= pseudo.keys():
                    raise malformed("extended CONNECT without :scheme, :path or :authority")
        if method == b"CONNECT" and b":protocol" not in pseudo:
            # §8.5: CONNECT carries :authority only; no :scheme, no :path.
            if (b":scheme" in pseudo or b":path" in pseudo) and not self.fault("connect-with-path-tunnels"):
                raise malformed("CONNECT with :scheme or :path")
            if b":authority" not in pseudo and not self.fault("missing-pseudo-ok"):
                raise malformed("CONNECT without :authority")
        elif not {b":method", b":scheme", b":path"} <= pseudo.keys() and not self.fault("missing-pseudo-ok"):
            # §8.3.1: every request has exactly one :method, :scheme and :path.
            raise malformed("a mandatory pseudo-header field is missing")
        if pseudo.get(b":path", b"x") == b"" and not self.fault("empty-path-ok"):
            raise malformed("an empty :path")
        if method is not None and not TOKEN.fullmatch(method) and not self.fault("method-token-unchecked"):
            # §8.3.1 with RFC 9110 §9.1: a method is a token.
            raise malformed(":method is not a token")
        path = pseudo.get(b":path")
        # §8.3.1: for http and https, :path is an absolute path (with its query), or "*"
        # for OPTIONS.
        path_form = not path or path.startswith(b"/") or (path == b"*" and method == b"OPTIONS")
        if method != b"CONNECT" and not path_form and not self.fault("path-form-unchecked"):
            raise malformed(":path is neither an absolute path nor * for OPTIONS")
        hosts = [v for n, v in fields if n == b"host"]
        authority = pseudo.get(b":authority")
        mismatch = authority is not None and hosts and hosts[0] != authority
        if mismatch and not self.fault("authority-host-mismatch-ok"):
            # §8.3.1: Host, when both are present, MUST carry the same value as :authority.
            raise malformed(":authority and Host differ")

    def request_headers(self, stream: Stream, fields: list[tuple[bytes, bytes]]) -> None:
        self.check_fields(stream.id, fields, trailers=False)
        stream.headers = fields
        lengths = [v for n, v in fields if n == b"content-length"]
        if lengths and not self.fault("content-length-unchecked"):
            if len(set(lengths)) != 1 or not lengths[0].isdigit():
                raise StreamFault(stream.id, PROTOCOL_ERROR, "an invalid content-length")
            stream.content_length = int(lengths[0])

    def trailers(self, stream: Stream, fields: list[tuple[bytes, bytes]], flags: int) -> None:
        if not flags & END_STREAM and not self.fault("trailers-without-end-stream-ok"):
            # §8.1: a second HEADERS frame (trailers) must end the stream.
            raise StreamFault(stream.id, PROTOCOL_ERROR, "trailers without END_STREAM")
        self.check_fields(stream.id, fields, trailers=True)
        if flags & END_STREAM:
            self.end_of_request(stream)

    def end_of_request(self, stream: Stream) -> None:
        if (
            stream.content_length is not None
            and stream.received != stream.content_length
            and not self.fault("content-length-unchecked")
        ):
            raise StreamFault(stream.id, PROTOCOL_ERROR, "DATA does not match content-length")
        stream.state = "half-closed-remote"
        self.respond(stream)

    # -- other frames

    def on_priority(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id == 0 and not self.fault("priority-on-stream-zero-ok"):
            raise ConnectionFault(PROTOCOL_ERROR, "PRIORITY on stream 0")
        if len(payload) != 5 and not self.fault("priority-length-unchecked"):
            # §6.3: a stream error of type FRAME_SIZE_ERROR.
            raise StreamFault(stream_id, FRAME_SIZE_ERROR, "PRIORITY of the wrong length")
        self_dependent = len(payload) >= 4 and int.from_bytes(payload[:4], "big") & 0x7FFF_FFFF == stream_id
        if self_dependent and stream_id:
            raise StreamFault(stream_id, PROTOCOL_ERROR, "a stream that depends on itself")
        if self.fault("priority-opens-stream") and stream_id and self.is_idle(stream_id) and stream_id % 2:
            self.open_stream(stream_id)

    def on_priority_update(self, flags: int, stream_id: int, payload: bytes) -> None:
        # https://www.rfc-editor.org/rfc/rfc9218#section-7.1: on stream 0 only, and never
        # about stream 0; both are connection errors of type PROTOCOL_ERROR.
        code = FRAME_SIZE_ERROR if self.fault("priority-update-wrong-error-code") else PROTOCOL_ERROR
        if stream_id != 0:
            raise ConnectionFault(code, "PRIORITY_UPDATE on a stream")
        if len(payload) < 4:
            raise ConnectionFault(FRAME_SIZE_ERROR, "PRIORITY_UPDATE too short")
        if int.from_bytes(payload[:4], "big") & 0x7FFF_FFFF == 0:
            raise ConnectionFault(code, "PRIORITY_UPDATE for stream 0")

    def on_rst_stream(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id == 0 and not self.fault("rst-stream-zero-ok"):
            raise ConnectionFault(PROTOCOL_ERROR, "RST_STREAM on stream 0")
        if len(payload) != 4 and not self.fault("rst-stream-length-unchecked"):
            raise ConnectionFault(FRAME_SIZE_ERROR, "RST_STREAM of the wrong length")
        if stream_id == 0:
            return
        if self.is_idle(stream_id):
            if self.fault("accept-frame-on-idle-stream"):
                return
            if self.fault("idle-rst-above-open-ok") and 0 < self.highest_client_stream < stream_id:
                return  # as the h2 library does: taken for a reset of a closed stream
            raise ConnectionFault(PROTOCOL_ERROR, "RST_STREAM on an idle stream")
        # §10.5 (CVE-2023-44487): streams opened and reset at once cost the server work the
        # client does not pay for. Every reset counts, also of a stream answered already.
        self.resets += 1
        if self.resets > RESET_CAP:
            self.flood("rapid-reset-silence", "rapid reset")
        stream = self.streams.get(stream_id)
        if stream is not None and stream.state != "closed":
            self.close(stream, "client-reset")

    def on_settings(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id != 0 and not self.fault("settings-on-stream-ok"):
            raise ConnectionFault(PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & ACK:
            if payload and not self.fault("settings-ack-with-payload-ok"):
                raise ConnectionFault(FRAME_SIZE_ERROR, "SETTINGS ACK with a payload")
            if self.fault("settings-ack-acknowledged"):
                self.write(SettingsFrame(0, flags=["ACK"]))  # §6.5: an ACK acknowledges nothing
            return
        if len(payload) % 6 and not self.fault("settings-length-unchecked"):
            raise ConnectionFault(FRAME_SIZE_ERROR, "SETTINGS length not a multiple of 6")
        self.count_control_frame()
        values: dict[int, int] = {}
        for offset in range(0, len(payload) - len(payload) % 6, 6):
            identifier, value = struct.unpack(">HI", payload[offset : offset + 6])
            if identifier in values and self.fault("first-setting-wins"):
                continue
            values[identifier] = value  # §6.5: processed in order; the last value wins
        for identifier, value in values.items():
            self.check_setting(identifier, value)
        if not self.fault("settings-ack-before-applying"):
            self.apply_settings(values)
        if not self.fault("no-settings-ack"):
            self.write(SettingsFrame(0, flags=["ACK"]))

    def check_setting(self, identifier: int, value: int) -> None:
        if identifier == ENABLE_PUSH and value > 1 and not self.fault("enable-push-unchecked"):
            raise ConnectionFault(PROTOCOL_ERROR, "SETTINGS_ENABLE_PUSH not 0 or 1")
        too_large = identifier == INITIAL_WINDOW_SIZE and value > MAX_WINDOW
        if too_large and not self.fault("window-size-setting-unchecked"):
            raise ConnectionFault(FLOW_CONTROL_ERROR, "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1")
        out_of_range = identifier == MAX_FRAME_SIZE and not MIN_FRAME_SIZE <= value <= MAX_FRAME_SIZE_LIMIT
        if out_of_range and not self.fault("max-frame-size-setting-unchecked"):
            raise ConnectionFault(PROTOCOL_ERROR, "SETTINGS_MAX_FRAME_SIZE out of range")
        not_boolean = identifier == ENABLE_CONNECT_PROTOCOL and value > 1
        if not_boolean:
            raise ConnectionFault(PROTOCOL_ERROR, "SETTINGS_ENABLE_CONNECT_PROTOCOL above 1")
        known = {HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE}
        known |= {MAX_FRAME_SIZE, MAX_HEADER_LIST_SIZE, ENABLE_CONNECT_PROTOCOL, 9}
        if identifier not in known and self.fault("unknown-setting-rejected"):
            raise ConnectionFault(PROTOCOL_ERROR, "unknown setting")

    def apply_settings(self, values: dict[int, int]) -> None:
        for identifier, value in values.items():
            if identifier == HEADER_TABLE_SIZE:
                self.encoder.header_table_size = min(value, 4096)
            elif identifier == ENABLE_PUSH:
                self.peer_enable_push = value
            elif identifier == MAX_FRAME_SIZE and MIN_FRAME_SIZE <= value <= MAX_FRAME_SIZE_LIMIT:
                self.peer_max_frame_size = value
            elif identifier == INITIAL_WINDOW_SIZE and value <= MAX_WINDOW:
                delta = value - self.peer_initial_window
                self.peer_initial_window = value
                if self.fault("ignore-initial-window-change"):
                    continue
                # §6.9.2: the change applies to every open stream; a window may go
                # negative, and one above 2^31-1 is a FLOW_CONTROL_ERROR.
                for stream in self.streams.values():
                    stream.send_window += delta
                    if stream.send_window > MAX_WINDOW:
                        raise ConnectionFault(FLOW_CONTROL_ERROR, "a stream window above 2^31-1")
                    if stream.send_window < 0 and self.fault("ignore-negative-window"):
                        stream.send_window = 0

    def count_control_frame(self) -> None:
        self.control_frames += 1
        if self.control_frames > CONTROL_FRAME_CAP:
            # §10.5: each SETTINGS and PING makes us answer; an endless stream of them is a flood.
            self.flood("control-flood-silence", "SETTINGS/PING flood")

    def flood(self, silence_fault: str, why: str) -> None:
        """https://www.rfc-editor.org/rfc/rfc9113#section-10.5: past a flood limit, a
        connection error of type ENHANCE_YOUR_CALM (with the fault: silence, as a server that
        stops reading and leaves the client hanging)."""
        if self.fault(silence_fault):
            self.phase = "closed"  # reads and writes stop; the connection stays open
            raise SilentlyIgnored(why)
        raise ConnectionFault(ENHANCE_YOUR_CALM, why)

    def on_push_promise(self, flags: int, stream_id: int, payload: bytes) -> None:
        # §8.4: a client cannot push; PUSH_PROMISE from it is a connection error.
        raise ConnectionFault(PROTOCOL_ERROR, "PUSH_PROMISE from a client")

    def on_ping(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id != 0 and not self.fault("ping-on-stream-ok"):
            raise ConnectionFault(PROTOCOL_ERROR, "PING on a stream")
        if len(payload) != 8 and not self.fault("ping-length-unchecked"):
            raise ConnectionFault(FRAME_SIZE_ERROR, "PING of the wrong length")
        if flags & ACK:
            # §6.7: a PING ACK MUST NOT be answered.
            if self.fault("ping-ack-answered"):
                self.write(PingFrame(0, flags=["ACK"], opaque_data=payload[:8].ljust(8, b"\0")))
            return
        self.count_control_frame()
        if self.fault("no-ping-ack"):
            return
        data = b"\0" * 8 if self.fault("ping-ack-wrong-payload") else payload[:8].ljust(8, b"\0")
        self.write(PingFrame(0, flags=["ACK"], opaque_data=data))

    def on_goaway(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id != 0 and not self.fault("goaway-on-stream-ok"):
            raise ConnectionFault(PROTOCOL_ERROR, "GOAWAY on a stream")
        if len(payload) < 8:
            raise ConnectionFault(FRAME_SIZE_ERROR, "GOAWAY too short")
        # §6.8: no new streams after it; the ones in progress are answered, and PING and
        # SETTINGS still are: the client closes the connection when it is done.
        self.goaway_received = True
        if self.fault("client-goaway-drops-requests"):
            # Responses written in this same read are discarded with the connection.
            self.phase = "closed"
            self.buf.clear()
            self.transport.abortConnection()

    def on_window_update(self, flags: int, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4 and not self.fault("window-update-length-unchecked"):
            raise ConnectionFault(FRAME_SIZE_ERROR, "WINDOW_UPDATE of the wrong length")
        increment = int.from_bytes(payload[:4].ljust(4, b"\0"), "big") & 0x7FFF_FFFF
        if stream_id and self.is_idle(stream_id):
            if not self.fault("accept-frame-on-idle-stream"):
                raise ConnectionFault(PROTOCOL_ERROR, "WINDOW_UPDATE on an idle stream")
            return
        if increment == 0 and not self.fault("window-update-zero-ok"):
            # §6.9: an increment of 0 is a PROTOCOL_ERROR: a connection error on stream 0,
            # a stream error otherwise.
            if stream_id == 0:
                raise ConnectionFault(PROTOCOL_ERROR, "WINDOW_UPDATE of 0")
            raise StreamFault(stream_id, PROTOCOL_ERROR, "WINDOW_UPDATE of 0")
        overflow_code = (
            FRAME_SIZE_ERROR if self.fault("window-overflow-as-frame-size-error") else FLOW_CONTROL_ERROR
        )
        if self.fault("ignore-window-update"):
            return
        if stream_id == 0:
            self.send_window += increment
            if self.send_window > MAX_WINDOW and not self.fault("ignore-window-overflow"):
                raise ConnectionFault(overflow_code, "connection window above 2^31-1")
            return
        stream = self.streams.get(stream_id)
        if stream is None or stream.state == "closed":
            return  # §6.9: WINDOW_UPDATE on a closed stream is allowed and ignored
        stream.send_window += increment
        if stream.send_window > MAX_WINDOW and not self.fault("ignore-window-overflow"):
            raise StreamFault(stream_id, overflow_code, "stream window above 2^31-1")

    # -- responses

    def respond(self, stream: Stream) -> None:
        method = target = ""
        fields: list[tuple[str, str]] = []
        for name, value in stream.headers:
            if name == b":method":
                method = value.decode("latin-1")
            elif name == b":path":
                target = value.decode("latin-1")
            elif not name.startswith(b":"):
                fields.append((name.decode("latin-1"), value.decode("latin-1")))
        if self.fault("method-token-unchecked") and not TOKEN.fullmatch(method.encode("latin-1")):
            method = "GET"  # "GE T" read as GET: the malformed request is served
        path = target if target == "*" else target.split("?", 1)[0]
        if not path.startswith("/") and path != "*":
            path = "/" + path  # reached only with empty-path-ok or path-form-unchecked
        if path == "/index.html":
            path = "/"  # the index document
        request = resources.Request(
            method=method,
            target=target,
            path=path,
            version="HTTP/2",
            headers=tuple(fields),
            body=bytes(stream.body),
        )
        response = resources.respond(request)
        if method == "CONNECT" and self.fault("connect-with-path-tunnels"):
            response = resources.Response(status=200)
        stream.head = method == "HEAD"
        headers: list[tuple[bytes, bytes]] = []
        if not self.fault("no-status"):
            headers.append((b":status", str(response.status).encode()))
        headers += [
            (b"date", email.utils.formatdate(usegmt=True).encode()),
            (b"server", b"faulty-h2"),
        ]
        for name, value in response.headers:
            encoded = name.encode() if self.fault("uppercase-response-names") else name.lower().encode()
            headers.append((encoded, value.encode("latin-1")))
        if self.fault("connection-field-in-response"):
            headers.append((b"connection", b"keep-alive"))
        has_content = response.status not in (204, 304)
        if has_content:
            headers.append((b"content-length", str(len(response.body)).encode()))
        body = response.body if has_content and (not stream.head or self.fault("head-with-body")) else b""
        if self.fault("push-despite-disabled") and self.peer_enable_push == 0:
            self.write(
                PushPromiseFrame(
                    stream.id,
                    promised_stream_id=2,
                    data=self.encoder.encode(
                        [(b":method", b"GET"), (b":scheme", b"http"), (b":authority", b"x"), (b":path", b"/")]
                    ),
                    flags=["END_HEADERS"],
                )
            )
        block = self.encoder.encode(headers)
        self.write_header_block(stream.id, block, end_stream=not body)
        stream.pending = body
        if body:
            self.waiting[stream.id] = stream
        if not body:
            self.finish(stream)

    def write_header_block(self, stream_id: int, block: bytes, *, end_stream: bool) -> None:
        size = self.peer_max_frame_size
        first, rest = block[:size], block[size:]
        flags = ["END_STREAM"] if end_stream else []
        if not rest:
            flags.append("END_HEADERS")
        self.write(HeadersFrame(stream_id, data=first, flags=flags))
        while rest:
            piece, rest = rest[:size], rest[size:]
            self.write(ContinuationFrame(stream_id, data=piece, flags=[] if rest else ["END_HEADERS"]))

    def flush_pending(self) -> None:
        """Send what the windows allow of every response waiting for window (§6.9)."""
        for stream in list(self.waiting.values()):
            if not stream.pending or stream.state == "closed":
                del self.waiting[stream.id]
                continue
            while stream.pending and stream.state != "closed":
                frame_cap = self.peer_max_frame_size
                if self.fault("frames-over-peer-max-frame-size"):
                    frame_cap *= 2  # §4.2: MUST NOT exceed the receiver's SETTINGS_MAX_FRAME_SIZE
                if self.fault("ignore-flow-control"):
                    size = min(len(stream.pending), frame_cap)
                else:
                    size = min(len(stream.pending), frame_cap, stream.send_window, self.send_window)
                if size <= 0:
                    break
                chunk, stream.pending = stream.pending[:size], stream.pending[size:]
                stream.send_window -= size
                self.send_window -= size
                flags = [] if stream.pending else ["END_STREAM"]
                self.write(DataFrame(stream.id, data=chunk, flags=flags))
                if not stream.pending:
                    self.finish(stream)

    def finish(self, stream: Stream) -> None:
        """Our response is complete: the stream closes (it was half-closed remote)."""
        self.close(stream, "end")
        if self.fault("shutdown-disowns-answered-streams") and self.phase != "closed":
            self.write(GoAwayFrame(0, last_stream_id=0, error_code=NO_ERROR))
            self.phase = "closed"
            self.buf.clear()
            self.transport.loseConnection()

    # -- errors

    def stream_error(self, stream_id: int, code: int) -> None:
        stream = self.streams.get(stream_id)
        if stream is not None:
            self.close(stream, "our-reset")
        self.write(RstStreamFrame(stream_id, error_code=code))

    def connection_error(self, code: int) -> None:
        """§5.4.1: GOAWAY with the last stream processed and the error, then close."""
        if self.phase == "closed":
            return
        if not self.fault("no-goaway-on-error"):
            last = 0 if self.fault("goaway-wrong-last-stream") else self.highest_client_stream
            self.write(GoAwayFrame(0, last_stream_id=last, error_code=code))
        self.phase = "closed"
        self.buf.clear()
        transport = self.transport
        # Keep reading (and discarding) a moment so that unread client bytes do not make the
        # kernel send a reset before the client has read the GOAWAY.
        lose_write = getattr(transport, "loseWriteConnection", None)
        if lose_write is None:
            transport.loseConnection()
            return
        lose_write()
        self.linger = self.reactor.callLater(LINGER_SECONDS, transport.loseConnection)


def listen(
    reactor: Any, faults: Iterable[str] = (), host: str = "127.0.0.1", port: int = 0
) -> IListeningPort:
    """Start the server on ``host:port`` (0: a free port) with the given faults switched on."""
    chosen = fault_matrix.check_faults(faults, [*FAULTS, *FEATURES])
    listening: IListeningPort = fault_matrix.listen_tcp(
        reactor, lambda: FaultyH2(chosen, reactor), host=host, port=port
    )
    return listening


def main(argv: list[str] | None = None) -> int:
    return fault_matrix.serve(
        argv,
        description=__doc__ or "",
        faults=FAULTS,
        listen=listen,
        label="faulty HTTP/2 server",
        url="h2c://{host}:{port}/",
        default_port=18082,
        configurations=CONFIGURATIONS,
    )


if __name__ == "__main__":
    sys.exit(main())
