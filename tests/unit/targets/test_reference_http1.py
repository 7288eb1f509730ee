"""The reference target's HTTP/1.1 server, over raw sockets."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator

import pytest
from twisted.internet.error import CannotListenError

from conformance.targets.http1 import Rejection, parse_head
from conformance.targets.reference import start_reference_target


@pytest.fixture(scope="module")
def reference(reactor_thread) -> Iterator[tuple[str, int]]:  # type: ignore[no-untyped-def]
    target = reactor_thread.call(start_reference_target, reactor_thread.reactor)
    url = target.urls["h1"]
    port = int(url.rsplit(":", 1)[1].strip("/"))
    yield "127.0.0.1", port
    reactor_thread.call(target.stop)


def exchange(address: tuple[str, int], data: bytes, *, until_close: bool = False, wait: float = 0.3) -> bytes:
    """Send ``data``; read until the connection closes (``until_close``) or ``wait`` seconds
    pass without anything new."""
    with socket.create_connection(address, timeout=3) as sock:
        sock.sendall(data)
        sock.settimeout(3 if until_close else wait)
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return received
            if not chunk:
                return received
            received += chunk


def statuses(raw: bytes) -> list[int]:
    """The status codes of the responses in ``raw`` (a status line may follow a body)."""
    return [int(code) for code in re.findall(rb"HTTP/1\.1 ([0-9]{3}) ", raw)]


def test_get_serves_the_resource_with_validators_date_and_server(reference) -> None:  # type: ignore[no-untyped-def]
    raw = exchange(reference, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    for name in (b'ETag: "v1"', b"Last-Modified: ", b"Date: ", b"Server: conformance-reference"):
        assert name in head
    assert f"Content-Length: {len(body)}".encode() in head


def test_head_has_the_headers_and_no_body(reference) -> None:  # type: ignore[no-untyped-def]
    raw = exchange(reference, b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", until_close=True)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"Content-Length: 29" in head and body == b""


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (b"If-None-Match: *\r\n", 304),
        (b'If-None-Match: "x", W/"v1"\r\n', 304),
        (b'If-None-Match: "x"\r\n', 200),
        (b'If-Match: "x"\r\n', 412),
        (b'If-Match: "v1"\r\n', 200),
        (b"If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n", 304),
        (b"If-Modified-Since: Sat, 05 Nov 1994 08:49:37 GMT\r\n", 200),
        (b"If-Unmodified-Since: Sat, 05 Nov 1994 08:49:37 GMT\r\n", 412),
        (b'If-None-Match: "x"\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n', 200),
    ],
)
def test_conditional_requests(reference, headers: bytes, status: int) -> None:  # type: ignore[no-untyped-def]
    raw = exchange(reference, b"GET / HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    assert statuses(raw) == [status]
    if status == 304:
        assert raw.endswith(b"\r\n\r\n") and b"Content-Length" not in raw


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        (b"OPTIONS * HTTP/1.1", 204),
        (b"DELETE / HTTP/1.1", 405),
        (b"FROBNICATE / HTTP/1.1", 501),
        (b"get / HTTP/1.1", 501),
        (b"GET /nowhere HTTP/1.1", 404),
        (b"GET / HTTP/2.0", 505),
        (b"GET / HTTP/1.2", 200),
        (b"GET / http/1.1", 400),
        (b"GET  / HTTP/1.1", 400),
        (b"GET * HTTP/1.1", 400),
    ],
)
def test_methods_versions_and_targets(reference, request_line: bytes, status: int) -> None:  # type: ignore[no-untyped-def]
    raw = exchange(reference, request_line + b"\r\nHost: x\r\n\r\n")
    assert statuses(raw) == [status]


def test_options_lists_allowed_methods_without_a_length(reference) -> None:  # type: ignore[no-untyped-def]
    raw = exchange(reference, b"OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"Allow: GET, HEAD, POST, PUT, OPTIONS" in raw and b"Content-Length" not in raw


@pytest.mark.parametrize(
    "head",
    [
        b"GET / HTTP/1.1\r\n\r\n",  # no Host
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: user@x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",  # obs-fold
        b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n",  # bare CR
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
    ],
)
def test_malformed_requests_get_400_and_a_close(reference, head: bytes) -> None:  # type: ignore[no-untyped-def]
    raw = exchange(reference, head + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", until_close=True)
    assert statuses(raw) == [400]
    assert b"Connection: close" in raw


def test_ipv6_literal_host_and_absolute_form(reference) -> None:  # type: ignore[no-untyped-def]
    raw = exchange(reference, b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n")
    assert statuses(raw) == [200]
    raw = exchange(reference, b"GET http://elsewhere/ HTTP/1.1\r\nHost: x\r\n\r\n")
    assert statuses(raw) == [200]


def test_keep_alive_pipelining_in_order_and_leading_empty_lines(reference) -> None:  # type: ignore[no-untyped-def]
    requests = (
        b"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5 ; ext = "v"\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n'
        b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    raw = exchange(reference, requests, until_close=True)
    assert statuses(raw) == [200, 200, 404, 200]
    assert b"received 5 bytes" in raw


def test_http10_closes_unless_asked_and_answers_http11(reference) -> None:  # type: ignore[no-untyped-def]
    raw = exchange(reference, b"GET / HTTP/1.0\r\n\r\n", until_close=True)
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n")


def test_transfer_codings(reference) -> None:  # type: ignore[no-untyped-def]
    for value, status in ((b"gzip", 501), (b"chunked, gzip", 400), (b"chunked, chunked", 400)):
        raw = exchange(reference, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + value + b"\r\n\r\n")
        assert statuses(raw) == [status], value
    raw = exchange(
        reference, b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", until_close=True
    )
    assert statuses(raw) == [400]


def test_expect_100_continue_before_the_body(reference) -> None:  # type: ignore[no-untyped-def]
    with socket.create_connection(reference, timeout=3) as sock:
        sock.sendall(b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        interim = sock.recv(65536)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n")
        sock.sendall(b"hello")
        final = sock.recv(65536)
        assert final.startswith(b"HTTP/1.1 200 OK\r\n") and final.endswith(b"received 5 bytes\n")
    raw = exchange(reference, b"GET / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n")
    assert statuses(raw) == [417]


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 10000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 200 + b"\r\n", 431),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n", 413),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000005\r\n", 413),
    ],
)
def test_limits(reference, data: bytes, status: int) -> None:  # type: ignore[no-untyped-def]
    raw = exchange(reference, data, until_close=True)
    assert statuses(raw) == [status]


def test_echo_reflects_the_parsed_request(reference) -> None:  # type: ignore[no-untyped-def]
    raw = exchange(
        reference, b"POST /echo?q=1 HTTP/1.1\r\nHost: x\r\nX-Thing:  v \r\nContent-Length: 3\r\n\r\nabc"
    )
    document = json.loads(raw.partition(b"\r\n\r\n")[2])
    assert document == {
        "method": "POST",
        "target": "/echo?q=1",
        "version": "HTTP/1.1",
        "headers": [["Host", "x"], ["X-Thing", "v"], ["Content-Length", "3"]],
        "body": "abc",
    }


def test_a_short_body_is_waited_for(reference) -> None:  # type: ignore[no-untyped-def]
    raw = exchange(reference, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello", wait=0.5)
    assert raw == b""


def test_parse_head_is_pure_and_strict() -> None:
    head = parse_head(b"GET /a?b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: CHUNKED")
    assert (head.path, head.chunked, head.minor) == ("/a", True, 1)
    with pytest.raises(Rejection) as raised:
        parse_head(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6")
    assert raised.value.status == 400


def test_stop_closes_open_connections_and_the_port(reactor_thread) -> None:  # type: ignore[no-untyped-def]
    target = reactor_thread.call(start_reference_target, reactor_thread.reactor)
    port = int(target.urls["h1"].rsplit(":", 1)[1].strip("/"))
    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        reactor_thread.call(target.stop)
        deadline = time.monotonic() + 3
        closed = False
        while time.monotonic() < deadline and not closed:
            try:
                closed = sock.recv(65536) == b""
            except ConnectionResetError:
                closed = True
        assert closed
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_a_port_in_use_is_an_error(reactor_thread, reference) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CannotListenError):
        reactor_thread.call(start_reference_target, reactor_thread.reactor, port=reference[1])
