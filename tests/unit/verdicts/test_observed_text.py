"""The observed text of a mismatch names the event that decided it, however long the
exchange: a FAIL decided by a GOAWAY in the middle must not read like a close."""

from __future__ import annotations

from typing import Any

from conformance.codecs import h2frames as fr
from conformance.codecs.common import ConnectionClosed
from conformance.codecs.ws.frames import Frame, Opcode
from conformance.verdicts import expectations as ex
from conformance.verdicts import h2 as h2pat
from conformance.verdicts import ws as wspat

START = ex.Cursor(index=0, received=0)
# Not a generic code: PROTOCOL_ERROR and INTERNAL_ERROR "can always be used" (RFC 9113 §5.4).
WRONG = fr.GoAwayFrame(error_code=fr.ErrorCode.FLOW_CONTROL_ERROR, last_stream_id=1, length=8)


def obs(*events: Any, timed_out: bool = False) -> ex.Observation:
    return ex.Observation(events=list(events), received=0, elapsed=0.1, timed_out=timed_out)


def chatter(count: int) -> list[fr.Frame]:
    return [fr.WindowUpdateFrame(increment=n + 1, length=4) for n in range(count)]


def test_an_h2_failure_decided_by_a_goaway_in_the_middle_shows_it() -> None:
    """A stream error expected: the GOAWAY with another code fails it; the response
    alternative looks on, to the close. The text shows the GOAWAY, and what was left out."""
    events = [fr.SettingsFrame(length=0), *chatter(4), WRONG, *chatter(3), ConnectionClosed()]
    one_of = ex.OneOf(
        alternatives=(
            h2pat.StreamError(errors=frozenset({fr.ErrorCode.PROTOCOL_ERROR}), stream=1),
            h2pat.ResponsePattern(stream=1),
        )
    )
    outcome = one_of.evaluate(obs(*events), START)
    assert isinstance(outcome, ex.Mismatch)
    assert WRONG.describe() in outcome.observed, outcome.observed
    assert "more events" in outcome.observed and outcome.observed.endswith("connection closed by the target")


def test_an_h2_mismatch_decided_late_keeps_its_deciding_event_and_counts_the_rest() -> None:
    events = [fr.SettingsFrame(length=0), *chatter(6), WRONG]
    outcome = h2pat.ConnectionError_(errors=frozenset({fr.ErrorCode.PROTOCOL_ERROR})).evaluate(
        obs(*events), START
    )
    assert isinstance(outcome, ex.Mismatch) and outcome.at == len(events) - 1
    assert outcome.observed.endswith(WRONG.describe())
    assert "3 more events" in outcome.observed, outcome.observed


def test_a_websocket_wait_that_ran_out_lists_the_last_event_too() -> None:
    pieces = [Frame(opcode=Opcode.CONTINUATION, payload=b"%d" % n, length=1, fin=False) for n in range(8)]
    outcome = wspat.MessagePattern(echo=True).evaluate(obs(*pieces, timed_out=True), START)
    assert isinstance(outcome, ex.Mismatch)
    assert outcome.observed.endswith(pieces[-1].describe()) and "more events" in outcome.observed
