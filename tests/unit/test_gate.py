"""The gate (conformance.gate): passed or not, and why, from the same facts as the exit status."""

from __future__ import annotations

import dataclasses

import pytest

from conformance.gate import judge_gate
from conformance.results import CaseResult, RunResults, TargetResults
from conformance.verdicts.verdict import Requirement, Verdict


def result(n: int, verdict: Verdict, requirement: Requirement = Requirement.MUST, **kw: object) -> CaseResult:
    return CaseResult(
        id=f"h1/9112/2.2/case-{n}",
        title="t",
        protocol="h1",
        rfc="9112",
        section="2.2",
        requirement=requirement,
        verdict=verdict,
        **kw,  # type: ignore[arg-type]
    )


def run(*targets: TargetResults, interrupted: str = "") -> RunResults:
    return RunResults(
        tool_version="0", started_at="now", duration_s=1.0, targets=targets, interrupted=interrupted
    )


NGINX = TargetResults(
    name="nginx",
    url="http://127.0.0.1:8080/",
    cases=(
        result(1, Verdict.FAIL),
        result(2, Verdict.FAIL),
        result(3, Verdict.FAIL, Requirement.SHOULD),
        result(4, Verdict.PASS),
    ),
)
H2O = TargetResults(
    name="h2o",
    url="http://127.0.0.1:8081/",
    cases=(result(1, Verdict.ERROR), result(2, Verdict.ERROR), result(3, Verdict.PASS)),
)
CLEAN = TargetResults(name="clean", url="http://127.0.0.1:8082/", cases=(result(1, Verdict.PASS),))


def test_fails_at_the_level_are_counted_per_target() -> None:
    outcome = judge_gate(run(NGINX, CLEAN), Requirement.MUST)
    assert not outcome.passed
    assert outcome.reasons() == ["2 FAILs at MUST on nginx"]
    should = judge_gate(run(NGINX, CLEAN), Requirement.SHOULD)
    assert should.reasons() == ["3 FAILs at SHOULD or stricter on nginx"]


def test_errors_fail_the_gate_unless_allowed() -> None:
    outcome = judge_gate(run(H2O), Requirement.MUST)
    assert not outcome.passed
    assert outcome.reasons() == ["2 ERRORs on h2o"]
    allowed = judge_gate(run(H2O), Requirement.MUST, allow_errors=True)
    assert allowed.passed
    assert allowed.reasons() == ["no FAIL at MUST", "2 ERRORs on h2o (not counted: --allow-errors)"]


def test_an_unreachable_target_is_named() -> None:
    down = TargetResults(
        name="down", url="http://127.0.0.1:1/", reachable=False, cases=(result(1, Verdict.ERROR),)
    )
    empty = TargetResults(name="gone", url="http://127.0.0.1:2/", reachable=False, cases=())
    outcome = judge_gate(run(down, empty), Requirement.MUST)
    assert not outcome.passed
    assert outcome.reasons() == ["down could not be reached", "gone could not be reached"]


def test_an_interrupted_run_fails_its_gate() -> None:
    outcome = judge_gate(run(CLEAN, interrupted="SIGINT"), Requirement.MUST)
    assert not outcome.passed
    assert outcome.reasons() == ["interrupted (SIGINT) before every case had run"]


def test_a_clean_run_passes_and_known_failures_do_not_gate() -> None:
    assert judge_gate(run(CLEAN), Requirement.MUST).reasons() == ["no FAIL at MUST"]
    known = dataclasses.replace(
        NGINX,
        cases=tuple(
            dataclasses.replace(case, known_failure="tracked") if case.verdict is Verdict.FAIL else case
            for case in NGINX.cases
        ),
    )
    outcome = judge_gate(run(known), Requirement.SHOULD)
    assert outcome.passed
    assert outcome.reasons() == [
        "no new FAIL at SHOULD or stricter",
        "3 known FAILs expected by the baseline (not counted)",
    ]


@pytest.mark.parametrize(
    ("targets", "fail_on", "allow_errors", "status"),
    [
        ((NGINX,), Requirement.MUST, False, 1),
        ((NGINX, H2O), Requirement.MUST, True, 1),
        ((H2O,), Requirement.MUST, False, 3),
        ((H2O,), Requirement.MUST, True, 0),
        ((CLEAN,), Requirement.MAY, False, 0),
    ],
)
def test_the_cli_exit_status_reads_the_same_outcome(
    targets: tuple[TargetResults, ...], fail_on: Requirement, allow_errors: bool, status: int
) -> None:
    import io

    from rich.console import Console

    from conformance.cli import Gate, _exit_status

    results = run(*targets)
    console = Console(file=io.StringIO())
    assert _exit_status(results, Gate(fail_on=fail_on, allow_errors=allow_errors), console) == status
    assert judge_gate(results, fail_on, allow_errors=allow_errors).passed is (status == 0)
