"""The ``request-timed-out`` allowance: a server may stop waiting for an incomplete request.

RFC 9110 §15.5.9 (408 Request Timeout) and RFC 9112 §9.5 (close at any time): a 408 and a
close while the head is still incomplete says nothing about how the server would have parsed
the rest, so it is "not exercised"; any other answer to an incomplete request is not covered.
"""

from __future__ import annotations

from conformance.codecs.common import ConnectionClosed
from conformance.codecs.http1 import ResponseParser
from conformance.scenario.loader import load_text
from conformance.scenario.model import Expect
from conformance.verdicts import expectations as ex

CASE = """
protocol: h1
rfc: 9112
section: "2.1"
cases:
  - id: partial
    title: t
    requirement: MUST
    steps:
      - send: "GET / HTTP/1.1\\r\\nHost: x\\r\\n"
      - expect:
          one_of:
            - silence: 300
            - allow: [request-timed-out, closed-without-answer]
"""
START = ex.Cursor(index=0, received=0)


def _expectation() -> ex.Expectation:
    cases, errors = load_text(CASE, "x.yaml")
    assert not errors, errors
    (step,) = [s for s in cases[0].steps if isinstance(s, Expect)]
    return step.expectation


def _answered(status: bytes) -> ex.Observation:
    raw = b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    parser = ResponseParser()
    events: list[object] = [*parser.feed(raw), *parser.feed_eof(), ConnectionClosed()]
    return ex.Observation(events=events, received=len(raw), elapsed=0.1, timed_out=True)


def test_a_408_then_a_close_is_not_exercised() -> None:
    outcome = _expectation().evaluate(_answered(b"408 Request Timeout"), START)
    assert isinstance(outcome, ex.Matched) and outcome.grade is ex.Grade.UNEXERCISED


def test_another_answer_to_an_incomplete_request_is_not_allowed() -> None:
    for status in (b"200 OK", b"400 Bad Request"):
        assert isinstance(_expectation().evaluate(_answered(status), START), ex.Mismatch), status


def test_silence_still_passes() -> None:
    quiet = ex.Observation(events=[], received=0, elapsed=0.4, timed_out=False)
    outcome = _expectation().evaluate(quiet, START)
    assert isinstance(outcome, ex.Matched) and outcome.grade is ex.Grade.PASS
