"""Body conditions of HTTP/1.1 response patterns, as loaded from case files."""

from __future__ import annotations

from conformance.codecs.http1 import Response, ResponseParser
from conformance.verdicts.http1 import BodySpec


def response(body: bytes) -> Response:
    parser = ResponseParser()
    parser.expect_response_to("GET")
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    (event,) = parser.feed(head + body)
    assert isinstance(event, Response)
    return event


def test_excludes_passes_when_the_bytes_are_absent() -> None:
    assert BodySpec(excludes=b"secret").check(response(b"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n")) is None


def test_excludes_fails_and_shows_where_the_bytes_are() -> None:
    problem = BodySpec(excludes=b"secret").check(response(b"Cookie: id=secret-1\r\n"))
    assert problem is not None and "secret" in problem
    assert BodySpec(excludes=b"secret").describe() == 'a body without "secret"'
