"""Named allowances (``allow: NAME``) and the "not exercised" grade they can carry."""

from __future__ import annotations

import pytest

from conformance.codecs.common import ConnectionClosed
from conformance.codecs.http1 import ResponseParser
from conformance.scenario.allowances import allowances
from conformance.scenario.loader import load_text
from conformance.scenario.model import Expect
from conformance.verdicts import expectations as ex
from conformance.verdicts.judge import judge
from conformance.verdicts.verdict import Verdict

CASE = """
protocol: h1
rfc: 9112
section: "7.1"
cases:
  - id: bare-cr-in-chunk-size
    title: t
    requirement: MUST
    steps:
      - send: "POST / HTTP/1.1\\r\\nHost: x\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n5\\rhello\\r\\n0\\r\\n\\r\\n"
      - expect:
          one_of:
            - [{response: {status: 400}}, {closed: true}]
            - {allow: answered-from-head-then-closed}
"""


def _expectation(source: str) -> ex.Expectation:
    cases, errors = load_text(source, "x.yaml")
    assert not errors, errors
    (step,) = [s for s in cases[0].steps if isinstance(s, Expect)]
    return step.expectation


def _observe(raw: bytes, *, closed: bool) -> ex.Observation:
    parser = ResponseParser()
    events: list[object] = list(parser.feed(raw))
    if closed:
        events += [*parser.feed_eof(), ConnectionClosed()]
    return ex.Observation(events=events, received=len(raw), elapsed=0.1, timed_out=closed)


START = ex.Cursor(index=0, received=0)
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"


def test_every_bundled_allowance_builds_in_a_case() -> None:
    for protocol in ("h1", "h2", "ws"):
        for name in allowances(protocol):
            source = CASE.replace("protocol: h1", f"protocol: {protocol}").replace(
                "answered-from-head-then-closed", name
            )
            if protocol != "h1":  # only the expectation matters here
                source = source.replace(
                    '      - send: "POST / HTTP/1.1\\r\\nHost: x\\r\\nTransfer-Encoding: chunked\\r\\n'
                    '\\r\\n5\\rhello\\r\\n0\\r\\n\\r\\n"\n',
                    "",
                ).replace("            - [{response: {status: 400}}, {closed: true}]\n", "")
            assert isinstance(_expectation(source), ex.Expectation), (protocol, name)


def test_an_answer_then_a_close_is_not_exercised_but_an_answer_kept_open_is_not_allowed() -> None:
    expectation = _expectation(CASE)
    matched = expectation.evaluate(_observe(OK, closed=True), START)
    assert isinstance(matched, ex.Matched) and matched.grade is ex.Grade.UNEXERCISED
    rejected = expectation.evaluate(
        _observe(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", closed=True), START
    )
    assert isinstance(rejected, ex.Matched) and rejected.grade is ex.Grade.PASS
    # A 200 on a connection that stays open may have taken "5\rhello" as a chunk: no allowance.
    kept_open = ex.Observation(
        events=list(ResponseParser().feed(OK)), received=len(OK), elapsed=3.0, timed_out=True
    )
    assert isinstance(expectation.evaluate(kept_open, START), ex.Mismatch)
    assert "answered-from-head-then-closed" in expectation.describe()


def test_a_case_decided_by_an_unexercised_alternative_is_skipped_and_says_so() -> None:
    cases, _ = load_text(CASE, "x.yaml")
    result = judge(cases[0], grades=[ex.Grade.PASS, ex.Grade.UNEXERCISED], failure=None, error=None)
    assert result.verdict is Verdict.SKIPPED
    assert "not exercised" in result.observed


def test_an_unknown_allowance_is_a_located_error() -> None:
    _, errors = load_text(CASE.replace("answered-from-head-then-closed", "anything-goes"), "x.yaml")
    (error,) = errors
    assert "no allowance 'anything-goes'" in str(error) and "answered-from-head-then-closed" in str(error)
    assert error.location is not None and error.location.line == 14


@pytest.mark.parametrize(
    "grades",
    [
        "strict: false\n              unexercised: true",
        "unimplemented: true\n              unexercised: true",
    ],
)
def test_an_outcome_has_one_grade(grades: str) -> None:
    source = CASE.replace("{allow: answered-from-head-then-closed}", "closed: true\n              " + grades)
    _, errors = load_text(source, "x.yaml")
    assert errors and "not several" in str(errors[0])


def test_an_http2_answer_to_the_preface_on_an_http1_port_is_recognised() -> None:
    """RFC 9113 §3.3: a server may speak HTTP/2 by prior knowledge on its HTTP/1.1 port; it
    answers the preface with its SETTINGS frame, which the HTTP/1.1 parser reads as garbage."""
    from conformance.verdicts.http1 import Http2PrefacePattern

    settings = bytes.fromhex("00000c 04 00 00000000 0003 00000064 0004 0000ffff")
    events = ResponseParser().feed(settings)
    assert isinstance(
        Http2PrefacePattern().evaluate(
            ex.Observation(events=events, received=len(settings), elapsed=0.1, timed_out=False), START
        ),
        ex.Matched,
    )
    # An HTTP/1.1 answer, or garbage that is no SETTINGS frame, is not one.
    for other in (OK, b"\x00\x00\x08\x07\x00\x00\x00\x00\x00" + bytes(8), b"garbage\r\n\r\n"):
        outcome = Http2PrefacePattern().evaluate(
            ex.Observation(
                events=ResponseParser().feed(other), received=len(other), elapsed=0.1, timed_out=True
            ),
            START,
        )
        assert isinstance(outcome, ex.Mismatch), other
