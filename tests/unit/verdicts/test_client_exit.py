"""The client's exit in client mode: rejected, accepted, and accepted after it reset the response."""

from __future__ import annotations

from conformance.codecs.h2frames import GoAwayFrame, RstStreamFrame
from conformance.verdicts.client import ClientExited, ExitPattern
from conformance.verdicts.expectations import Cursor, Grade, Matched, Mismatch, Observation

START = Cursor(index=0, received=0)
REJECTED = ExitPattern(accepted=False)


def obs(*events: object) -> Observation:
    return Observation(events=list(events), received=0, elapsed=0.1, timed_out=True)  # type: ignore[arg-type]


def test_a_rejecting_client_passes_and_an_accepting_one_fails() -> None:
    assert REJECTED.evaluate(obs(ClientExited(status=1)), START) == Matched(end=1)
    assert isinstance(REJECTED.evaluate(obs(ClientExited(status=0)), START), Mismatch)


def test_accepting_after_resetting_the_stream_on_the_wire_is_non_strict() -> None:
    """The client found the error and said so (RST_STREAM or GOAWAY with an error code), then
    exited 0: no RFC sentence binds what it reports; acceptable, not preferred."""
    reset = RstStreamFrame(length=4, stream_id=1, error_code=1)
    goaway = GoAwayFrame(length=8, error_code=6)
    for sent in (reset, goaway):
        outcome = REJECTED.evaluate(obs(sent, ClientExited(status=0)), START)
        assert isinstance(outcome, Matched) and outcome.grade is Grade.NON_STRICT
    # A graceful GOAWAY (NO_ERROR) says nothing about the response.
    graceful = GoAwayFrame(length=8, error_code=0)
    assert isinstance(REJECTED.evaluate(obs(graceful, ClientExited(status=0)), START), Mismatch)
