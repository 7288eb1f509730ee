"""The reference target's HTTP/1.1 server: raw-socket exchanges, and its sans-IO reader."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from twisted.internet.error import CannotListenError

from conformance.codecs.http1 import Response, ResponseParser
from conformance.targets import resources
from conformance.targets.http1 import (
    BodyData,
    EndOfRequest,
    Rejection,
    RequestHead,
    RequestReader,
    parse_head,
    valid_authority,
)
from conformance.targets.reference import start_reference_target
from conformance.targets.resources import entity_tags, parse_http_date

IMF_FIXDATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$")
GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture(scope="module")
def target(reactor_thread: Any) -> Iterator[Any]:
    running = reactor_thread.call(start_reference_target, reactor_thread.reactor)
    yield running
    reactor_thread.call(running.stop)


@pytest.fixture
def reference(target: Any) -> tuple[str, int]:
    return "127.0.0.1", port_of(target)


def port_of(target: Any) -> int:
    return int(target.urls["h1"].rsplit(":", 1)[1].strip("/"))


class Client:
    """One connection; responses are read with the harness's own (strict) response parser."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=3)
        self.parser = ResponseParser(body_cap=1 << 20)
        self.pending: list[Response] = []
        self.eof = False

    def send(self, data: bytes, *methods: str) -> Client:
        """Send ``data``; ``methods`` are the methods of the requests in it, when one is HEAD."""
        for method in methods:
            self.parser.expect_response_to(method)
        self.sock.sendall(data)
        return self

    def _read(self, timeout: float) -> bool:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 16)
        except TimeoutError:
            return False
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            events = self.parser.feed_eof()
        else:
            events = self.parser.feed(data)
        self.pending += [event for event in events if isinstance(event, Response)]
        return True

    def responses(self, count: int = 1) -> list[Response]:
        """The next ``count`` final responses (fewer if the connection closes first), with
        any interim ones before them."""
        deadline = time.monotonic() + 3
        while sum(not r.is_interim for r in self.pending) < count and not self.eof:
            if not self._read(max(0.01, deadline - time.monotonic())) and time.monotonic() > deadline:
                break
        taken: list[Response] = []
        while self.pending and sum(not r.is_interim for r in taken) < count:
            taken.append(self.pending.pop(0))
        return taken

    def next(self) -> Response:
        """The next response, interim or final."""
        deadline = time.monotonic() + 3
        while not self.pending and not self.eof and time.monotonic() < deadline:
            self._read(max(0.01, deadline - time.monotonic()))
        return self.pending.pop(0)

    def response(self) -> Response:
        [response] = [r for r in self.responses(1) if not r.is_interim]
        return response

    def closed(self, wait: float = 2.0) -> bool:
        """Whether the server closes the connection (with nothing more sent) within ``wait``."""
        deadline = time.monotonic() + wait
        while not self.eof and time.monotonic() < deadline:
            self._read(max(0.01, deadline - time.monotonic()))
        return self.eof and not self.pending

    def silent(self, wait: float = 0.2) -> bool:
        """Nothing arrives, and the connection stays open, for ``wait`` seconds."""
        return not self._read(wait)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def connect(reference: tuple[str, int]) -> Iterator[Any]:
    clients: list[Client] = []

    def open_client() -> Client:
        clients.append(Client(reference))
        return clients[-1]

    yield open_client
    for client in clients:
        client.close()


def statuses(responses: list[Response]) -> list[int | None]:
    return [response.status for response in responses]


# -- resources


def test_get_serves_the_resource_with_validators_date_and_server(connect: Any) -> None:
    response = connect().send(GET).response()
    assert (response.version, response.status, response.reason) == ("HTTP/1.1", 200, "OK")
    assert response.violations == ()
    assert response.body == resources.BODY
    assert response.header("Content-Length") == str(len(resources.BODY))
    assert response.header("Content-Type") == "text/plain; charset=utf-8"
    assert response.header("ETag") == '"v1"'
    assert response.header("Last-Modified") == resources.LAST_MODIFIED
    assert response.header("Server") == "conformance-reference"
    assert IMF_FIXDATE.match(response.header("Date") or "")


def test_head_has_the_get_headers_and_no_body(connect: Any) -> None:
    client = connect().send(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n" + GET, "HEAD", "GET")
    head, get = client.responses(2)
    assert (head.status, head.body, head.violations) == (200, b"", ())
    assert head.header("Content-Length") == str(len(resources.BODY))
    assert head.header("ETag") == '"v1"'
    assert get.status == 200 and get.body == resources.BODY  # nothing was left in between


def test_the_chunked_resource_is_chunked_to_http11_only(connect: Any) -> None:
    # It is the reference target's chunked-path: cases that judge how a chunked resource is
    # framed for HTTP/1.0 (RFC 9112 §6.1) ask it.
    assert resources.RESOURCES["chunked"] == resources.CHUNKED_PATH
    client = connect().send(
        b"GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /chunked HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        b"GET /chunked HTTP/1.0\r\n\r\n"
    )
    chunked, kept, last = client.responses(3)
    assert (chunked.status, chunked.header("Transfer-Encoding"), chunked.header("Content-Length")) == (
        200,
        "chunked",
        None,
    )
    assert chunked.body == resources.BODY and chunked.violations == ()
    for response in (kept, last):
        assert (response.header("Transfer-Encoding"), response.body) == (None, resources.BODY)
        assert response.header("Content-Length") == str(len(resources.BODY))
    assert (kept.header("Connection"), last.header("Connection")) == ("keep-alive", "close")
    assert client.closed()


def test_unknown_path_is_404_with_a_date(connect: Any) -> None:
    response = connect().send(b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n").response()
    assert response.status == 404 and IMF_FIXDATE.match(response.header("Date") or "")


@pytest.mark.parametrize(
    ("method", "fields", "status"),
    [
        ("GET", "If-None-Match: *", 304),
        ("GET", 'If-None-Match: "x", W/"v1"', 304),
        ("GET", 'If-None-Match: "x"', 200),
        ("GET", 'If-None-Match: "a,b", "v1"', 304),
        ("GET", 'If-Match: "x"', 412),
        ("GET", 'If-Match: W/"v1"', 412),  # If-Match compares strongly
        ("GET", 'If-Match: "v1"', 200),
        ("GET", "If-Match: garbage", 412),
        ("GET", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT", 304),
        ("GET", "If-Modified-Since: Sunday, 06-Nov-94 08:49:38 GMT", 304),
        ("GET", "If-Modified-Since: Sun Nov  6 08:49:37 1994", 304),
        ("GET", "If-Modified-Since: Sat, 05 Nov 1994 08:49:37 GMT", 200),
        ("GET", "If-Modified-Since: not a date", 200),
        ("GET", "If-Unmodified-Since: Sat, 05 Nov 1994 08:49:37 GMT", 412),
        ("GET", "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT", 200),
        ("GET", 'If-Match: "v1"\r\nIf-Unmodified-Since: Sat, 05 Nov 1994 08:49:37 GMT', 200),
        ("GET", 'If-None-Match: "x"\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT', 200),
        ("HEAD", "If-None-Match: *", 304),
        ("PUT", "If-None-Match: *", 412),
        ("PUT", 'If-Match: "v1"', 200),
        ("POST", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT", 200),  # GET and HEAD only
    ],
)
def test_conditional_requests(connect: Any, method: str, fields: str, status: int) -> None:
    request = f"{method} / HTTP/1.1\r\nHost: x\r\n{fields}\r\n\r\n".encode()
    response = connect().send(request, method).response()
    assert response.status == status
    assert response.violations == ()
    if status == 304:
        assert response.body == b"" and response.header("Content-Length") is None
        assert response.header("ETag") == '"v1"'


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        (b"DELETE / HTTP/1.1", 405),
        (b"PATCH / HTTP/1.1", 405),
        (b"TRACE / HTTP/1.1", 405),
        (b"CONNECT x:443 HTTP/1.1", 405),
        (b"CONNECT [::1]:443 HTTP/1.1", 405),
        (b"FROBNICATE / HTTP/1.1", 501),
        (b"get / HTTP/1.1", 501),  # methods are case-sensitive
        (b"FROBNICATE * HTTP/1.1", 400),
        (b"GET * HTTP/1.1", 400),
        (b"GET x:80 HTTP/1.1", 400),
        (b"CONNECT / HTTP/1.1", 400),
        (b"CONNECT x HTTP/1.1", 400),
    ],
)
def test_methods_and_request_target_forms(connect: Any, request_line: bytes, status: int) -> None:
    response = connect().send(request_line + b"\r\nHost: x\r\n\r\n").response()
    assert response.status == status
    if status == 405:
        assert response.header("Allow") == "GET, HEAD, POST, PUT, OPTIONS"


@pytest.mark.parametrize("request_target", [b"/", b"*"])
def test_options_is_204_with_allow_and_no_length(connect: Any, request_target: bytes) -> None:
    response = connect().send(b"OPTIONS " + request_target + b" HTTP/1.1\r\nHost: x\r\n\r\n").response()
    assert (response.status, response.violations) == (204, ())
    assert response.header("Allow") == "GET, HEAD, POST, PUT, OPTIONS"
    assert response.header("Content-Length") is None


def test_post_and_put_count_the_body(connect: Any) -> None:
    client = connect().send(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
        b"PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"
    )
    post, put = client.responses(2)
    assert (post.status, post.body) == (200, b"received 5 bytes\n")
    assert (put.status, put.body) == (200, b"received 7 bytes\n")


def test_echo_reflects_the_parsed_request(connect: Any) -> None:
    response = (
        connect()
        .send(
            b"POST /echo?q=1 HTTP/1.1\r\nHost: x\r\nX-Thing: \t v \r\nX-Caf: caf\xe9\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1;x=y\r\n\xff\r\n0\r\nX-T: 1\r\n\r\n"
        )
        .response()
    )
    assert response.header("Content-Type") == "application/json"
    assert json.loads(response.body) == {
        "method": "POST",
        "target": "/echo?q=1",
        "version": "HTTP/1.1",
        "authority": "x",
        "headers": [["Host", "x"], ["X-Thing", "v"], ["X-Caf", "caf\xe9"], ["Transfer-Encoding", "chunked"]],
        "body": "ab\xff",
    }


def test_echo_authority_is_the_absolute_form_targets(connect: Any) -> None:
    # RFC 9112 §3.2.2: the target's authority, not the Host field, says whom the request is for.
    response = connect().send(b"GET http://right.example:81/echo HTTP/1.1\r\nHost: wrong.example\r\n\r\n")
    document = json.loads(response.response().body)
    assert (document["authority"], document["target"]) == ("right.example:81", "http://right.example:81/echo")


def test_echo_takes_any_method_and_http10(connect: Any) -> None:
    response = connect().send(b"DELETE /echo HTTP/1.0\r\n\r\n").response()
    document = json.loads(response.body)
    assert (response.status, document["method"], document["version"]) == (200, "DELETE", "HTTP/1.0")


def test_an_internal_error_is_a_500_and_a_close(connect: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(request: resources.Request) -> resources.Response:
        raise KeyError("boom")

    monkeypatch.setattr(resources, "respond", broken)
    client = connect().send(GET + GET)
    assert statuses(client.responses(2)) == [500]
    assert client.closed()


# -- versions, request lines, fields: what is rejected


@pytest.mark.parametrize(
    ("version", "status"),
    [(b"HTTP/2.0", 505), (b"HTTP/3.0", 505), (b"HTTP/1.2", 200), (b"HTTP/1.0", 200)]
    + [
        (bad, 400) for bad in (b"http/1.1", b"HTTP/1", b"HTTP/01.1", b"HTTP/1.10", b"HTTP/1.1a", b"HTTP/1.1 ")
    ],
)
def test_versions(connect: Any, version: bytes, status: int) -> None:
    response = connect().send(b"GET / " + version + b"\r\nHost: x\r\n\r\n").response()
    assert (response.status, response.version) == (status, "HTTP/1.1")


@pytest.mark.parametrize(
    "head",
    [
        b"GET / HTTP/1.1\r\n\r\n",  # no Host
        b"GET http://x/ HTTP/1.1\r\n\r\n",  # no Host, absolute-form
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: user@x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x/y\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x, x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x:80a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x y\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: [::g]\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: %zz\r\n\r\n",
        b"GET http://u@x/ HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost\t: x\r\n\r\n",
        b"GET / HTTP/1.1\r\n Host: x\r\n\r\n",  # whitespace before the first field
        b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",  # obs-fold
        b"GET / HTTP/1.1\r\nHost: x\r\n: empty-name\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-No-Colon\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-[B]: v\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Caf\xe9: v\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x7fb\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n",  # bare CR inside the head
        b"GET / HTTP/1.1\rHost: x\r\n\r\n",  # bare CR ending the request line
        b"GET / HTTP/1.1\r\nHost: x\r\r\n\r\n",  # bare CR just before the end of the head
        b"GET /\r\n\r\n",  # HTTP/0.9
        b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /\tHTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / a HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET  HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GE@T / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /a\x7fb HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET ftp://x/ HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
)
def test_malformed_heads_get_400_and_a_close(connect: Any, head: bytes) -> None:
    client = connect().send(head + GET)
    [response] = client.responses(2)
    assert response.status == 400
    assert response.header("Connection") == "close"
    assert response.violations == ()
    assert client.closed()  # the pipelined GET is not answered


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5.0\r\n\r\nhello",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\nhello",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello!",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\x0b\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked;a=b\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;\r\nhello\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a[b]\r\nhello\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",  # bare LF
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello world\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX : y\r\n\r\n",
    ],
)
def test_invalid_framing_gets_400_and_a_close(connect: Any, request_bytes: bytes) -> None:
    client = connect().send(request_bytes + GET)
    [response] = client.responses(2)
    assert (response.status, response.header("Connection")) == (400, "close")
    assert client.closed()


def test_an_unknown_transfer_coding_is_501_and_a_close(connect: Any) -> None:
    client = connect().send(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc" + GET)
    assert statuses(client.responses(2)) == [501]
    assert client.closed()


@pytest.mark.parametrize(
    "host",
    [b"x", b"X.example:8080", b"[::1]:8080", b"[::ffff:1.2.3.4]", b"[v1.fe]", b"127.0.0.1:", b"a%20b", b""],
)
def test_valid_host_values_are_served(connect: Any, host: bytes) -> None:
    response = connect().send(b"GET / HTTP/1.1\r\nhOsT:" + host + b"\t \r\n\r\n").response()
    assert response.status == 200


def test_absolute_form_is_served_whatever_host_says(connect: Any) -> None:
    response = connect().send(b"GET http://elsewhere:1/?q HTTP/1.1\r\nHost: other.invalid\r\n\r\n").response()
    assert response.status == 200


def test_field_value_forms_are_accepted(connect: Any) -> None:
    head = b"GET / HTTP/1.1\r\nHost:x\r\nX-Empty:\r\nX-Obs: caf\xe9\r\nX-Tab:\ta\tb\t\r\n\r\n"
    assert connect().send(head).response().status == 200


# -- connection management


def test_keep_alive_pipelining_in_order_and_leading_empty_lines(connect: Any) -> None:
    client = connect().send(
        b"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked, \r\n\r\n"
        b'5 ; ext = "v a l";n\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n'
        b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0010\r\n\r\n0123456789"
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    )
    responses = client.responses(5)
    assert statuses(responses) == [200, 200, 404, 200, 200]
    assert [r.body for r in responses][1:4:2] == [b"received 5 bytes\n", b"received 10 bytes\n"]
    assert all(r.header("Connection") is None for r in responses)
    assert client.silent()  # the connection persists


def test_a_request_in_pieces_is_the_same_request(connect: Any) -> None:
    client = connect()
    data = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"
    for index in range(len(data)):
        client.send(data[index : index + 1])
        if index in (3, len(data) // 2):
            assert client.silent(0.05)
    assert client.response().body == b"received 12 bytes\n"


def test_bare_lf_line_endings_in_the_head_are_taken(connect: Any) -> None:
    response = connect().send(b"GET / HTTP/1.1\nHost: x\n\n").response()
    assert response.status == 200


@pytest.mark.parametrize("connection", [b"close", b"keep-alive, CLOSE"])
def test_connection_close_is_announced_and_honoured(connect: Any, connection: bytes) -> None:
    client = connect().send(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: " + connection + b"\r\n\r\n" + GET)
    [response] = client.responses(2)
    assert (response.status, response.header("Connection")) == (200, "close")
    assert client.closed()


def test_http10_closes_by_default_and_is_answered_with_http11(connect: Any) -> None:
    client = connect().send(b"GET / HTTP/1.0\r\n\r\n")
    response = client.response()
    assert (response.version, response.status, response.header("Connection")) == ("HTTP/1.1", 200, "close")
    assert client.closed()


def test_http10_keep_alive_is_honoured(connect: Any) -> None:
    client = connect().send(
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + b"GET /echo HTTP/1.0\r\n\r\n"
    )
    kept, last = client.responses(2)
    assert (kept.status, kept.header("Connection")) == (200, "keep-alive")
    assert (last.status, last.header("Connection")) == (200, "close")
    assert json.loads(last.body)["version"] == "HTTP/1.0"
    assert client.closed()


def test_a_client_half_close_ends_the_connection_after_the_response(connect: Any) -> None:
    client = connect().send(GET)
    client.sock.shutdown(socket.SHUT_WR)
    assert client.response().status == 200
    assert client.closed()


def test_a_client_that_does_not_read_pauses_the_reading(
    reactor_thread: Any, target: Any, reference: tuple[str, int]
) -> None:
    count = 10000  # ~2.5 MB of responses: more than the socket buffers hold
    factory = target._factories[0]  # the HTTP/1.1 one (the others follow)
    with socket.create_connection(reference, timeout=5) as sock:
        sender = threading.Thread(target=sock.sendall, args=(GET * count,))
        sender.start()
        deadline = time.monotonic() + 3
        while reactor_thread.call(lambda: [channel.paused for channel in factory.channels]) != [True]:
            assert time.monotonic() < deadline, "the server never stopped reading"
            time.sleep(0.02)
        marker, answered, tail = b"HTTP/1.1 200 OK\r\n", 0, b""
        while answered < count:
            data = sock.recv(1 << 20)
            assert data, f"closed after {answered} responses"
            answered += (tail + data).count(marker)
            tail = data[1 - len(marker) :]  # a marker cut in two is counted once
        sender.join()
    assert answered == count


# -- Expect


def test_expect_100_continue_before_the_body(connect: Any) -> None:
    client = connect().send(b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
    interim = client.next()
    assert (interim.status, interim.reason, interim.is_interim) == (100, "Continue", True)
    client.send(b"hello")
    assert client.response().body == b"received 5 bytes\n"


def test_no_100_continue_when_the_body_came_along_or_for_http10_or_without_body(connect: Any) -> None:
    for request in (
        b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
        b"GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n",
    ):
        responses = connect().send(request).responses(1)
        assert statuses(responses) == [200], request
    client = connect().send(b"PUT / HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
    assert client.silent()
    assert statuses(client.send(b"hello").responses(1)) == [200]


def test_an_unknown_expectation_is_417(connect: Any) -> None:
    client = connect().send(b"GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue, teapot\r\n\r\n")
    assert client.response().status == 417


# -- limits


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /" + b"a" * 10000, 414),  # as soon as the line is longer than the limit
        (b"G" * 10000, 501),  # a method longer than any implemented (RFC 9112 §3)
        (b"G@" * 5000, 400),  # no request-target at all within the limit, and no method
        (b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 10000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Filler: 0123456789\r\n" * 1000, 431),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 200 + b"\r\n", 431),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 16777217\r\n\r\n", 413),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551621\r\n\r\nhello", 413),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000005\r\n", 413),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1000001\r\n", 413),
    ],
)
def test_limits(connect: Any, data: bytes, status: int) -> None:
    client = connect().send(data)
    response = client.response()
    assert (response.status, response.header("Connection")) == (status, "close")
    assert client.closed()


def test_a_short_body_is_waited_for(connect: Any) -> None:
    client = connect().send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello")
    assert client.silent()
    assert client.send(b"world").response().body == b"received 10 bytes\n"


def test_a_chunked_body_without_its_last_chunk_is_waited_for(connect: Any) -> None:
    client = connect().send(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
    assert client.silent()
    assert client.send(b"0\r\n\r\n").response().body == b"received 5 bytes\n"


# -- starting and stopping


def test_stop_closes_open_connections_and_the_port(reactor_thread: Any) -> None:
    target = reactor_thread.call(start_reference_target, reactor_thread.reactor)
    factory = target._factories[0]  # the HTTP/1.1 one (the others follow)
    address = ("127.0.0.1", port_of(target))
    idle, busy = Client(address), Client(address)
    try:
        busy.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello")
        assert idle.send(GET).response().status == 200
        assert reactor_thread.call(lambda: len(factory.channels)) == 2
        reactor_thread.call(target.stop)  # returns once every connection is gone
        assert reactor_thread.call(lambda: len(factory.channels)) == 0
        assert idle.closed() and busy.closed()
    finally:
        idle.close()
        busy.close()
    with pytest.raises(OSError):
        socket.create_connection(address, timeout=1).close()


def test_a_port_in_use_is_an_error(reactor_thread: Any, reference: tuple[str, int]) -> None:
    with pytest.raises(CannotListenError):
        reactor_thread.call(start_reference_target, reactor_thread.reactor, port=reference[1])


# -- the sans-IO parts


def read_all(data: bytes, *, piece: int | None = None) -> list[Any]:
    reader = RequestReader()
    events: list[Any] = []
    pieces = [data] if piece is None else [data[i : i + piece] for i in range(0, len(data), piece)]
    for chunk in pieces:
        reader.receive_data(chunk)
        while (event := reader.next_event()) is not None:
            events.append(event)
    return events


def test_reader_events_do_not_depend_on_how_the_bytes_arrive() -> None:
    data = (
        b"\r\nPOST /a?b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3;e=1\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n"
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz"
    )
    whole = read_all(data)
    [first, second] = [event for event in whole if isinstance(event, RequestHead)]
    assert (first.path, first.chunked, second.length) == ("/a", True, 3)
    assert [type(event) for event in whole].count(EndOfRequest) == 2
    for piece in (1, 2, 7):
        pieces = read_all(data, piece=piece)
        assert [e for e in pieces if not isinstance(e, BodyData)] == [
            e for e in whole if not isinstance(e, BodyData)
        ]
        body = b"".join(e.data for e in pieces if isinstance(e, BodyData))
        assert body == b"abcdexyz"


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5", None),  # identical values MAY be taken
        (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: \xd9\xa5", 400),  # not an ASCII digit
        (b"GET / HTTP/9.1\r\nHost: x", 505),
        (b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: frobnicate", 501),
        (b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked", 501),
        (b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked;", 400),
    ],
)
def test_parse_head(head: bytes, status: int | None) -> None:
    if status is None:
        assert parse_head(head).length == 5
        return
    with pytest.raises(Rejection) as raised:
        parse_head(head)
    assert raised.value.status == status


def test_authority_and_entity_tag_and_date_syntax() -> None:
    assert valid_authority(b"[::1]:80") and valid_authority(b"a.b") and valid_authority(b"")
    assert (
        not valid_authority(b"[::1]x")
        and not valid_authority(b"a:b:1")
        and not valid_authority(b"[fe80::1%25x]")
    )
    assert entity_tags(['"a", W/"b",, "c,d"']) == ['"a"', 'W/"b"', '"c,d"']
    assert entity_tags(['"a" "b"']) == [] and entity_tags(["*"]) == ["*"]
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 +0000") is None
    assert parse_http_date("Sun, 32 Nov 1994 08:49:37 GMT") is None
