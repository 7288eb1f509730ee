"""The HTTP/1.1 codec: request encoding, request tracking and tolerant response parsing."""

from __future__ import annotations

import hashlib

import pytest

from conformance.codecs.common import Violation
from conformance.codecs.http1 import (
    Garbage,
    RequestTracker,
    Response,
    ResponseParser,
    ViolationCode,
    encode_request,
)


def parse(
    data: bytes, *methods: str, body_cap: int = 65536, head_cap: int = 65536
) -> list[Response | Garbage]:
    parser = ResponseParser(body_cap=body_cap, head_cap=head_cap)
    for method in methods:
        parser.expect_response_to(method)
    return parser.feed(data) + parser.feed_eof()


def one(data: bytes, *methods: str) -> Response:
    [event] = parse(data, *methods)
    assert isinstance(event, Response), event
    return event


def codes(event: Response | Garbage) -> list[str]:
    if isinstance(event, Garbage):
        return [event.violation.code]
    return [violation.code for violation in event.violations]


OK = b"HTTP/1.1 200 OK\r\n"

# --------------------------------------------------------------------------------------------
# encode_request


def test_encode_request_defaults() -> None:
    assert encode_request() == b"GET / HTTP/1.1\r\n\r\n"


def test_encode_request_auto_content_length_after_the_headers() -> None:
    data = encode_request(method=b"POST", headers=[(b"Host", b"a"), (b"X", b"1")], body=b"hello")
    assert data == b"POST / HTTP/1.1\r\nHost: a\r\nX: 1\r\nContent-Length: 5\r\n\r\nhello"


@pytest.mark.parametrize("name", [b"content-length", b"Transfer-Encoding", b"Content-Length "])
def test_encode_request_auto_leaves_explicit_framing_alone(name: bytes) -> None:
    data = encode_request(headers=[(name, b"7")], body=b"hello")
    assert data == b"GET / HTTP/1.1\r\n" + name + b": 7\r\n\r\nhello"


def test_encode_request_auto_without_body_adds_nothing() -> None:
    assert encode_request(method=b"POST") == b"POST / HTTP/1.1\r\n\r\n"


def test_encode_request_lies_on_request() -> None:
    assert (
        encode_request(body=b"abc", content_length=10) == b"GET / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"
    )
    assert encode_request(content_length=0) == b"GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
    assert encode_request(body=b"abc", content_length=None) == b"GET / HTTP/1.1\r\n\r\nabc"
    assert encode_request(method=b"G T", target=b"/\x00", version=b"HTTP/9.9", headers=[(b"A B", b"\r")]) == (
        b"G T /\x00 HTTP/9.9\r\nA B: \r\r\n\r\n"
    )


def test_encode_request_without_version_writes_a_short_request_line() -> None:
    assert encode_request(version=b"") == b"GET /\r\n\r\n"


# --------------------------------------------------------------------------------------------
# RequestTracker


def test_tracker_reports_pipelined_requests_in_order() -> None:
    tracker = RequestTracker()
    data = (
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        b"HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n"
        b"POST / HTTP/1.1\r\nContent-Length: 14\r\n\r\nHEAD / HTTP/1."  # the body looks like a request
        b"OPTIONS * HTTP/1.1\r\n\r\n"
    )
    assert tracker.feed(data) == ["GET", "HEAD", "POST", "OPTIONS"]


def test_tracker_reports_when_the_request_line_completes() -> None:
    tracker = RequestTracker()
    assert tracker.feed(b"HEAD / HTTP/1.1\r") == []
    assert tracker.feed(b"\n") == ["HEAD"]
    assert tracker.feed(b"Host: a\r\n\r\n") == []
    assert tracker.feed(b"GET") == []
    assert tracker.feed(b" / HTTP/1.1\r\n\r\n") == ["GET"]


def test_tracker_byte_by_byte() -> None:
    tracker = RequestTracker()
    data = encode_request(method=b"PUT", body=b"x" * 30) + encode_request(method=b"HEAD")
    seen = [method for byte in data for method in tracker.feed(bytes([byte]))]
    assert seen == ["PUT", "HEAD"]


def test_tracker_skips_chunked_bodies_and_trailers() -> None:
    tracker = RequestTracker()
    data = (
        b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        b"5;ext=1\r\nHEAD \r\n10\r\nGET / HTTP/1.1\r\n\r\n0\r\nTrailer: x\r\n\r\n"
        b"HEAD / HTTP/1.1\r\n\r\n"
    )
    assert tracker.feed(data[:40]) == ["POST"]
    assert tracker.feed(data[40:]) == ["HEAD"]
    assert not tracker.lost


def test_tracker_skips_leading_empty_lines() -> None:
    assert RequestTracker().feed(b"\r\n\n\r\nHEAD / HTTP/1.1\r\n\r\n") == ["HEAD"]


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01\x02 garbage\r\n\r\nHEAD / HTTP/1.1\r\n\r\n",
        b"GET\r\n\r\nHEAD / HTTP/1.1\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcdHEAD / HTTP/1.1\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\nHEAD / HTTP/1.1\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nHEAD / HTTP/1.1\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\nHEAD / HTTP/1.1\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nHEAD / HTTP/1.1\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabHEAD / HTTP/1.1\r\n\r\n",
    ],
)
def test_tracker_stops_reporting_when_it_cannot_frame(data: bytes) -> None:
    tracker = RequestTracker()
    methods = tracker.feed(data)
    assert "HEAD" not in methods
    assert tracker.lost
    assert tracker.feed(b"HEAD / HTTP/1.1\r\n\r\n") == []


def test_tracker_gives_up_on_a_head_over_the_cap_without_buffering_it() -> None:
    tracker = RequestTracker(head_cap=1000)
    assert tracker.feed(b"GET / HTTP/1.1\r\n") == ["GET"]
    assert tracker.feed(b"X: " + b"y" * 2000) == []
    assert tracker.lost
    assert tracker.feed(b"\r\n\r\nHEAD / HTTP/1.1\r\n\r\n") == []


def test_tracker_request_line_over_the_cap_is_not_reported() -> None:
    tracker = RequestTracker(head_cap=100)
    assert tracker.feed(b"GET /" + b"a" * 200 + b" HTTP/1.1\r\n\r\n") == []
    assert tracker.lost


# --------------------------------------------------------------------------------------------
# Framing


def test_content_length_framing() -> None:
    response = one(OK + b"Content-Length: 5\r\nServer: x\r\n\r\nhello")
    assert response == Response(
        version="HTTP/1.1",
        status=200,
        reason="OK",
        headers=(("Content-Length", "5"), ("Server", "x")),
        body=b"hello",
        body_length=5,
        body_sha256=hashlib.sha256(b"hello").hexdigest(),
        framing="content-length",
    )


def test_content_length_zero_is_emitted_at_once() -> None:
    parser = ResponseParser()
    [response] = parser.feed(OK + b"Content-Length: 0\r\n\r\n")
    assert isinstance(response, Response)
    assert (response.framing, response.body, response.complete) == ("content-length", b"", True)


def test_chunked_framing_with_extensions_and_trailers() -> None:
    response = one(
        OK + b"Transfer-Encoding: chunked\r\n\r\n"
        b'5;name=value;q="a;b"\r\nhello\r\n1 ; x\r\n!\r\n0\r\nExpires: never\r\nX-Sum: 1\r\n\r\n'
    )
    assert response.framing == "chunked"
    assert response.body == b"hello!"
    assert response.body_length == 6
    assert response.trailers == (("Expires", "never"), ("X-Sum", "1"))
    assert response.violations == ()
    assert response.complete


def test_chunked_is_emitted_without_waiting_for_eof() -> None:
    parser = ResponseParser()
    events = parser.feed(OK + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    assert [event.describe() for event in events] == ["HTTP/1.1 200 OK (chunked, body 3 bytes)"]


def test_close_framing_is_emitted_at_eof() -> None:
    parser = ResponseParser()
    assert parser.feed(b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nsome ") == []
    assert parser.feed(b"body") == []
    [response] = parser.feed_eof()
    assert isinstance(response, Response)
    assert (response.framing, response.body, response.complete, response.violations) == (
        "close",
        b"some body",
        True,
        (),
    )


def test_transfer_encoding_without_final_chunked_reads_until_close() -> None:
    response = one(OK + b"Transfer-Encoding: chunked, gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    assert response.framing == "close"
    assert response.body == b"5\r\nhello\r\n0\r\n\r\n"
    assert response.violations == ()


def test_transfer_encoding_wins_over_content_length() -> None:
    response = one(OK + b"Content-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    assert (response.framing, response.body, codes(response)) == ("chunked", b"abc", ["cl-and-te"])


def test_head_response_has_no_body_and_what_follows_is_garbage() -> None:
    events = parse(OK + b"Content-Length: 5\r\n\r\nhello", "HEAD")
    assert [event.describe() for event in events] == [
        "HTTP/1.1 200 OK (response to HEAD, Content-Length: 5, no body)",
        'bytes after a response to HEAD, which has no body: "hello" (5 bytes)',
    ]
    response, garbage = events
    assert isinstance(response, Response) and response.request_method == "HEAD" and response.violations == ()
    assert codes(garbage) == ["body-after-head-response"]


def test_head_response_followed_by_the_next_response() -> None:
    events = parse(OK + b"Content-Length: 5\r\n\r\n" + OK + b"Content-Length: 2\r\n\r\nhi", "HEAD", "GET")
    assert [(e.request_method, e.framing, e.body) for e in events if isinstance(e, Response)] == [
        ("HEAD", "none", b""),
        ("GET", "content-length", b"hi"),
    ]


@pytest.mark.parametrize("status", [204, 304])
def test_no_content_statuses_have_no_body(status: int) -> None:
    head = f"HTTP/1.1 {status} X\r\n".encode()
    events = parse(head + b"\r\n" + head + b"\r\nbody")
    assert [event.describe() for event in events] == [
        f"HTTP/1.1 {status} X (no body)",
        f"HTTP/1.1 {status} X (no body)",
        'bytes after a 204 or 304 response, which has no body: "body" (4 bytes)',
    ]
    assert codes(events[2]) == ["body-after-no-content-response"]


def test_304_may_carry_content_length() -> None:
    response = one(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n")
    assert (response.framing, response.body_length, response.violations) == ("none", 0, ())


def test_interim_then_final() -> None:
    events = parse(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
        + OK
        + b"Content-Length: 2\r\n\r\nhi",
        "HEAD",
    )
    assert [event.describe() for event in events] == [
        "HTTP/1.1 100 Continue (interim)",
        "HTTP/1.1 103 Early Hints (interim)",
        "HTTP/1.1 200 OK (response to HEAD, Content-Length: 2, no body)",
        'bytes after a response to HEAD, which has no body: "hi" (2 bytes)',
    ]
    assert all(isinstance(e, Response) and e.request_method == "HEAD" for e in events[:3])
    assert [e.is_interim for e in events[:3] if isinstance(e, Response)] == [True, True, False]


def test_101_ends_http1_parsing() -> None:
    parser = ResponseParser()
    events = parser.feed(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello"
    )
    assert [event.describe() for event in events] == ["HTTP/1.1 101 Switching Protocols (no body)"]
    assert isinstance(events[0], Response) and not events[0].is_interim
    assert parser.done
    assert parser.feed(b"\x88\x00 anything at all") == []
    assert parser.feed_eof() == []


def test_2xx_to_connect_is_a_tunnel() -> None:
    events = parse(OK + b"\r\n\x16\x03\x01 tls bytes", "CONNECT")
    assert [event.describe() for event in events] == ["HTTP/1.1 200 OK (no body)"]


def test_pipelined_responses_in_one_feed() -> None:
    data = (
        OK + b"Content-Length: 1\r\n\r\na"
        b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nbb\r\n0\r\n\r\n"
        b"HTTP/1.1 204 No Content\r\n\r\n"
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 3\r\n\r\nccc"
    )
    parser = ResponseParser()
    events = parser.feed(data)
    assert [event.describe() for event in events] == [
        "HTTP/1.1 200 OK (Content-Length: 1, body 1 bytes)",
        "HTTP/1.1 404 Not Found (chunked, body 2 bytes)",
        "HTTP/1.1 204 No Content (no body)",
        "HTTP/1.1 500 Internal Server Error (Content-Length: 3, body 3 bytes)",
    ]
    assert parser.feed_eof() == []


def test_methods_are_matched_in_order_and_default_to_get() -> None:
    events = parse(
        OK + b"Content-Length: 1\r\n\r\n" + OK + b"Content-Length: 1\r\n\r\nx" + OK + b"\r\n", "HEAD"
    )
    assert [e.request_method for e in events if isinstance(e, Response)] == ["HEAD", "GET", "GET"]


# --------------------------------------------------------------------------------------------
# Limits, EOF and garbage


def test_eof_inside_head() -> None:
    response = one(OK + b"Content-Length: 5\r\nServ")
    assert response.status == 200
    assert response.headers == (("Content-Length", "5"),)
    assert (response.framing, response.complete) == ("none", False)
    assert codes(response) == ["incomplete-message"]
    assert (
        response.describe()
        == "HTTP/1.1 200 OK (Content-Length: 5, no body, incomplete) [violations: incomplete-message]"
    )


def test_eof_inside_status_line() -> None:
    for data in (b"HTT", b"HTTP/1.1 20"):
        response = one(data)
        assert (response.status, response.complete, codes(response)) == (None, False, ["incomplete-message"])


def test_eof_inside_content_length_body() -> None:
    response = one(OK + b"Content-Length: 100\r\n\r\npartial")
    assert (response.body, response.body_length, response.complete) == (b"partial", 7, False)
    assert codes(response) == ["incomplete-message"]
    assert response.describe() == (
        "HTTP/1.1 200 OK (Content-Length: 100, body 7 bytes, incomplete) [violations: incomplete-message]"
    )


def test_eof_inside_chunked_body() -> None:
    response = one(OK + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3\r\nab")
    assert (response.body, response.complete, codes(response)) == (b"helloab", False, ["incomplete-message"])


def test_eof_with_nothing_is_silent() -> None:
    assert parse(b"") == []
    assert parse(OK + b"Content-Length: 0\r\n\r\n")[1:] == []


def test_body_cap_counts_and_hashes_the_rest() -> None:
    body = bytes(range(256)) * 40
    parser = ResponseParser(body_cap=100)
    events = []
    for start in range(0, len(body) + 100, 333):
        events += parser.feed((OK + b"Content-Length: 10240\r\n\r\n" + body)[start : start + 333])
    [response] = events
    assert isinstance(response, Response)
    assert response.body == body[:100]
    assert response.body_length == 10240
    assert response.body_sha256 == hashlib.sha256(body).hexdigest()
    assert response.detail()["body"] == body[:100].decode("latin-1")


def test_head_over_the_cap_is_a_violation_and_ends_parsing() -> None:
    parser = ResponseParser(head_cap=200)
    events = parser.feed(OK + b"X-Filler: " + b"y" * 100 + b"\r\n" + b"X-More: " + b"z" * 500)
    [response] = events
    assert isinstance(response, Response)
    assert response.status == 200
    assert response.headers == (("X-Filler", "y" * 100),)
    assert (response.complete, codes(response)) == (False, ["head-too-large"])
    assert parser.done
    assert parser.feed(b"\r\n\r\n" + OK + b"\r\n") == []
    assert parser.feed_eof() == []


def test_garbage_is_reported_once_and_the_rest_swallowed() -> None:
    parser = ResponseParser()
    [garbage] = parser.feed(b"\x00\xff<script>alert(1)</script>")
    assert garbage == Garbage(
        data=b"\x00\xff<script>alert(1)</script>",
        size=27,
        violation=Violation(
            code="unexpected-data",
            message="the target sent bytes that do not start with an HTTP-version where a status line "
            "must begin (RFC 9112 §2.1, https://www.rfc-editor.org/rfc/rfc9112#section-2.1).",
        ),
    )
    assert (
        garbage.describe()
        == 'bytes that are not an HTTP/1.1 response: "\\x00\\xff<script>alert(1)</script>" (27 bytes)'
    )
    assert parser.feed(OK + b"\r\n") == []
    assert parser.feed_eof() == []


def test_garbage_is_detected_before_five_bytes() -> None:
    parser = ResponseParser()
    [garbage] = parser.feed(b"HX")
    assert isinstance(garbage, Garbage) and garbage.data == b"HX" and garbage.size == 2


def test_garbage_sample_is_capped() -> None:
    [garbage] = parse(b"<" * 5000)
    assert isinstance(garbage, Garbage)
    assert (garbage.data, garbage.size) == (b"<" * 1024, 5000)
    assert garbage.describe().endswith('…" (5000 bytes)')


def test_garbage_after_a_complete_response() -> None:
    events = parse(OK + b"Content-Length: 2\r\n\r\nhi<html>")
    assert codes(events[1]) == ["unexpected-data"]
    # What starts like a status line is read as one, whatever follows.
    [response] = parse(b"HTTP/0.9 hello")
    assert isinstance(response, Response)
    assert (response.version, response.status, response.complete) == ("HTTP/0.9", None, False)
    assert codes(response) == ["incomplete-message"]
    [garbage] = parse(b"SSH-2.0-OpenSSH\r\n")
    assert codes(garbage) == ["unexpected-data"]


def test_empty_lines_before_a_status_line() -> None:
    events = parse(OK + b"Content-Length: 2\r\n\r\nhi\r\n" + OK + b"Content-Length: 0\r\n\r\n")
    assert [codes(event) for event in events] == [[], ["bare-line-before-status"]]


def test_empty_lines_then_eof_are_unexpected_data() -> None:
    events = parse(OK + b"Content-Length: 2\r\n\r\nhi\r\n")
    assert isinstance(events[1], Garbage)
    assert (events[1].data, events[1].size, codes(events[1])) == (b"\r\n", 2, ["unexpected-data"])


def test_describe_and_detail() -> None:
    response = one(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\nX: a\r\nx: b\r\n\r\nbad request")
    assert response.describe() == "HTTP/1.1 400 Bad Request (Content-Length: 11, body 11 bytes)"
    assert response.header("X") == "a, b"
    assert response.header_values("x") == ["a", "b"]
    assert response.header("missing") is None
    assert response.detail() == {
        "type": "response",
        "version": "HTTP/1.1",
        "status": 400,
        "reason": "Bad Request",
        "headers": [["Content-Length", "11"], ["X", "a"], ["x", "b"]],
        "body_length": 11,
        "body": "bad request",
        "body_sha256": hashlib.sha256(b"bad request").hexdigest(),
        "framing": "content-length",
        "trailers": [],
        "violations": [],
        "complete": True,
        "request_method": "GET",
    }
    bad = one(b"HTTP/1.1 200 OK\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    assert bad.describe() == "HTTP/1.1 200 OK (chunked, body 0 bytes) [violations: bare-lf, cl-and-te]"
    assert bad.detail()["violations"][0] == {
        "code": "bare-lf",
        "message": "a line of the head ends with LF alone instead of CRLF "
        "(RFC 9112 §2.2, https://www.rfc-editor.org/rfc/rfc9112#section-2.2).",
    }
    assert one(b"HTTP/1.1 abc\r\n\r\n").describe() == (
        "HTTP/1.1 (unreadable status) (until close, body 0 bytes) [violations: invalid-status-line, invalid-status-code]"
    )
    [garbage] = parse(b"HTTP?")
    assert garbage.detail() == {
        "type": "garbage",
        "data": "HTTP?",
        "size": 5,
        "violation": {"code": "unexpected-data", "message": garbage.violation.message},
    }


# --------------------------------------------------------------------------------------------
# One test per violation code

CHUNKED = OK + b"Transfer-Encoding: chunked\r\n\r\n"

VIOLATIONS: list[tuple[str, bytes, tuple[str, ...]]] = [
    ("invalid-status-line", b"HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n", ()),
    ("invalid-status-line", b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", ()),
    ("invalid-version", b"HTTP/1.10 200 OK\r\nContent-Length: 0\r\n\r\n", ()),
    ("invalid-version", b"HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n", ()),
    ("invalid-status-code", b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n", ()),
    ("invalid-status-code", b"HTTP/1.1 099 OK\r\nContent-Length: 0\r\n\r\n", ()),
    ("invalid-reason-phrase", b"HTTP/1.1 200 O\x00K\r\nContent-Length: 0\r\n\r\n", ()),
    ("bare-lf", b"HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n", ()),
    ("bare-lf", CHUNKED + b"1\nx\r\n0\r\n\r\n", ()),
    ("bare-lf", CHUNKED + b"1\r\nx\n0\r\n\r\n", ()),
    ("bare-cr", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX: a\rb\r\n\r\n", ("invalid-field-value",)),
    ("invalid-field-name", OK + b"Content-Length: 0\r\nX(y): 1\r\n\r\n", ()),
    ("invalid-field-name", OK + b"Content-Length: 0\r\n: 1\r\n\r\n", ()),
    ("whitespace-before-colon", OK + b"Content-Length: 0\r\nX : 1\r\n\r\n", ()),
    ("missing-colon", OK + b"Content-Length: 0\r\nno colon here\r\n\r\n", ()),
    ("obs-fold", OK + b"Content-Length: 0\r\nX: a\r\n  b\r\n\r\n", ()),
    ("invalid-field-value", OK + b"Content-Length: 0\r\nX: a\x00b\r\n\r\n", ()),
    ("invalid-field-value", OK + b"Content-Length: 0\r\nX: a\x7fb\r\n\r\n", ()),
    ("cl-and-te", OK + b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", ()),
    ("invalid-content-length", OK + b"Content-Length: 1x\r\n\r\n", ()),
    ("invalid-content-length", OK + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\n", ()),
    ("invalid-content-length", OK + b"Content-Length: 12345678901234567890\r\n\r\n", ()),
    ("duplicate-content-length", OK + b"Content-Length: 1, 1\r\n\r\nx", ()),
    ("content-length-forbidden", b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", ()),
    ("content-length-forbidden", b"HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\n", ()),
    ("transfer-encoding-forbidden", b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n", ()),
    ("transfer-encoding-in-http10", b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", ()),
    ("unknown-transfer-coding", OK + b"Transfer-Encoding: br, chunked\r\n\r\n0\r\n\r\n", ()),
    ("invalid-chunk-size", CHUNKED + b"1 \r\nx\r\n0\r\n\r\n", ()),
    ("invalid-chunk-extension", CHUNKED + b"1;=\r\nx\r\n0\r\n\r\n", ()),
    ("invalid-chunk-extension", CHUNKED + b'1;a="b\r\nx\r\n0\r\n\r\n', ()),
    ("missing-chunk-crlf", CHUNKED + b"1\r\nxy\r\n0\r\n\r\n", ("invalid-chunk-size",)),
    ("invalid-trailer", CHUNKED + b"0\r\nbad trailer\r\n\r\n", ()),
    ("invalid-trailer", CHUNKED + b"0\r\nContent-Length: 5\r\n\r\n", ()),
    ("incomplete-message", OK + b"Content-Length: 3\r\n\r\nab", ()),
    ("bare-line-before-status", b"\r\n" + OK + b"Content-Length: 0\r\n\r\n", ()),
]


@pytest.mark.parametrize(
    ("code", "data", "others"), VIOLATIONS, ids=[f"{code}-{i}" for i, (code, _, _) in enumerate(VIOLATIONS)]
)
def test_violation(code: str, data: bytes, others: tuple[str, ...]) -> None:
    [event] = [
        event for event in parse(data) if isinstance(event, Response) and not event.is_interim
    ] or parse(data)
    assert sorted(codes(event)) == sorted((code, *others))
    [violation] = [v for v in event.violations if v.code == code]  # type: ignore[union-attr]
    assert "RFC 91" in violation.message and "https://www.rfc-editor.org/rfc/rfc91" in violation.message
    assert violation.message.endswith(".")


def test_every_violation_code_is_tested() -> None:
    tested = {code for code, _, _ in VIOLATIONS} | {
        "head-too-large",
        "unexpected-data",
        "body-after-head-response",
        "body-after-no-content-response",
    }
    assert tested == {code.value for code in ViolationCode}


def test_status_line_parts_are_read_despite_violations() -> None:
    response = one(b"HTTP/1.1  404 Gone Away\r\nContent-Length: 0\r\n\r\n")
    assert (response.version, response.status, response.reason) == ("HTTP/1.1", 404, "Gone Away")
    assert one(b"HTTP/1.1 099 x\r\nContent-Length: 0\r\n\r\n").status == 99


def test_obs_fold_is_joined_with_a_space() -> None:
    response = one(OK + b"Content-Length: 0\r\nX: a\r\n\t b\r\n\r\n")
    assert response.headers == (("Content-Length", "0"), ("X", "a b"))


def test_whitespace_before_colon_still_frames() -> None:
    response = one(OK + b"Content-Length : 2\r\n\r\nhi")
    assert (response.framing, response.body, response.headers) == (
        "content-length",
        b"hi",
        (("Content-Length ", "2"),),
    )


def test_invalid_content_length_ends_parsing() -> None:
    parser = ResponseParser()
    [response] = parser.feed(OK + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab" + OK + b"\r\n")
    assert isinstance(response, Response)
    assert (response.framing, response.body_length) == ("none", 0)
    assert parser.done


def test_unreadable_chunk_size_ends_the_message() -> None:
    parser = ResponseParser()
    [response] = parser.feed(CHUNKED + b"3\r\nabc\r\nzz\r\n" + OK + b"\r\n")
    assert isinstance(response, Response)
    assert (response.body, response.complete, codes(response)) == (b"abc", False, ["invalid-chunk-size"])
    assert parser.done


def test_missing_chunk_crlf_continues_when_it_can() -> None:
    response = one(CHUNKED + b"1\r\nx\r0\r\n\r\n")
    assert (response.body, response.complete, codes(response)) == (b"x", True, ["missing-chunk-crlf"])


def test_chunk_size_line_over_its_cap_ends_the_message() -> None:
    parser = ResponseParser()
    [response] = parser.feed(CHUNKED + b"1;" + b"a" * 5000)
    assert isinstance(response, Response)
    assert (response.complete, codes(response)) == (False, ["invalid-chunk-size"])
    assert parser.done


def test_status_line_over_the_head_cap() -> None:
    [response] = ResponseParser(head_cap=100).feed(b"HTTP/1.1 200 " + b"x" * 200)
    assert isinstance(response, Response)
    assert (response.version, response.status, response.complete) == ("HTTP/1.1", 200, False)
    assert codes(response) == ["head-too-large"]


def test_trailer_section_over_the_cap() -> None:
    [response] = parse(CHUNKED + b"0\r\nX: " + b"y" * 300, head_cap=200)
    assert isinstance(response, Response)
    assert (response.complete, codes(response)) == (False, ["head-too-large"])


def test_violations_appear_once_per_code() -> None:
    response = one(OK + b"A : 1\r\nB : 2\r\nContent-Length: 0\r\n\r\n")
    assert codes(response) == ["whitespace-before-colon"]
