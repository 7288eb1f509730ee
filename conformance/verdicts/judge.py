"""From what happened in a case to its one verdict: a pure function."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from conformance.codecs.common import Event
from conformance.results import CaseResult, TranscriptEntry
from conformance.scenario import model
from conformance.verdicts.expectations import Grade
from conformance.verdicts.verdict import Requirement, Verdict


@dataclass(frozen=True, kw_only=True)
class StepFailure:
    index: int  # 1-based, counting the implicit connect
    step: model.Step  # an expect step, or a connect step whose protocol opening failed
    observed: str
    expected: str = ""  # what the step wanted; an expect step's expectation when empty

    @property
    def expected_text(self) -> str:
        if self.expected or not isinstance(self.step, model.Expect):
            return self.expected
        return self.step.expectation.describe()


def _violation_notes(events: Sequence[Event]) -> tuple[str, ...]:
    """Findings about the target's own output that did not decide the verdict."""
    notes: list[str] = []
    seen: set[str] = set()
    for event in events:
        violations = list(getattr(event, "violations", ()) or ())
        single = getattr(event, "violation", None)
        if single is not None:
            violations.append(single)
        for violation in violations:
            if violation.code not in seen:
                seen.add(violation.code)
                notes.append(f"the target's output broke a rule: {violation.describe()}")
    return tuple(notes)


def judge(
    case: model.Case,
    *,
    grades: Sequence[Grade],
    failure: StepFailure | None,
    error: str | None,
    events: Sequence[Event] = (),
    matched: Sequence[str] = (),
    duration: float = 0.0,
    transcript: tuple[TranscriptEntry, ...] = (),
    truncated: bool = False,
    closing: Any = None,
) -> CaseResult:
    expected = observed = step_text = ""
    step: int | None = None
    if error is not None:
        verdict = Verdict.ERROR
        observed = error
        expected = "the case to run to its end"
    elif failure is not None:
        verdict = Verdict.FAIL
        expected = failure.expected_text
        observed = failure.observed
        step = failure.index
        step_text = failure.step.describe()
    else:
        if Grade.UNEXERCISED in grades:
            verdict = Verdict.SKIPPED
        elif Grade.UNIMPLEMENTED in grades:
            verdict = Verdict.UNIMPLEMENTED
        elif Grade.NON_STRICT in grades:
            verdict = Verdict.NON_STRICT
        else:
            verdict = Verdict.PASS
        expects = [s for s in case.steps if isinstance(s, model.Expect)]
        expected = "; then ".join(s.expectation.describe() for s in expects)
        observed = "; then ".join(matched) if matched else _summary(grades)
        if verdict is not Verdict.PASS:
            observed = f"{observed} ({_summary(grades)})"
    if case.requirement is Requirement.INFO and verdict in (Verdict.PASS, Verdict.NON_STRICT, Verdict.FAIL):
        verdict = Verdict.INFORMATIONAL  # expected and observed stay, for the record
    notes = _violation_notes(events)
    if case.declared_requirement is not None:
        from conformance.verdicts.profiles import STRICT_NOTE

        notes = (STRICT_NOTE, *notes)
    close_dimension = None
    if case.protocol == "ws":
        from conformance.verdicts.ws import closing_verdict

        expectations = [s.expectation for s in case.steps if isinstance(s, model.Expect)]
        found = closing_verdict(closing, events, expectations)
        if found is not None:
            close_dimension = {"verdict": found.verdict.value, **found.detail}
    return CaseResult(
        **_about(case),
        closing=close_dimension,
        verdict=verdict,
        expected=expected,
        observed=observed,
        step=step,
        step_text=step_text,
        notes=notes,
        duration_s=duration,
        transcript=transcript,
        truncated=truncated,
    )


def skipped(case: model.Case, reason: str) -> CaseResult:
    """A case that did not run: the target does not offer what it requires."""
    return CaseResult(
        **_about(case),
        verdict=Verdict.SKIPPED,
        expected="; then ".join(s.expectation.describe() for s in case.steps if isinstance(s, model.Expect)),
        observed=reason,
    )


def _about(case: model.Case) -> dict[str, Any]:
    """What a result repeats of its case."""
    return {
        "id": case.id,
        "title": case.title,
        "protocol": case.protocol,
        "rfc": case.rfc,
        "section": case.section,
        "requirement": case.requirement,
        "reference": case.reference,
        "rule": case.rule.describe() if case.rule is not None else "",
        "aliases": case.aliases,
        "tags": case.tags,
        "declared_requirement": case.declared_requirement,
    }


def _summary(grades: Sequence[Grade]) -> str:
    if Grade.UNEXERCISED in grades:
        return "not exercised: the target did something the RFC allows before the rule under test applied"
    if Grade.UNIMPLEMENTED in grades:
        return "the target does not offer this optional feature"
    if Grade.NON_STRICT in grades:
        return "an acceptable, not preferred, outcome"
    return "as expected"
