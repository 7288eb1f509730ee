"""Expectations and how they match what a connection observed: pure functions, no I/O.

The driver asks an expectation, every time something new is observed (and when the step's
deadline passes), whether it is decided. The same function judges a recorded transcript
after the fact, so judging stays a pure function of the case and what was observed.

Matching is by *events* (a response, a frame, the connection closing), each of which the
codecs describe in one line, so expected and observed read the same way everywhere.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from conformance.codecs.common import ConnectionClosed, Event


class Grade(enum.IntEnum):
    """How good a match is; a case takes the worst grade of its steps."""

    PASS = 0
    NON_STRICT = 1
    UNIMPLEMENTED = 2
    # The target did something the RFC allows that never reached the rule under test (it
    # answered from the request's head and closed before the malformed part was read): the
    # case says so (SKIPPED, "not exercised") rather than grading the rule.
    UNEXERCISED = 3


@dataclass(frozen=True, kw_only=True)
class Observation:
    """Everything a connection has observed so far, as seen by one ``expect`` step."""

    events: Sequence[Event]
    received: int  # bytes received on the connection so far
    elapsed: float  # seconds since the step began
    timed_out: bool  # the step's deadline passed, or nothing more can arrive


@dataclass(frozen=True, kw_only=True)
class Cursor:
    """Where a step starts reading: an index into the events and a received-bytes count."""

    index: int
    received: int


@dataclass(frozen=True, kw_only=True)
class Matched:
    end: int  # index just past the last event consumed
    grade: Grade = Grade.PASS


@dataclass(frozen=True, kw_only=True)
class Mismatch:
    observed: str  # what was seen instead, in a server author's words
    end: int  # index just past the last event looked at
    # The index of the event the mismatch was decided on (None: the deadline); how the observed
    # text is built, not part of what a mismatch is.
    at: int | None = field(default=None, compare=False)
    # When ``observed`` only lists the events it saw: the same list again, keeping these events
    # too (a ``one_of`` keeps the event each of its alternatives was decided on).
    relist: Callable[[Collection[int]], str] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class Pending:
    wake_after: float | None = None  # seconds since step start when to ask again


Outcome = Matched | Mismatch | Pending


class Overflow:
    """The harness stopped reading: the target sent more than the per-case byte cap."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def describe(self) -> str:
        return f"more than {self.limit} bytes received; the harness stopped reading"

    def detail(self) -> dict[str, object]:
        return {"type": "overflow", "limit": self.limit}


#: Events an observed text lists at most (and the few it must keep besides).
LISTED = 5


def listing(
    events: Sequence[Event],
    start: int,
    end: int | None = None,
    *,
    keep: Collection[int] = (),
    shown: Callable[[Event], bool] | None = None,
    limit: int = LISTED,
) -> list[str]:
    """The descriptions of ``events[start:end]`` (those ``shown``), in order: all of them when
    there are few, else the first ones, the last one and every one in ``keep`` -- the events
    that decided the outcome, never left out -- with how many were left out between them
    ("3 more events"), so that a GOAWAY in the middle of a long exchange is not hidden."""
    stop = len(events) if end is None else end
    indexes = [i for i in range(start, stop) if shown is None or shown(events[i]) or i in keep]
    if len(indexes) <= limit:
        return [events[i].describe() for i in indexes]
    kept = {i for i in keep if start <= i < stop} | {indexes[-1]}
    chosen = kept | set(indexes[: max(1, limit - len(kept))])
    parts: list[str] = []
    left_out = 0
    for index in indexes:
        if index not in chosen:
            left_out += 1
            continue
        if left_out:
            parts.append(f"{left_out} more event{'s' if left_out > 1 else ''}")
            left_out = 0
        parts.append(events[index].describe())
    return parts


def observed_after(obs: Observation, start: int, *, keep: Collection[int] = ()) -> str:
    """Describe the events from ``start`` on (keeping those in ``keep``), and how the wait ended."""
    parts = listing(obs.events, start, keep=keep)
    if not parts:
        return f"nothing within {obs.elapsed:.1f} s"
    return "; then ".join(parts)


def consumed(events: Sequence[Event], start: int, end: int) -> str:
    """What a matched step consumed, ``events[start:end]``: the event that matched last, always."""
    return "; ".join(listing(events, start, end, keep=(end - 1,) if end > start else ()))


def unmatched_after(obs: Observation, start: int) -> Mismatch:
    """The mismatch of a wait that ended (deadline or close) with nothing that matched: the
    events from ``start`` on, listed again with other deciding events when asked."""
    return Mismatch(
        observed=observed_after(obs, start),
        end=len(obs.events),
        relist=lambda keep: observed_after(obs, start, keep=keep),
    )


@dataclass(frozen=True, kw_only=True)
class Expectation(abc.ABC):
    """Something an ``expect`` step waits for."""

    strict: bool = True  # False: matching is acceptable, not preferred (NON-STRICT)
    unimplemented: bool = False  # True: matching means an optional feature is absent
    unexercised: bool = False  # True: matching means the rule under test was never reached

    @abc.abstractmethod
    def describe(self) -> str: ...

    @abc.abstractmethod
    def _evaluate(self, obs: Observation, cursor: Cursor) -> Outcome: ...

    @property
    def min_duration(self) -> float:
        """Seconds the expectation needs at the least (a silence); the deadline adds it."""
        return 0.0

    def evaluate(self, obs: Observation, cursor: Cursor) -> Outcome:
        outcome = self._evaluate(obs, cursor)
        if isinstance(outcome, Matched):
            grade = outcome.grade
            if self.unexercised:
                grade = max(grade, Grade.UNEXERCISED)
            elif self.unimplemented:
                grade = max(grade, Grade.UNIMPLEMENTED)
            elif not self.strict:
                grade = max(grade, Grade.NON_STRICT)
            return Matched(end=outcome.end, grade=grade)
        return outcome

    def describe_with_grade(self) -> str:
        text = self.describe()
        if self.unexercised:
            return f"{text} (the rule is not exercised)"
        if self.unimplemented:
            return f"{text} (feature not offered)"
        if not self.strict:
            return f"{text} (acceptable, not preferred)"
        return text


class EventPattern(Expectation):
    """Matches the next event (passing over events :meth:`skips`) against a pattern."""

    def skips(self, event: Event) -> bool:
        return False

    @abc.abstractmethod
    def check(self, event: Event) -> str | None:
        """``None`` when the event matches, else why not (what was observed)."""

    def _evaluate(self, obs: Observation, cursor: Cursor) -> Outcome:
        for index in range(cursor.index, len(obs.events)):
            event = obs.events[index]
            if self.skips(event):
                continue
            problem = self.check(event)
            if problem is None:
                return Matched(end=index + 1)
            return Mismatch(observed=problem, end=index + 1, at=index)
        if obs.timed_out:
            return unmatched_after(obs, cursor.index)
        return Pending()


@dataclass(frozen=True, kw_only=True)
class Closed(EventPattern):
    """The target closes the connection before sending anything more."""

    allow_reset: bool = True
    require_reset: bool = False  # only a reset (RST) matches

    def describe(self) -> str:
        if self.require_reset:
            return "the connection reset (RST)"
        return "the connection closed" if self.allow_reset else "the connection closed cleanly (FIN)"

    def skips(self, event: Event) -> bool:
        # What is observed beside the wire (a client under test exiting), or on it but outside
        # any message (empty lines a client sent after its request, a finding of their own),
        # says nothing about whether the connection closed.
        return bool(getattr(event, "beside_the_wire", False) or getattr(event, "outside_messages", False))

    def check(self, event: Event) -> str | None:
        if isinstance(event, ConnectionClosed):
            if event.reset and not self.allow_reset:
                return event.describe()
            if self.require_reset and not event.reset:
                return event.describe()
            return None
        return event.describe()

    def _evaluate(self, obs: Observation, cursor: Cursor) -> Outcome:
        outcome = super()._evaluate(obs, cursor)
        if isinstance(outcome, Mismatch) and cursor.index >= len(obs.events):
            return Mismatch(observed=f"the connection still open after {obs.elapsed:.1f} s", end=cursor.index)
        return outcome


@dataclass(frozen=True, kw_only=True)
class Silence(Expectation):
    """Nothing at all arrives, and the connection stays open, for ``ms`` milliseconds."""

    ms: int

    def describe(self) -> str:
        return f"nothing from the target for {self.ms} ms"

    @property
    def min_duration(self) -> float:
        return self.ms / 1000

    def _evaluate(self, obs: Observation, cursor: Cursor) -> Outcome:
        if len(obs.events) > cursor.index:
            # The first event broke the silence: it decided.
            return Mismatch(
                observed=observed_after(obs, cursor.index, keep=(cursor.index,)),
                end=len(obs.events),
                at=cursor.index,
                relist=lambda keep: observed_after(obs, cursor.index, keep={cursor.index, *keep}),
            )
        if obs.received > cursor.received:
            return Mismatch(
                observed=f"{obs.received - cursor.received} bytes after {obs.elapsed * 1000:.0f} ms"
                " (not yet a whole message)",
                end=cursor.index,
            )
        if obs.elapsed >= self.ms / 1000:
            return Matched(end=cursor.index)
        if obs.timed_out:
            return Mismatch(observed="the wait was cut short", end=cursor.index)
        return Pending(wake_after=self.ms / 1000)


def _earliest(*wakes: float | None) -> float | None:
    present = [w for w in wakes if w is not None]
    return min(present) if present else None


@dataclass(frozen=True, kw_only=True)
class Allowed(Expectation):
    """A named set of behaviours the RFCs always allow a server at such a point (an early
    answer then a close, a graceful GOAWAY, a documented limit), shared by the cases that
    include it with ``allow: NAME`` (scenario/allowances/). It reads as its summary."""

    name: str
    summary: str
    inner: Expectation

    def describe(self) -> str:
        return f"{self.summary} [{self.name}]"

    @property
    def min_duration(self) -> float:
        return self.inner.min_duration

    def _evaluate(self, obs: Observation, cursor: Cursor) -> Outcome:
        return self.inner.evaluate(obs, cursor)


@dataclass(frozen=True, kw_only=True)
class OneOf(Expectation):
    """One of several outcomes; when several could match, the first listed wins, whatever
    its grade: a later alternative that has matched waits while an earlier one is undecided
    (an HTTP/1.0 answer, say, that is listed before a plain one, to be told apart by the
    close that follows it). List what decides soonest first where the order means nothing.
    """

    alternatives: tuple[Expectation, ...]

    def describe(self) -> str:
        return "one of: " + "; or ".join(alt.describe_with_grade() for alt in self.alternatives)

    @property
    def min_duration(self) -> float:
        return max((alt.min_duration for alt in self.alternatives), default=0.0)

    def _evaluate(self, obs: Observation, cursor: Cursor) -> Outcome:
        wake: float | None = None
        mismatches: list[Mismatch] = []
        for alternative in self.alternatives:
            outcome = alternative.evaluate(obs, cursor)
            if isinstance(outcome, Matched):
                return outcome  # every earlier alternative has already mismatched
            if isinstance(outcome, Pending):
                return Pending(wake_after=_earliest(wake, outcome.wake_after))
            mismatches.append(outcome)
        end = max((m.end for m in mismatches), default=cursor.index)
        # Say what was seen once, from the alternative that looked furthest, keeping the event
        # each alternative was decided on: a GOAWAY that failed one alternative must not be
        # left out of the list that another, decided later by the close, shows.
        furthest = max(mismatches, key=lambda m: m.end, default=None)
        if furthest is None:
            return unmatched_after(obs, cursor.index)
        deciding = {m.at for m in mismatches if m.at is not None}
        observed = furthest.relist(deciding) if furthest.relist is not None else furthest.observed
        return Mismatch(observed=observed, end=end, at=furthest.at, relist=furthest.relist)


@dataclass(frozen=True, kw_only=True)
class AllOf(Expectation):
    """Several outcomes, in any order: each item may match anywhere from the cursor on."""

    items: tuple[Expectation, ...]

    def describe(self) -> str:
        return "all of: " + "; and ".join(item.describe_with_grade() for item in self.items)

    @property
    def min_duration(self) -> float:
        return max((item.min_duration for item in self.items), default=0.0)

    def _evaluate(self, obs: Observation, cursor: Cursor) -> Outcome:
        end = cursor.index
        grade = Grade.PASS
        wake: float | None = None
        for item in self.items:
            found: Outcome = Pending()
            first: Mismatch | None = None  # how the item failed from the cursor
            for start in range(cursor.index, len(obs.events) + 1):
                outcome = item.evaluate(obs, Cursor(index=start, received=cursor.received))
                if isinstance(outcome, Matched):
                    found = outcome
                    break
                if isinstance(outcome, Pending):
                    found = outcome
                elif first is None:
                    first = outcome
            if isinstance(found, Matched):
                end = max(end, found.end)
                grade = max(grade, found.grade)
            elif isinstance(found, Pending) and not obs.timed_out:
                wake = _earliest(wake, found.wake_after)
                return Pending(wake_after=wake)
            else:
                at = first.at if first is not None else None
                keep = () if at is None else (at,)
                return Mismatch(
                    observed=f"no {item.describe()}: {observed_after(obs, cursor.index, keep=keep)}",
                    end=len(obs.events),
                    at=at,
                )
        return Matched(end=end, grade=grade)


@dataclass(frozen=True, kw_only=True)
class Sequence_(Expectation):
    """Several outcomes, one after another."""

    items: tuple[Expectation, ...]

    def describe(self) -> str:
        return ", then ".join(item.describe_with_grade() for item in self.items)

    @property
    def min_duration(self) -> float:
        return sum(item.min_duration for item in self.items)

    def _evaluate(self, obs: Observation, cursor: Cursor) -> Outcome:
        grade = Grade.PASS
        for item in self.items:
            outcome = item.evaluate(obs, cursor)
            if not isinstance(outcome, Matched):
                return outcome
            grade = max(grade, outcome.grade)
            cursor = Cursor(index=outcome.end, received=obs.received)
        return Matched(end=cursor.index, grade=grade)
