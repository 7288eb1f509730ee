"""HTTP/2 expectations that are decided before their deadline when nothing the server could
still send would change the outcome (a pure function of the events, as all expectations)."""

from __future__ import annotations

from typing import Any

from conformance.codecs import h2frames as fr
from conformance.codecs.common import ConnectionClosed
from conformance.verdicts import expectations as ex
from conformance.verdicts import h2 as h2pat

START = ex.Cursor(index=0, received=0)
PING = bytes.fromhex("0102030405060708")
ERROR = frozenset({fr.ErrorCode.PROTOCOL_ERROR})


def obs(*events: Any, timed_out: bool = False) -> ex.Observation:
    return ex.Observation(events=list(events), received=0, elapsed=0.1, timed_out=timed_out)


def ping_ack(data: bytes = PING) -> fr.PingFrame:
    return fr.PingFrame(flags=fr.Flag.ACK, opaque=data, length=8)


def goaway(code: int = fr.ErrorCode.PROTOCOL_ERROR) -> fr.GoAwayFrame:
    return fr.GoAwayFrame(error_code=code, length=8)


def test_a_connection_error_is_decided_by_the_ack_of_a_later_ping() -> None:
    waits = h2pat.ConnectionError_(errors=ERROR, before_ping_ack=PING)
    assert isinstance(waits.evaluate(obs(), START), ex.Pending)
    # The ACK of that PING with no error before it: the frame was processed without one.
    failed = waits.evaluate(obs(fr.SettingsFrame(flags=fr.Flag.ACK), ping_ack()), START)
    assert isinstance(failed, ex.Mismatch) and failed.end == 2
    # The ACK of another PING decides nothing; an error before the ACK still matches.
    assert isinstance(waits.evaluate(obs(ping_ack(b"\0" * 8)), START), ex.Pending)
    assert waits.evaluate(obs(goaway(), ping_ack()), START) == ex.Matched(end=1)
    closed = waits.evaluate(obs(ConnectionClosed()), START)
    assert closed == ex.Matched(end=1, grade=ex.Grade.NON_STRICT)
    # Without before_ping_ack, a PING ACK is passed over as any other frame.
    plain = h2pat.ConnectionError_(errors=ERROR)
    assert isinstance(plain.evaluate(obs(ping_ack()), START), ex.Pending)


def test_the_ping_ack_decides_between_an_error_and_an_ignored_frame_at_once() -> None:
    # As the RFC 9218 cases: the error is preferred; the ACK alone means the frame type is
    # not implemented, and nothing is left to wait for.
    one_of = ex.OneOf(
        alternatives=(
            h2pat.ConnectionError_(errors=ERROR, before_ping_ack=PING),
            h2pat.FramePattern(
                frame_type=fr.FrameType.PING, flags=fr.Flag.ACK, data=PING, unimplemented=True
            ),
        )
    )
    ignored = one_of.evaluate(obs(ping_ack()), START)
    assert ignored == ex.Matched(end=1, grade=ex.Grade.UNIMPLEMENTED)
    assert one_of.evaluate(obs(goaway()), START) == ex.Matched(end=1)


def test_a_reset_of_the_patterns_stream_ends_the_wait_for_a_frame_on_it() -> None:
    data = h2pat.FramePattern(frame_type=fr.FrameType.DATA, stream=1)
    reset = fr.RstStreamFrame(stream_id=1, error_code=fr.ErrorCode.FLOW_CONTROL_ERROR, length=4)
    assert isinstance(data.evaluate(obs(reset), START), ex.Mismatch)
    # A reset of another stream, or a pattern on no stream, waits on.
    other = fr.RstStreamFrame(stream_id=3, error_code=fr.ErrorCode.CANCEL, length=4)
    assert isinstance(data.evaluate(obs(other), START), ex.Pending)
    assert isinstance(
        h2pat.FramePattern(frame_type=fr.FrameType.GOAWAY).evaluate(obs(reset), START), ex.Pending
    )
    # The reset itself can be what the pattern waits for.
    no_error = h2pat.FramePattern(frame_type=fr.FrameType.RST_STREAM, stream=1, errors=frozenset({0}))
    assert no_error.evaluate(obs(fr.RstStreamFrame(stream_id=1, length=4)), START) == ex.Matched(end=1)
    assert isinstance(no_error.evaluate(obs(reset), START), ex.Mismatch)


def test_before_ping_ack_in_yaml(tmp_path: Any) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text(
        """protocol: h2
rfc: 9113
section: '5.4.1'
cases:
  - id: good
    title: t
    requirement: MUST
    steps:
      - send: {frame: PING, data: !hex "0102030405060708"}
      - expect: {connection_error: {error: PROTOCOL_ERROR, before_ping_ack: !hex "0102030405060708"}}
  - id: short
    title: t
    requirement: MUST
    steps:
      - expect: {connection_error: {error: PROTOCOL_ERROR, before_ping_ack: !hex "0102"}}
  - id: no-error
    title: t
    requirement: MUST
    steps:
      - expect: {connection_error: {before_ping_ack: !hex "0102030405060708"}}
"""
    )
    from conformance.scenario.loader import load

    loaded = load([path])
    good = [case for case in loaded.cases if case.id.endswith("/good")]
    assert len(good) == 1
    expectation = good[0].steps[-1].expectation  # type: ignore[attr-defined]
    assert expectation == h2pat.ConnectionError_(errors=ERROR, before_ping_ack=PING)
    messages = "\n".join(error.render() for error in loaded.errors)
    assert "short" in messages and "8 octets" in messages
    assert "no-error" in messages and "needs an error" in messages
