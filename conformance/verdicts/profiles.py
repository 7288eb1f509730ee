"""Run profiles: how strictly a run reads the RFC's SHOULDs.

``default`` judges every case at the level its file gives. ``strict`` reads the generic
"SHOULD respond with 400" of RFC 9112 §2.2 as a MUST: a case tagged ``generic-400`` (one whose
requirement rests only on that rule) becomes a MUST case that accepts only its preferred
outcome — each ``strict: false`` alternative it lists (closing without an answer, another
4xx) is then a FAIL.

https://www.rfc-editor.org/rfc/rfc9112#section-2.2: "When a server listening only for HTTP
request messages, or processing what appears from the start-line to be an HTTP request
message, receives a sequence of octets that does not match the HTTP-message grammar aside
from the robustness exceptions listed above, the server SHOULD respond with a 400 (Bad
Request) response and close the connection."

A profile changes cases before they run (a pure transformation of the model), so the driver
and the judge know nothing of profiles; the results record the profile and, per case, the
level the case file gave when the profile raised it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from conformance.scenario import model
from conformance.verdicts.expectations import (
    Cursor,
    Expectation,
    Grade,
    Matched,
    Mismatch,
    Observation,
    OneOf,
    Outcome,
    consumed,
)
from conformance.verdicts.verdict import Requirement

GENERIC_400 = "generic-400"
PROFILES = {
    "default": "every case at the level its file gives",
    "strict": "RFC 9112 §2.2's generic 'SHOULD respond with 400' is a MUST: generic-400 cases accept "
    "only their preferred outcome",
}
STRICT_NOTE = (
    "strict profile: RFC 9112 §2.2's 'SHOULD respond with 400' is taken as a MUST; "
    "only the preferred outcome passes"
)


def _preferred(expectation: Expectation) -> str:
    """What an expectation asks for once its not-preferred alternatives no longer count."""
    if isinstance(expectation, OneOf):
        kept = [alt for alt in expectation.alternatives if alt.strict]
        if len(kept) == 1:
            return _preferred(kept[0])
        if kept:
            return "one of: " + "; or ".join(_preferred(alt) for alt in kept)
    return expectation.describe()


@dataclass(frozen=True, kw_only=True)
class PreferredOnly(Expectation):
    """Its inner expectation, where a match graded NON-STRICT is a mismatch."""

    inner: Expectation

    def describe(self) -> str:
        return _preferred(self.inner)

    @property
    def min_duration(self) -> float:
        return self.inner.min_duration

    def _evaluate(self, obs: Observation, cursor: Cursor) -> Outcome:
        outcome = self.inner.evaluate(obs, cursor)
        if isinstance(outcome, Matched) and outcome.grade is Grade.NON_STRICT:
            seen = (
                consumed(obs.events, cursor.index, outcome.end)
                or "an outcome acceptable only under the default profile"
            )
            return Mismatch(
                observed=f"{seen} (acceptable under the default profile, not under strict)",
                end=outcome.end,
                at=outcome.end - 1 if outcome.end > cursor.index else None,
            )
        return outcome


def apply_profile(case: model.Case, profile: str) -> model.Case:
    """The case as the profile judges it (the same object when the profile changes nothing)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r} (known: {', '.join(PROFILES)})")
    if profile != "strict" or GENERIC_400 not in case.tags:
        return case
    steps = tuple(
        dataclasses.replace(step, expectation=PreferredOnly(inner=step.expectation))
        if isinstance(step, model.Expect)
        else step
        for step in case.steps
    )
    return dataclasses.replace(
        case, requirement=Requirement.MUST, declared_requirement=case.requirement, steps=steps
    )
