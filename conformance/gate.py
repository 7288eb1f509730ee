"""The gate: whether a run passes at its ``--fail-on`` level, and why, in words.

One pure function of the results (:func:`judge_gate`) that the command line's exit status and
the reports that state the outcome (the HTML banner) both read, so that they cannot disagree.
A run fails its gate when a case at ``fail_on`` or stricter FAILed outside the baseline, when a
case ended in ERROR or a target could not be reached (unless ``allow_errors``), or when it was
interrupted before every case had run.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.results import RunResults
from conformance.verdicts.verdict import Requirement, Verdict


def level_text(fail_on: Requirement) -> str:
    """``"MUST"``, or ``"SHOULD or stricter"``: the levels that gate, in words."""
    return fail_on.value if fail_on is Requirement.MUST else f"{fail_on.value} or stricter"


def has_errors(results: RunResults) -> bool:
    """Whether the run cannot be trusted to have tested what it was asked to: a target could
    not be reached, or a case ended in ERROR (a server that died mid-run, say)."""
    return any(
        not target.reachable or any(case.verdict is Verdict.ERROR for case in target.cases)
        for target in results.targets
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


@dataclass(frozen=True, kw_only=True)
class GateOutcome:
    """What decides the gate, per target, and :attr:`passed`."""

    fail_on: Requirement
    allow_errors: bool = False
    interrupted: str = ""  # the signal that stopped the run, or ""
    baselined: bool = False  # the run was judged against a baseline: FAILs are "new" FAILs
    failures: tuple[tuple[str, int], ...] = ()  # (target, its FAILs that gate), where any
    errors: tuple[tuple[str, int], ...] = ()  # (target, its ERRORs), where any
    unreachable: tuple[str, ...] = ()  # the targets not one connection reached
    known: int = 0  # FAILs the baseline expects (never gate)

    @property
    def erred(self) -> bool:
        """Some case ended in ERROR or some target was out of reach (counted or not)."""
        return bool(self.errors or self.unreachable)

    @property
    def passed(self) -> bool:
        return not (self.failures or self.interrupted or (self.erred and not self.allow_errors))

    @property
    def level(self) -> str:
        return level_text(self.fail_on)

    def reasons(self) -> list[str]:
        """Why the gate failed (``"3 FAILs at MUST on nginx"``, ``"2 ERRORs on h2o"``,
        ``"interrupted (SIGINT)"``); for a passed gate, what it passed with."""
        new = "new " if self.baselined else ""
        out = [f"{_plural(n, new + 'FAIL')} at {self.level} on {name}" for name, n in self.failures]
        if self.passed:
            out.append(f"no {new}FAIL at {self.level}")
        unreachable = set(self.unreachable)
        errors = [
            f"{name} could not be reached" if name in unreachable else f"{_plural(n, 'ERROR')} on {name}"
            for name, n in self.errors
        ]
        errors += [
            f"{name} could not be reached" for name in self.unreachable if name not in dict(self.errors)
        ]
        if errors and self.allow_errors:
            out.append("; ".join(errors) + " (not counted: --allow-errors)")
        else:
            out += errors
        if self.interrupted:
            out.append(f"interrupted ({self.interrupted}) before every case had run")
        if self.known:
            out.append(f"{_plural(self.known, 'known FAIL')} expected by the baseline (not counted)")
        return out


def judge_gate(results: RunResults, fail_on: Requirement, *, allow_errors: bool = False) -> GateOutcome:
    """The gate of ``results`` at ``fail_on``: the outcome the exit status is computed from."""
    known = sum(len(target.known_failures()) for target in results.targets)
    return GateOutcome(
        fail_on=fail_on,
        allow_errors=allow_errors,
        interrupted=results.interrupted,
        baselined=bool(known or any(target.baseline for target in results.targets)),
        failures=tuple(
            (target.name, len(target.new_failures(fail_on)))
            for target in results.targets
            if target.new_failures(fail_on)
        ),
        errors=tuple(
            (target.name, n)
            for target in results.targets
            if (n := sum(1 for case in target.cases if case.verdict is Verdict.ERROR))
        ),
        unreachable=tuple(target.name for target in results.targets if not target.reachable),
        known=known,
    )


__all__ = ["GateOutcome", "has_errors", "judge_gate", "level_text"]
