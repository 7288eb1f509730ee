"""The reference target's HTTP/2 server: exchanges with the ``h2`` library as the client, and
raw frames where a client library would refuse to send what the test needs."""

from __future__ import annotations

import json
import socket
import ssl
import struct
import time
from collections.abc import Iterator
from typing import Any

import h2.config
import h2.connection
import h2.events
import hpack
import pytest
from h2.errors import ErrorCodes

from conformance.targets.http2 import RESET_CAP, FrameFilter, parse_h2c_upgrade
from conformance.targets.reference import start_reference_target

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
REQUEST = [(":method", "GET"), (":scheme", "http"), (":authority", "localhost"), (":path", "/")]


@pytest.fixture(scope="module")
def target(reactor_thread: Any) -> Iterator[Any]:
    running = reactor_thread.call(start_reference_target, reactor_thread.reactor)
    yield running
    reactor_thread.call(running.stop)


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].strip("/"))


class Client:
    """An h2 client connection over a blocking socket; events are gathered until a deadline."""

    def __init__(self, sock: socket.socket | ssl.SSLSocket) -> None:
        self.sock = sock
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding=None)
        )
        self.conn.initiate_connection()
        self.flush()
        self.events: list[h2.events.Event] = []
        self.closed = False

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def pump(self, until: Any = None, timeout: float = 3.0) -> list[h2.events.Event]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.closed:
            if until is not None and until(self.events):
                break
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                self.closed = True
                break
            if not data:
                self.closed = True
                break
            for event in self.conn.receive_data(data):
                self.events.append(event)
                if isinstance(event, h2.events.DataReceived) and event.flow_controlled_length:
                    self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            self.flush()
        return self.events

    def request(self, headers: list[tuple[str, str]], body: bytes = b"", stream_id: int | None = None) -> int:
        sid = stream_id or self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, headers, end_stream=not body)
        if body:
            self.conn.send_data(sid, body, end_stream=True)
        self.flush()
        return sid

    def response(self, sid: int) -> tuple[dict[bytes, bytes], bytes]:
        self.pump(lambda evs: any(isinstance(e, h2.events.StreamEnded) and e.stream_id == sid for e in evs))
        headers: dict[bytes, bytes] = {}
        body = b""
        for event in self.events:
            if isinstance(event, h2.events.ResponseReceived) and event.stream_id == sid:
                headers = dict(event.headers)
            elif isinstance(event, h2.events.DataReceived) and event.stream_id == sid:
                body += event.data
        return headers, body


class Raw:
    """Frames written by hand, frames read back as (type, flags, stream, payload)."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=3)
        self.buf = b""
        self.encoder = hpack.Encoder()
        self.closed = False

    def send(self, frame_type: int, flags: int, stream_id: int, payload: bytes = b"") -> Raw:
        header = struct.pack(">I", len(payload))[1:] + bytes([frame_type, flags])
        self.sock.sendall(header + struct.pack(">I", stream_id) + payload)
        return self

    def open(self) -> Raw:
        self.sock.sendall(PREFACE)
        return self.send(4, 0, 0)

    def headers(self, stream_id: int, fields: list[tuple[str, str]], flags: int = 0x5) -> Raw:
        return self.send(1, flags, stream_id, self.encoder.encode(fields))

    def frames(self, timeout: float = 2.0) -> list[tuple[int, int, int, bytes]]:
        """Every frame until the connection closes or ``timeout`` passes in silence."""
        found = []
        self.sock.settimeout(timeout)
        while True:
            while len(self.buf) >= 9:
                length = int.from_bytes(self.buf[:3], "big")
                if len(self.buf) < 9 + length:
                    break
                found.append(
                    (self.buf[3], self.buf[4], int.from_bytes(self.buf[5:9], "big"), self.buf[9 : 9 + length])
                )
                self.buf = self.buf[9 + length :]
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                return found
            except ConnectionResetError:
                data = b""
            if not data:
                self.closed = True
                return found
            self.buf += data

    def goaway(self) -> int | None:
        """The error code of the GOAWAY received, if any."""
        for frame_type, _, _, payload in self.frames():
            if frame_type == 7:
                return int.from_bytes(payload[4:8], "big")
        return None

    def rst_stream(self, stream_id: int) -> int | None:
        for frame_type, _, sid, payload in self.frames():
            if frame_type == 3 and sid == stream_id:
                return int.from_bytes(payload, "big")
        return None


@pytest.fixture
def h2c(target: Any) -> tuple[str, int]:
    return "127.0.0.1", port_of(target.urls["h2"])


def test_urls_name_every_suite(target: Any) -> None:
    assert set(target.urls) == {"h1", "h2", "ws", "ws-h2"}
    assert target.suites == {"ws-h2": ("ws",)}  # the WebSocket suite over HTTP/2 (RFC 8441)
    assert target.urls["h2"].startswith("h2c://127.0.0.1:")
    assert target.tls_urls["h2"].startswith("https://127.0.0.1:")
    assert target.tls_urls["h1"] == target.tls_urls["h2"]  # one TLS port, ALPN decides


def test_get_over_h2c(h2c: tuple[str, int]) -> None:
    client = Client(socket.create_connection(h2c, timeout=3))
    headers, body = client.response(client.request(REQUEST))
    assert headers[b":status"] == b"200"
    assert headers[b"etag"] == b'"v1"'
    assert headers[b"content-length"] == str(len(body)).encode()
    assert body == b"conformance reference target\n"
    # The server's SETTINGS: no push, a concurrency limit.
    settings = [e for e in client.events if isinstance(e, h2.events.RemoteSettingsChanged)][0]
    assert settings.changed_settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS].new_value == 100


def test_get_over_tls_with_alpn(target: Any) -> None:
    context = ssl.create_default_context(cadata=target.certificate.certificate_pem.decode())
    context.set_alpn_protocols(["h2"])
    raw = socket.create_connection(("127.0.0.1", port_of(target.tls_urls["h2"])), timeout=3)
    sock = context.wrap_socket(raw, server_hostname="127.0.0.1")
    assert sock.selected_alpn_protocol() == "h2"
    client = Client(sock)
    headers, body = client.response(client.request(REQUEST))
    assert headers[b":status"] == b"200"
    assert body == b"conformance reference target\n"


def test_tls_serves_http11_to_a_client_without_h2(target: Any) -> None:
    context = ssl.create_default_context(cadata=target.certificate.certificate_pem.decode())
    context.set_alpn_protocols(["http/1.1"])
    raw = socket.create_connection(("127.0.0.1", port_of(target.tls_urls["h1"])), timeout=3)
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
        assert sock.selected_alpn_protocol() == "http/1.1"
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert answer.endswith(b"conformance reference target\n")


@pytest.mark.parametrize(
    ("method", "path", "status", "has_body"),
    [
        ("HEAD", "/", "200", False),
        ("GET", "/missing", "404", True),
        ("DELETE", "/", "405", True),
        ("FOO", "/", "501", True),
        ("OPTIONS", "/", "204", False),
    ],
)
def test_resources_are_the_http1_ones(
    h2c: tuple[str, int], method: str, path: str, status: str, has_body: bool
) -> None:
    client = Client(socket.create_connection(h2c, timeout=3))
    request = [(":method", method), (":scheme", "http"), (":authority", "localhost"), (":path", path)]
    headers, body = client.response(client.request(request))
    assert headers[b":status"] == status.encode()
    assert bool(body) == has_body
    if method == "HEAD":
        assert headers[b"content-length"] == b"29"


def test_conditional_get(h2c: tuple[str, int]) -> None:
    client = Client(socket.create_connection(h2c, timeout=3))
    headers, body = client.response(client.request([*REQUEST, ("if-none-match", '"v1"')]))
    assert headers[b":status"] == b"304"
    assert body == b""


def test_echo_reflects_a_large_body_under_flow_control(h2c: tuple[str, int]) -> None:
    client = Client(socket.create_connection(h2c, timeout=3))
    body = bytes(range(256)) * 1024  # 256 KiB: four times the initial window
    request = [(":method", "POST"), (":scheme", "http"), (":authority", "localhost"), (":path", "/echo")]
    sid = client.conn.get_next_available_stream_id()
    client.conn.send_headers(sid, request)
    sent = 0
    deadline = time.monotonic() + 10
    while sent < len(body) and time.monotonic() < deadline:
        window = min(client.conn.local_flow_control_window(sid), client.conn.max_outbound_frame_size)
        if window == 0:
            client.pump(lambda evs: client.conn.local_flow_control_window(sid) > 0, timeout=1)
            continue
        chunk = body[sent : sent + window]
        sent += len(chunk)
        client.conn.send_data(sid, chunk, end_stream=sent == len(body))
        client.flush()
    headers, answer = client.response(sid)
    assert headers[b":status"] == b"200"
    assert json.loads(answer)["body"] == body.decode("latin-1")


def test_small_client_window_gets_data_one_octet_at_a_time(h2c: tuple[str, int]) -> None:
    client = Client(socket.create_connection(h2c, timeout=3))
    client.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1})
    client.flush()
    client.pump(lambda evs: any(isinstance(e, h2.events.SettingsAcknowledged) for e in evs))
    sid = client.request(REQUEST)
    client.pump(lambda evs: any(isinstance(e, h2.events.DataReceived) for e in evs), timeout=2)
    data = [e for e in client.events if isinstance(e, h2.events.DataReceived)]
    assert [len(e.data) for e in data] == [1]
    client.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 65535})
    client.flush()
    headers, body = client.response(sid)  # a larger window: the rest comes
    assert body == b"conformance reference target\n"


def test_invalid_preface_is_a_protocol_error(h2c: tuple[str, int]) -> None:
    raw = Raw(h2c)
    raw.sock.sendall(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n")
    assert raw.goaway() == ErrorCodes.PROTOCOL_ERROR


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ((0, 0x1, 0, b"x"), ErrorCodes.PROTOCOL_ERROR),  # DATA on stream 0
        ((0, 0x1, 1, b"x"), ErrorCodes.PROTOCOL_ERROR),  # DATA on an idle stream
        ((4, 0x1, 0, b"\0\0\0\0\0\0"), ErrorCodes.FRAME_SIZE_ERROR),  # SETTINGS ACK with payload
        ((4, 0, 1, b""), ErrorCodes.PROTOCOL_ERROR),  # SETTINGS on a stream
        ((4, 0, 0, b"\0\x02\0\0\0\x02"), ErrorCodes.PROTOCOL_ERROR),  # ENABLE_PUSH = 2
        ((4, 0, 0, b"\0\x04\x80\0\0\0"), ErrorCodes.FLOW_CONTROL_ERROR),  # INITIAL_WINDOW_SIZE 2^31
        ((6, 0, 0, b"1234567"), ErrorCodes.FRAME_SIZE_ERROR),  # PING of 7 octets
        ((8, 0, 0, b"\0\0\0\0"), ErrorCodes.PROTOCOL_ERROR),  # WINDOW_UPDATE of 0
        ((8, 0, 0, b"\x7f\xff\xff\xff"), ErrorCodes.FLOW_CONTROL_ERROR),  # window overflow
        ((9, 0x4, 1, b""), ErrorCodes.PROTOCOL_ERROR),  # CONTINUATION without HEADERS
        ((5, 0x4, 1, b"\0\0\0\x02"), ErrorCodes.PROTOCOL_ERROR),  # PUSH_PROMISE from a client
        ((3, 0, 1, b"\0\0\0\0"), ErrorCodes.PROTOCOL_ERROR),  # RST_STREAM on an idle stream
    ],
)
def test_connection_errors(h2c: tuple[str, int], frame: tuple[int, int, int, bytes], code: int) -> None:
    raw = Raw(h2c).open()
    raw.send(*frame)
    assert raw.goaway() == code


def test_oversized_frame_is_a_frame_size_error(h2c: tuple[str, int]) -> None:
    raw = Raw(h2c).open()
    raw.send(0, 0, 1, b"\0" * 16385)
    assert raw.goaway() == ErrorCodes.FRAME_SIZE_ERROR


def test_hpack_error_is_a_compression_error(h2c: tuple[str, int]) -> None:
    raw = Raw(h2c).open()
    raw.send(1, 0x5, 1, b"\xbe")  # index 62: beyond the static table, and the dynamic one is empty
    assert raw.goaway() == ErrorCodes.COMPRESSION_ERROR


def test_lower_stream_id_is_a_protocol_error(h2c: tuple[str, int]) -> None:
    raw = Raw(h2c).open()
    raw.headers(5, REQUEST)
    raw.headers(3, REQUEST)
    assert raw.goaway() == ErrorCodes.PROTOCOL_ERROR


@pytest.mark.parametrize(
    "fields",
    [
        [*REQUEST, ("X-Upper", "1")],
        [*REQUEST, ("connection", "close")],
        [*REQUEST, ("te", "gzip")],
        [*REQUEST, ("x", "a\rb")],
        [*REQUEST, ("x", " padded")],
        [("x", "1"), *REQUEST],
        [*REQUEST, (":unknown", "1")],
        REQUEST[1:],
        [*REQUEST[:3], (":path", "")],
        [*REQUEST, (":protocol", "websocket")],
        [*REQUEST, ("host", "other")],
    ],
)
def test_malformed_requests_are_refused(h2c: tuple[str, int], fields: list[tuple[str, str]]) -> None:
    raw = Raw(h2c).open()
    raw.headers(1, fields)
    frames = raw.frames()
    errors = [(t, sid) for t, _, sid, _ in frames if t in (3, 7)]
    assert errors, "a malformed request is a stream error (RST_STREAM) or a connection error"
    assert not any(t == 1 and sid == 1 for t, _, sid, _ in frames), "and gets no response"


def test_streams_beyond_the_limit_are_refused(h2c: tuple[str, int]) -> None:
    raw = Raw(h2c).open()
    for sid in range(1, 2 * 101, 2):  # 101 streams left open (no END_STREAM)
        raw.headers(sid, REQUEST, flags=0x4)
    assert raw.rst_stream(201) == ErrorCodes.REFUSED_STREAM
    raw.send(6, 0, 0, b"12345678")  # and the connection lives on
    assert any(t == 6 and f & 1 for t, f, _, _ in raw.frames())


def test_rapid_reset_ends_the_connection(h2c: tuple[str, int]) -> None:
    raw = Raw(h2c).open()
    for sid in range(1, 2 * 300, 2):
        raw.headers(sid, REQUEST, flags=0x4)
        raw.send(3, 0, sid, b"\0\0\0\x08")
    assert raw.goaway() == ErrorCodes.ENHANCE_YOUR_CALM


def test_ping_is_answered_with_its_payload(h2c: tuple[str, int]) -> None:
    raw = Raw(h2c).open()
    raw.send(6, 0, 0, b"abcdefgh")
    assert (6, 1, 0, b"abcdefgh") in raw.frames(timeout=0.5)


def test_stop_closes_open_connections(reactor_thread: Any) -> None:
    running = reactor_thread.call(start_reference_target, reactor_thread.reactor)
    sock = socket.create_connection(("127.0.0.1", port_of(running.urls["h2"])), timeout=3)
    sock.sendall(PREFACE)
    time.sleep(0.1)
    reactor_thread.call(running.stop)
    raw = Raw.__new__(Raw)
    raw.sock, raw.buf, raw.closed = sock, b"", False
    assert raw.goaway() == ErrorCodes.NO_ERROR  # a graceful GOAWAY
    assert raw.closed


# -- the frame filter in front of h2 (sans-IO)


def admitted(*frames: tuple[int, int, int, bytes]) -> list[bytes | None]:
    """What the filter passes to h2 of each frame, after the client's first SETTINGS."""
    check = FrameFilter()
    return [check.admit(*frame) for frame in ((4, 0, 0, b""), *frames)][1:]


def test_filter_passes_ordinary_frames_through() -> None:
    assert admitted((6, 0, 0, b"12345678"), (1, 0x5, 1, b"\x82")) == [b"12345678", b"\x82"]


@pytest.mark.parametrize(
    "first",
    [(6, 0, 0, b"12345678"), (4, 1, 0, b"")],  # a PING, a SETTINGS ACK: not the client's SETTINGS
)
def test_filter_requires_settings_first(first: tuple[int, int, int, bytes]) -> None:
    with pytest.raises(h2.exceptions.ProtocolError):
        FrameFilter().admit(*first)


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ((4, 1, 0, b"\0" * 6), ErrorCodes.FRAME_SIZE_ERROR),  # SETTINGS ACK with a payload
        ((7, 0, 1, b"\0" * 8), ErrorCodes.PROTOCOL_ERROR),  # GOAWAY on a stream
        ((7, 0, 0, b"\0" * 7), ErrorCodes.FRAME_SIZE_ERROR),  # GOAWAY too short
        ((0x10, 0, 1, b"\0\0\0\x01u=1"), ErrorCodes.PROTOCOL_ERROR),  # PRIORITY_UPDATE on a stream
        ((0x10, 0, 0, b"\0\0\0\0u=1"), ErrorCodes.PROTOCOL_ERROR),  # about stream 0
    ],
)
def test_filter_refuses(frame: tuple[int, int, int, bytes], code: int) -> None:
    with pytest.raises(h2.exceptions.ProtocolError) as raised:
        admitted(frame)
    assert raised.value.error_code == code


def test_filter_hides_goaway_and_altsvc_and_clears_the_increment_reserved_bit() -> None:
    frames = [(7, 0, 0, b"\0" * 8), (0xA, 0, 1, b"junk"), (8, 0, 0, b"\x80\0\0\x01")]
    assert admitted(*frames) == [None, None, b"\0\0\0\x01"]


def test_filter_leaves_frames_inside_a_field_block_to_h2() -> None:
    # h2 answers anything but CONTINUATION inside a field block with PROTOCOL_ERROR itself.
    assert admitted((1, 0, 1, b"\x82"), (7, 0, 0, b"\0" * 8)) == [b"\x82", b"\0" * 8]


def test_filter_counts_floods() -> None:
    request = (1, 0x5, 1, b"\x82\x86\x84")
    with pytest.raises(h2.exceptions.DenialOfServiceError):
        admitted(request, *[(3, 0, 1, b"\0\0\0\x08")] * (RESET_CAP + 1))


def test_filter_rejects_rst_stream_on_an_idle_stream_above_an_opened_one() -> None:
    """RFC 9113 §6.4 and §5.1.1: after a request on stream 1, stream 3 is idle; h2 would take
    an RST_STREAM on it for the reset of a closed stream."""
    request = (1, 0x5, 1, b"\x82\x86\x84")
    admitted(request, (3, 0, 1, b"\0\0\0\x08"))  # the request's own stream: not idle
    with pytest.raises(h2.exceptions.ProtocolError, match="idle"):
        admitted(request, (3, 0, 3, b"\0\0\0\x08"))


# -- the h2c upgrade (RFC 7540 §3.2) on the plain port

UPGRADE = (
    b"GET /echo?x HTTP/1.1\r\nHost: example\r\nConnection: Upgrade, HTTP2-Settings\r\n"
    b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\nX-Test: 1\r\n\r\n"
)


def test_h2c_upgrade_is_answered_on_stream_1(h2c: tuple[str, int]) -> None:
    raw = Raw(h2c)
    raw.sock.sendall(UPGRADE)
    raw.sock.settimeout(3)
    head = b""
    while b"\r\n\r\n" not in head:
        head += raw.sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101 ")
    raw.sock.sendall(PREFACE + b"\0\0\0\x04\0\0\0\0\0")
    frames = raw.frames(timeout=1)
    assert frames[0][0] == 4 and not frames[0][1] & 1  # our SETTINGS comes first
    body = b"".join(payload for t, _, sid, payload in frames if t == 0 and sid == 1)
    echoed = json.loads(body)
    assert (echoed["method"], echoed["target"]) == ("GET", "/echo?x")
    assert ["x-test", "1"] in echoed["headers"]
    assert not any(t == 7 for t, _, _, _ in frames)  # no GOAWAY: the connection goes on


@pytest.mark.parametrize(
    ("head", "parsed"),
    [
        (UPGRADE[:30], None),  # not complete yet
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", False),  # no Upgrade: h2c
        (UPGRADE.replace(b"HTTP2-Settings: AAMAAABkAAQAAP__\r\n", b""), False),  # no HTTP2-Settings
        (UPGRADE.replace(b"X-Test: 1", b"Content-Length: 3"), False),  # a body
        (b"\x16\x03\x01\x02\x00", False),  # TLS on the plain port
    ],
)
def test_parse_h2c_upgrade(head: bytes, parsed: object) -> None:
    assert parse_h2c_upgrade(head) == parsed
