"""Expectation matching is a pure function of the events observed and the time passed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from conformance.codecs.common import ConnectionClosed
from conformance.verdicts import expectations as ex


@dataclass(frozen=True)
class Note:
    """A stand-in event whose pattern matches by name."""

    name: str

    def describe(self) -> str:
        return f"note {self.name}"

    def detail(self) -> dict[str, Any]:
        return {"name": self.name}


@dataclass(frozen=True, kw_only=True)
class NoteIs(ex.EventPattern):
    name: str
    skip: str = ""

    def describe(self) -> str:
        return f"note {self.name}"

    def skips(self, event: Any) -> bool:
        return isinstance(event, Note) and event.name == self.skip

    def check(self, event: Any) -> str | None:
        return None if isinstance(event, Note) and event.name == self.name else event.describe()


def obs(*events: Any, elapsed: float = 0.0, timed_out: bool = False, received: int = 0) -> ex.Observation:
    return ex.Observation(events=list(events), received=received, elapsed=elapsed, timed_out=timed_out)


START = ex.Cursor(index=0, received=0)


def test_event_pattern_pending_then_matched_then_mismatch() -> None:
    pattern = NoteIs(name="a")
    assert isinstance(pattern.evaluate(obs(), START), ex.Pending)
    assert pattern.evaluate(obs(Note("a")), START) == ex.Matched(end=1)
    mismatch = pattern.evaluate(obs(Note("b")), START)
    assert mismatch == ex.Mismatch(observed="note b", end=1)
    timed = pattern.evaluate(obs(elapsed=2.0, timed_out=True), START)
    assert timed == ex.Mismatch(observed="nothing within 2.0 s", end=0)


def test_skipped_events_are_passed_over() -> None:
    pattern = NoteIs(name="a", skip="interim")
    assert pattern.evaluate(obs(Note("interim"), Note("a")), START) == ex.Matched(end=2)


def test_closed_matches_only_a_close_that_comes_next() -> None:
    closed = ex.Closed()
    assert closed.evaluate(obs(ConnectionClosed()), START) == ex.Matched(end=1)
    assert closed.evaluate(obs(ConnectionClosed(reset=True)), START) == ex.Matched(end=1)
    assert isinstance(closed.evaluate(obs(Note("a"), ConnectionClosed()), START), ex.Mismatch)
    clean_only = ex.Closed(allow_reset=False)
    assert isinstance(clean_only.evaluate(obs(ConnectionClosed(reset=True)), START), ex.Mismatch)
    reset_only = ex.Closed(require_reset=True)
    assert isinstance(reset_only.evaluate(obs(ConnectionClosed()), START), ex.Mismatch)
    assert reset_only.evaluate(obs(ConnectionClosed(reset=True)), START) == ex.Matched(end=1)
    still_open = closed.evaluate(obs(elapsed=2.0, timed_out=True), START)
    assert still_open == ex.Mismatch(observed="the connection still open after 2.0 s", end=0)


def test_silence_needs_its_whole_duration_and_no_bytes() -> None:
    silence = ex.Silence(ms=300)
    assert silence.evaluate(obs(elapsed=0.1), START) == ex.Pending(wake_after=0.3)
    assert silence.evaluate(obs(elapsed=0.3), START) == ex.Matched(end=0)
    early = silence.evaluate(obs(elapsed=0.1, received=5), START)
    assert isinstance(early, ex.Mismatch) and "5 bytes" in early.observed
    answered = silence.evaluate(obs(Note("x"), elapsed=0.1), START)
    assert answered == ex.Mismatch(observed="note x", end=1)
    assert silence.min_duration == 0.3


def test_one_of_prefers_the_first_listed() -> None:
    one_of = ex.OneOf(alternatives=(NoteIs(name="a"), ex.Closed(strict=False)))
    assert one_of.evaluate(obs(Note("a")), START) == ex.Matched(end=1, grade=ex.Grade.PASS)
    assert one_of.evaluate(obs(ConnectionClosed()), START) == ex.Matched(end=1, grade=ex.Grade.NON_STRICT)
    failed = one_of.evaluate(obs(Note("b")), START)
    assert isinstance(failed, ex.Mismatch) and failed.observed == "note b"
    assert one_of.describe() == "one of: note a; or the connection closed (acceptable, not preferred)"


def test_one_of_waits_for_a_better_pending_alternative() -> None:
    # The preferred alternative (a silence) is still undecided: a lesser match must wait.
    one_of = ex.OneOf(alternatives=(ex.Silence(ms=500), ex.Closed(unimplemented=True)))
    assert isinstance(one_of.evaluate(obs(elapsed=0.1), START), ex.Pending)
    assert one_of.evaluate(obs(elapsed=0.6), START) == ex.Matched(end=0, grade=ex.Grade.PASS)
    assert one_of.evaluate(obs(ConnectionClosed(), elapsed=0.2), START) == ex.Matched(
        end=1, grade=ex.Grade.UNIMPLEMENTED
    )


def test_one_of_an_earlier_alternative_wins_even_when_a_later_one_grades_better() -> None:
    # As the HTTP/1.1 keep-alive case: an HTTP/1.0-style answer, told apart by the close that
    # follows it, is listed before the plain answer that would PASS; the plain one, though
    # matched, must wait for the earlier one to be decided.
    one_of = ex.OneOf(
        alternatives=(
            ex.Sequence_(items=(NoteIs(name="a", unimplemented=True), ex.Closed())),
            NoteIs(name="a"),
        )
    )
    assert isinstance(one_of.evaluate(obs(Note("a"), elapsed=0.1), START), ex.Pending)
    assert one_of.evaluate(obs(Note("a"), ConnectionClosed()), START) == ex.Matched(
        end=2, grade=ex.Grade.UNIMPLEMENTED
    )
    assert one_of.evaluate(obs(Note("a"), timed_out=True), START) == ex.Matched(end=1)


def test_all_of_in_any_order() -> None:
    all_of = ex.AllOf(items=(NoteIs(name="a"), NoteIs(name="b")))
    assert all_of.evaluate(obs(Note("b"), Note("a")), START) == ex.Matched(end=2)
    assert isinstance(all_of.evaluate(obs(Note("b")), START), ex.Pending)
    missing = all_of.evaluate(obs(Note("b"), timed_out=True), START)
    assert isinstance(missing, ex.Mismatch) and missing.observed.startswith("no note a")


def test_sequence_in_order_and_grade_is_the_worst() -> None:
    sequence = ex.Sequence_(items=(NoteIs(name="a"), ex.Closed(strict=False)))
    assert sequence.evaluate(obs(Note("a"), ConnectionClosed()), START) == ex.Matched(
        end=2, grade=ex.Grade.NON_STRICT
    )
    assert isinstance(sequence.evaluate(obs(Note("a")), START), ex.Pending)
    assert isinstance(sequence.evaluate(obs(ConnectionClosed(), Note("a")), START), ex.Mismatch)


def test_cursor_starts_after_consumed_events() -> None:
    pattern = NoteIs(name="b")
    assert pattern.evaluate(obs(Note("a"), Note("b")), ex.Cursor(index=1, received=0)) == ex.Matched(end=2)


@pytest.mark.parametrize("elapsed", [0.0, 0.5, 10.0])
def test_overflow_is_never_a_close(elapsed: float) -> None:
    assert isinstance(ex.Closed().evaluate(obs(ex.Overflow(10), elapsed=elapsed), START), ex.Mismatch)


def test_a_long_listing_keeps_the_deciding_event_and_counts_what_it_leaves_out() -> None:
    events = [Note(str(n)) for n in range(12)]
    parts = ex.listing(events, 0, keep=(6,))
    assert parts == ["note 0", "note 1", "note 2", "3 more events", "note 6", "4 more events", "note 11"]
    assert ex.listing(events[:4], 0, keep=(2,)) == ["note 0", "note 1", "note 2", "note 3"]
    assert ex.listing(events, 10) == ["note 10", "note 11"]
    # What a matched step consumed ends with the event that matched.
    assert ex.consumed(events, 0, 8).endswith("note 7")


@dataclass(frozen=True, kw_only=True)
class NoteAmong(NoteIs):
    """A note, passing over the others that start with ``skip``."""

    def skips(self, event: Any) -> bool:
        return isinstance(event, Note) and event.name.startswith(self.skip)


def test_one_of_shows_the_event_each_alternative_was_decided_on() -> None:
    """An alternative failed by an event in the middle of a long exchange (as a GOAWAY with
    the wrong code) is not hidden by another that looked further, to the deadline."""
    events = [*(Note(f"x{n}") for n in range(6)), Note("wrong"), *(Note(f"x{n}") for n in range(6, 12))]
    one_of = ex.OneOf(alternatives=(NoteAmong(name="right", skip="x"), NoteAmong(name="never", skip="")))
    outcome = one_of.evaluate(obs(*events, timed_out=True), START)
    assert isinstance(outcome, ex.Mismatch)
    assert outcome.observed == (
        "note x0; then note x1; then note x2; then 3 more events; then note wrong; then 5 more events;"
        " then note x11"
    )
    # A silence broken by the first of many events, and an all_of item failed by one in the middle.
    silence = ex.Silence(ms=10).evaluate(obs(*events), START)
    assert isinstance(silence, ex.Mismatch) and silence.at == 0 and "more events" in silence.observed
    all_of = ex.AllOf(items=(NoteAmong(name="right", skip="x"),)).evaluate(
        obs(*events, timed_out=True), START
    )
    assert isinstance(all_of, ex.Mismatch) and "note wrong" in all_of.observed, all_of.observed
