"""HTTP/2 expectations that are decided before their deadline when nothing the server could
still send would change the outcome (a pure function of the events, as all expectations)."""

from __future__ import annotations

from typing import Any

from conformance.codecs import h2frames as fr
from conformance.codecs.common import ConnectionClosed
from conformance.codecs.h2fields import HeaderBlock
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


def answered(stream: int, status: int = 200) -> HeaderBlock:
    return HeaderBlock(stream_id=stream, fields=((b":status", str(status).encode()),), end_stream=True)


def shutdown(last: int, code: int = fr.ErrorCode.NO_ERROR) -> fr.GoAwayFrame:
    return fr.GoAwayFrame(last_stream_id=last, error_code=code, length=8)


def test_a_graceful_goaway_must_cover_every_stream_answered() -> None:
    graceful = h2pat.GracefulGoAway()
    # RFC 9113 §6.8: streams up to the last-stream-id may have been processed, the rest not.
    assert graceful.evaluate(obs(answered(1), shutdown(1)), START) == ex.Matched(end=2)
    assert graceful.evaluate(obs(shutdown(0)), START) == ex.Matched(end=1)
    # A last-stream-id below a stream it answered is wrong; so is an error code.
    assert isinstance(graceful.evaluate(obs(answered(3), shutdown(1)), START), ex.Mismatch)
    assert isinstance(graceful.evaluate(obs(shutdown(1, fr.ErrorCode.PROTOCOL_ERROR)), START), ex.Mismatch)
    # The 2^31-1 notice of a two-phase shutdown is passed over for the GOAWAY after it.
    assert isinstance(graceful.evaluate(obs(shutdown(2**31 - 1)), START), ex.Pending)
    assert graceful.evaluate(obs(shutdown(2**31 - 1), shutdown(1)), START) == ex.Matched(end=2)


def test_a_response_wait_ends_at_a_goaway_that_leaves_its_stream_out() -> None:
    response = h2pat.ResponsePattern(stream=3)
    assert isinstance(response.evaluate(obs(shutdown(1)), START), ex.Mismatch)
    assert isinstance(response.evaluate(obs(shutdown(3)), START), ex.Pending)


def test_generic_codes_stand_in_for_specific_ones_but_not_others() -> None:
    specific = frozenset({fr.ErrorCode.FRAME_SIZE_ERROR})
    conn = h2pat.ConnectionError_(errors=specific)
    # RFC 9113 §5.4: a generic code "can always be used in place of more specific error codes".
    assert conn.evaluate(obs(goaway(fr.ErrorCode.INTERNAL_ERROR)), START).grade is ex.Grade.NON_STRICT
    assert conn.evaluate(obs(goaway(fr.ErrorCode.FRAME_SIZE_ERROR)), START) == ex.Matched(end=1)
    assert isinstance(conn.evaluate(obs(goaway(fr.ErrorCode.FLOW_CONTROL_ERROR)), START), ex.Mismatch)
    reset = fr.RstStreamFrame(stream_id=1, error_code=fr.ErrorCode.PROTOCOL_ERROR, length=4)
    assert h2pat.StreamError(errors=specific).evaluate(obs(reset), START).grade is ex.Grade.NON_STRICT


def test_a_stream_error_after_an_answer_and_a_reset_no_error_is_not_exercised() -> None:
    stream = h2pat.StreamError(errors=frozenset({fr.ErrorCode.FRAME_SIZE_ERROR}))
    done = fr.RstStreamFrame(stream_id=1, error_code=fr.ErrorCode.NO_ERROR, length=4)
    assert stream.evaluate(obs(answered(1, 405), done), START) == ex.Matched(
        end=2, grade=ex.Grade.UNEXERCISED
    )


def test_a_stream_error_on_a_named_stream_that_was_served_is_decided_at_once() -> None:
    named = h2pat.StreamError(errors=ERROR, stream=3)
    assert isinstance(named.evaluate(obs(answered(3)), START), ex.Mismatch)
    # A 4xx, another stream's answer, or a stream error on no named stream, waits on.
    assert isinstance(named.evaluate(obs(answered(3, 431)), START), ex.Pending)
    assert isinstance(named.evaluate(obs(answered(1)), START), ex.Pending)
    assert isinstance(h2pat.StreamError(errors=ERROR).evaluate(obs(answered(3)), START), ex.Pending)


def test_a_close_during_a_wait_for_no_frame_leaves_the_rule_unexercised() -> None:
    """A target may close at any time (Apache resets a few connections when it is busy): the
    forbidden frame can no longer come, but the wait was cut short: not exercised, never a
    FAIL. The forbidden frame before the close still FAILs, and a close after the whole wait
    changes nothing."""
    no_ack = h2pat.NoFrameFor(
        pattern=h2pat.FramePattern(frame_type=fr.FrameType.SETTINGS, flags=fr.Flag.ACK), ms=300
    )
    closed = no_ack.evaluate(obs(ping_ack(), ConnectionClosed(reset=True), timed_out=True), START)
    assert closed == ex.Matched(end=1, grade=ex.Grade.UNEXERCISED)
    acked = no_ack.evaluate(
        obs(fr.SettingsFrame(flags=fr.Flag.ACK), ConnectionClosed(), timed_out=True), START
    )
    assert isinstance(acked, ex.Mismatch)
    late = ex.Observation(events=[ConnectionClosed()], received=0, elapsed=0.4, timed_out=True)
    assert no_ack.evaluate(late, START) == ex.Matched(end=1)


def test_a_refusal_decided_by_the_head_leaves_a_malformed_request_rule_unexercised() -> None:
    """§8.1.1: a server MAY answer a malformed request before resetting its stream, so a 4xx
    alone is acceptable (NON-STRICT). Where the malformed part follows the head (content,
    trailers), a 404, 405 or 501 (a static handler's answer to a POST) is decided by the head
    alone: with or without RST_STREAM(NO_ERROR) after it, nothing shows the malformed part
    was read. The stream error after it is still the preferred handling, and a success or
    another 5xx still FAILs; where the head itself is malformed, the 405 is NON-STRICT and the
    501 FAILs, as before."""
    malformed = h2pat.StreamError(errors=ERROR, malformed=True, after_head=True)
    unexercised = ex.Matched(end=1, grade=ex.Grade.UNEXERCISED)
    done = fr.RstStreamFrame(stream_id=1, error_code=fr.ErrorCode.NO_ERROR, length=4)
    reset = fr.RstStreamFrame(stream_id=1, error_code=fr.ErrorCode.PROTOCOL_ERROR, length=4)
    for status in (404, 405, 501):
        assert malformed.evaluate(obs(answered(1, status)), START) == unexercised
        assert malformed.evaluate(obs(answered(1, status), done), START) == unexercised
        assert malformed.evaluate(obs(answered(1, status), reset), START) == ex.Matched(end=2)
    assert malformed.evaluate(obs(answered(1, 400)), START) == ex.Matched(end=1, grade=ex.Grade.NON_STRICT)
    assert malformed.evaluate(obs(answered(1, 400), reset), START) == ex.Matched(end=2)
    for status in (200, 500):
        assert isinstance(malformed.evaluate(obs(answered(1, status)), START), ex.Mismatch)
    in_head = h2pat.StreamError(errors=ERROR, malformed=True)
    assert in_head.evaluate(obs(answered(1, 405)), START) == ex.Matched(end=1, grade=ex.Grade.NON_STRICT)
    assert isinstance(in_head.evaluate(obs(answered(1, 501)), START), ex.Mismatch)
