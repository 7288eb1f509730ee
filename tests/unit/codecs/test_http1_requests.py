"""The request decoder of client mode: requests in any pieces, their findings, and garbage."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance.codecs.http1_requests import NotARequest, Request, RequestParser


def feed_all(data: bytes, piece: int = 0) -> list[object]:
    parser = RequestParser()
    events: list[object] = []
    if piece:
        for start in range(0, len(data), piece):
            events += parser.feed(data[start : start + piece])
    else:
        events += parser.feed(data)
    return events + parser.feed_eof()


def test_a_request_in_one_byte_pieces_is_one_event() -> None:
    data = b"GET /a?b=1 HTTP/1.1\r\nHost: example\r\nAccept: */*\r\n\r\n"
    (request,) = feed_all(data, piece=1)
    assert isinstance(request, Request)
    assert (request.method, request.target, request.version) == ("GET", "/a?b=1", "HTTP/1.1")
    assert request.header("host") == "example"
    assert request.violations == ()


def test_findings_missing_host_bare_lf_and_bad_request_line() -> None:
    (missing,) = feed_all(b"GET / HTTP/1.1\r\n\r\n")
    assert [v.code for v in missing.violations] == ["missing-host"]
    (bare,) = feed_all(b"GET / HTTP/1.1\nHost: x\n\n")
    assert "bare-lf" in [v.code for v in bare.violations]
    (double,) = feed_all(b"GET  /  HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n")
    assert {"invalid-request-line", "duplicate-host"} <= {v.code for v in double.violations}


def test_bodies_by_content_length_and_chunked_then_the_next_request() -> None:
    data = (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2;e=1\r\nde\r\n0\r\nT: 1\r\n\r\n"
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    first, second, third = feed_all(data, piece=7)
    assert (first.body, first.framing) == (b"abc", "content-length")
    assert (second.body, second.framing) == (b"de", "chunked")
    assert third.method == "GET"


def test_a_request_cut_by_the_close_is_incomplete() -> None:
    (request,) = feed_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nabc")
    assert not request.complete
    assert "incomplete-message" in [v.code for v in request.violations]


def test_garbage_is_reported_once_and_reading_stops() -> None:
    parser = RequestParser()
    (garbage,) = parser.feed(b"\x16\x03\x01 not http\r\n\r\n")
    assert isinstance(garbage, NotARequest)
    assert "not an HTTP/1.1 request" in garbage.describe()
    assert parser.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") == []


@given(st.binary(max_size=300), st.integers(min_value=1, max_value=20))
def test_the_decoder_never_raises(data: bytes, piece: int) -> None:
    for event in feed_all(data, piece=piece):
        assert event.describe()
