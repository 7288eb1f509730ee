"""Properties of the HTTP/1.1 codec: the parser survives anything, does not care how bytes are
split, agrees with h11 on valid responses, and h11 reads back what the encoder writes."""

from __future__ import annotations

from typing import Any

import h11
from hypothesis import given
from hypothesis import strategies as st

from conformance.codecs.http1 import Garbage, RequestTracker, Response, ResponseParser, encode_request

# Pieces of HTTP/1.1, valid and not, so that random input reaches every parser state.
FRAGMENTS = [
    b"HTTP/1.1 200 OK\r\n",
    b"HTTP/1.1 100 Continue\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\n",
    b"HTTP/1.1 204 No Content\r\n",
    b"HTTP/1.1 304 Not Modified\r\n",
    b"HTTP/1.0 404 x\n",
    b"HTTP/",
    b"Content-Length: 3\r\n",
    b"Content-Length: 0\r\n",
    b"Content-Length: 1, 2\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: gzip\r\n",
    b"X : y\r\n",
    b" folded\r\n",
    b"\r\n",
    b"\n",
    b"\r",
    b"3\r\nabc\r\n",
    b'5;a="b"\r\n',
    b"0\r\n",
    b"ff\r\n",
    b"abc",
    b"\x00",
    b"Trailer: t\r\n",
]

http_ish = st.lists(st.sampled_from(FRAGMENTS), max_size=20).map(b"".join)
anything = st.one_of(
    st.binary(max_size=300), http_ish, st.tuples(http_ish, st.binary(max_size=40)).map(b"".join)
)
methods = st.lists(st.sampled_from(["GET", "HEAD", "POST", "CONNECT"]), max_size=4)


def run(
    pieces: list[bytes], queued: list[str], *, body_cap: int = 65536, head_cap: int = 65536
) -> list[Response | Garbage]:
    parser = ResponseParser(body_cap=body_cap, head_cap=head_cap)
    for method in queued:
        parser.expect_response_to(method)
    events: list[Response | Garbage] = []
    for piece in pieces:
        events += parser.feed(piece)
    return events + parser.feed_eof()


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    offsets = sorted({cut % (len(data) + 1) for cut in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(offsets, offsets[1:], strict=False)]


def comparable(events: list[Response | Garbage]) -> list[Any]:
    """Events with the one split-dependent part, a Garbage's sample and size, left out."""
    return [(event.violation,) if isinstance(event, Garbage) else event for event in events]


@given(data=anything, cuts=st.lists(st.integers(min_value=0), max_size=20), queued=methods)
def test_parser_never_raises_and_stays_bounded(data: bytes, cuts: list[int], queued: list[str]) -> None:
    events = run(split(data, cuts), queued, body_cap=16, head_cap=128)
    for event in events:
        event.describe()
        event.detail()
        if isinstance(event, Response):
            assert len(event.body) <= 16
            assert event.body_length >= len(event.body)
        else:
            assert 0 < len(event.data) <= 1024 and event.size >= len(event.data)
    # At most one Garbage, and nothing after it.
    assert all(not isinstance(event, Garbage) for event in events[:-1])


@given(data=anything, cuts=st.lists(st.integers(min_value=0), max_size=20), queued=methods)
def test_events_do_not_depend_on_how_bytes_are_split(data: bytes, cuts: list[int], queued: list[str]) -> None:
    whole = run([data], queued, body_cap=16, head_cap=128)
    byte_by_byte = run([data[i : i + 1] for i in range(len(data))], queued, body_cap=16, head_cap=128)
    pieces = run(split(data, cuts), queued, body_cap=16, head_cap=128)
    assert comparable(byte_by_byte) == comparable(whole)
    assert comparable(pieces) == comparable(whole)
    for garbage in (
        events[-1] for events in (byte_by_byte, pieces) if events and isinstance(events[-1], Garbage)
    ):
        assert isinstance(whole[-1], Garbage)
        assert whole[-1].data.startswith(garbage.data)


@given(data=anything, cuts=st.lists(st.integers(min_value=0), max_size=10))
def test_tracker_never_raises_and_does_not_depend_on_splits(data: bytes, cuts: list[int]) -> None:
    whole = RequestTracker(head_cap=128)
    pieces = RequestTracker(head_cap=128)
    assert [m for piece in split(data, cuts) for m in pieces.feed(piece)] == whole.feed(data)


# --------------------------------------------------------------------------------------------
# Against h11

token = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~",
    min_size=1,
    max_size=12,
)
field_value = st.text(alphabet=[chr(c) for c in range(0x21, 0x7F)] + [" ", "\t", "é"], max_size=20).map(
    lambda value: value.strip(" \t")
)
field_names = token.filter(
    lambda name: name.lower() not in {"content-length", "transfer-encoding", "connection", "trailer", "host"}
)
fields = st.lists(st.tuples(field_names, field_value), max_size=6)
statuses = st.integers(min_value=200, max_value=599)
bodies = st.lists(st.binary(min_size=1, max_size=50), max_size=4)


def h11_server() -> h11.Connection:
    server = h11.Connection(our_role=h11.SERVER)
    server.receive_data(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n")
    assert isinstance(server.next_event(), h11.Request)
    assert isinstance(server.next_event(), h11.EndOfMessage)
    return server


@given(
    status=statuses,
    reason=st.text(alphabet="abc XYZ", max_size=12).map(str.strip).filter(bool),
    headers=fields,
    chunks=bodies,
    chunked=st.booleans(),
    trailers=fields,
    cuts=st.lists(st.integers(min_value=0), max_size=5),
)
def test_responses_written_by_h11_parse_without_violations(
    status: int,
    reason: str,
    headers: list[tuple[str, str]],
    chunks: list[bytes],
    chunked: bool,
    trailers: list[tuple[str, str]],
    cuts: list[int],
) -> None:
    if status in (204, 304):
        chunks, chunked = [], False
    body = b"".join(chunks)
    framing = [("Transfer-Encoding", "chunked")] if chunked else [("Content-Length", str(len(body)))]
    if status in (204, 304):
        framing = []
    sent_headers = [(name.encode(), value.encode("latin-1")) for name, value in headers + framing]
    server = h11_server()
    wire = server.send(h11.Response(status_code=status, reason=reason.encode(), headers=sent_headers)) or b""
    for chunk in chunks:
        wire += server.send(h11.Data(data=chunk)) or b""
    end_headers = [(n.encode(), v.encode("latin-1")) for n, v in trailers] if chunked else []
    wire += server.send(h11.EndOfMessage(headers=end_headers)) or b""

    events = run(split(wire, cuts), ["GET"])
    [response] = events
    assert isinstance(response, Response)
    assert response.violations == ()
    assert (response.version, response.status, response.reason) == ("HTTP/1.1", status, reason)
    assert list(response.headers) == headers + framing
    assert (response.body, response.body_length) == (body, len(body))
    assert response.framing == (
        "chunked" if chunked else "none" if status in (204, 304) else "content-length"
    )
    assert list(response.trailers) == (trailers if chunked else [])


@given(statuses=st.lists(statuses, min_size=1, max_size=4), body=st.binary(max_size=20))
def test_pipelined_h11_responses(statuses: list[int], body: bytes) -> None:
    wire = b""
    for status in statuses:
        server = h11_server()
        # RFC 9110 §8.6: no Content-Length on a 204 (the parser would rightly complain).
        length = (
            [] if status == 204 else [(b"Content-Length", b"0" if status == 304 else str(len(body)).encode())]
        )
        wire += server.send(h11.Response(status_code=status, headers=length)) or b""
        if status not in (204, 304):
            wire += server.send(h11.Data(data=body)) if body else b""
        wire += server.send(h11.EndOfMessage()) or b""
    events = run([wire], [])
    assert [(e.status, e.violations) for e in events if isinstance(e, Response)] == [
        (s, ()) for s in statuses
    ]
    assert len(events) == len(statuses)


@given(
    method=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=8),
    target=st.text(alphabet="abcxyz0123456789/?=&%-._~", max_size=30).map(lambda path: "/" + path),
    headers=fields,
    body=st.binary(max_size=100),
)
def test_h11_reads_back_what_encode_request_writes(
    method: str, target: str, headers: list[tuple[str, str]], body: bytes
) -> None:
    sent = [("Host", "example")] + headers
    data = encode_request(
        method=method.encode(),
        target=target.encode(),
        headers=[(name.encode(), value.encode("latin-1")) for name, value in sent],
        body=body,
    )
    server = h11.Connection(our_role=h11.SERVER)
    server.receive_data(data)
    request = server.next_event()
    assert isinstance(request, h11.Request)
    assert (request.method, request.target, request.http_version) == (
        method.encode(),
        target.encode(),
        b"1.1",
    )
    expected = sent + ([("Content-Length", str(len(body)))] if body else [])
    assert [
        (name.decode(), value.decode("latin-1")) for name, value in request.headers.raw_items()
    ] == expected
    received = b""
    while True:
        event = server.next_event()
        if isinstance(event, h11.Data):
            received += event.data
        else:
            break
    assert isinstance(event, h11.EndOfMessage)
    assert received == body
    assert RequestTracker().feed(data + data) == [method, method]
