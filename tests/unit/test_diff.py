"""``conformance diff``: classifying verdict changes between two runs, and rendering them."""

from __future__ import annotations

import json

import pytest

from conformance.diff import classify, diff_runs, render_json_diff, render_markdown_diff, render_text
from conformance.results import CaseResult, RunResults, TargetResults
from conformance.verdicts.verdict import Requirement, Verdict

P, NS, F, E, S, INFO, U = (
    Verdict.PASS,
    Verdict.NON_STRICT,
    Verdict.FAIL,
    Verdict.ERROR,
    Verdict.SKIPPED,
    Verdict.INFORMATIONAL,
    Verdict.UNIMPLEMENTED,
)


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        (P, P, None),
        (P, F, "regression"),
        (NS, F, "regression"),
        (E, F, "regression"),  # it runs again, and FAILs
        (P, E, "regression"),  # it stopped running
        (S, E, "regression"),
        (F, E, "changed"),  # neither better nor worse: we cannot tell
        (F, P, "fix"),
        (F, NS, "fix"),
        (E, P, "fix"),
        (E, S, "fix"),
        (P, NS, "changed"),
        (NS, P, "changed"),
        (INFO, U, "changed"),
    ],
)
def test_classify(old: Verdict, new: Verdict, kind: str | None) -> None:
    assert classify(old, new) == kind


def result(
    case_id: str, verdict: Verdict, requirement: Requirement = Requirement.MUST, **kw: object
) -> CaseResult:
    protocol, rfc, section, _ = case_id.split("/")
    return CaseResult(
        id=case_id,
        title=f"title {case_id}",
        protocol=protocol,
        rfc=rfc,
        section=section,
        requirement=requirement,
        verdict=verdict,
        **kw,  # type: ignore[arg-type]
    )


def run(*targets: TargetResults) -> RunResults:
    return RunResults(tool_version="0.1.0", started_at="s", duration_s=1.0, targets=targets)


OLD = run(
    TargetResults(
        name="nginx",
        url="u",
        cases=(
            result("h1/9112/2/same", P),
            result("h1/9112/2/breaks", P),
            result("h1/9112/2/should-breaks", P, Requirement.SHOULD),
            result("h1/9112/2/fixed", F),
            result("h1/9112/2/softer", P),
            result("h1/9112/2/gone", F),
        ),
    ),
    TargetResults(name="retired", url="u", cases=(result("h1/9112/2/same", P),)),
)
NEW = run(
    TargetResults(
        name="nginx",
        url="u",
        cases=(
            result("h1/9112/2/same", P),
            result("h1/9112/2/breaks", F, observed="a 200 response"),
            result("h1/9112/2/should-breaks", F, Requirement.SHOULD),
            result("h1/9112/2/fixed", P),
            result("h1/9112/2/softer", NS),
            result("h1/9112/2/added", F),
        ),
    ),
    TargetResults(name="fresh", url="u", cases=(result("h1/9112/2/same", F, known_failure="known"),)),
)


def test_diff_runs_finds_every_kind_per_target() -> None:
    diff = diff_runs(OLD, NEW)
    described = {(c.kind, c.target, c.describe()) for c in diff.changes}
    assert described == {
        ("regression", "nginx", "h1/9112/2/breaks: PASS -> FAIL"),
        ("regression", "nginx", "h1/9112/2/should-breaks: PASS -> FAIL"),
        ("fix", "nginx", "h1/9112/2/fixed: FAIL -> PASS"),
        ("changed", "nginx", "h1/9112/2/softer: PASS -> NON-STRICT"),
        ("new", "nginx", "h1/9112/2/added: absent -> FAIL"),
        ("removed", "nginx", "h1/9112/2/gone: FAIL -> absent"),
        ("new", "fresh", "h1/9112/2/same: absent -> FAIL (known: in the baseline)"),
        ("removed", "retired", "h1/9112/2/same: PASS -> absent"),
    }
    assert diff.unchanged == 1
    assert diff.targets_added == ("fresh",) and diff.targets_removed == ("retired",)
    assert [c.case_id for c in diff.gating(Requirement.MUST)] == ["h1/9112/2/breaks"]
    assert {c.case_id for c in diff.gating(Requirement.SHOULD)} == {
        "h1/9112/2/breaks",
        "h1/9112/2/should-breaks",
    }
    assert diff_runs(OLD, OLD).changes == () and diff_runs(OLD, OLD).gating() == ()


def test_a_regression_the_new_baseline_expects_does_not_gate() -> None:
    old = run(TargetResults(name="t", url="u", cases=(result("h1/9112/2/x", P),)))
    new = run(TargetResults(name="t", url="u", cases=(result("h1/9112/2/x", F, known_failure="why"),)))
    (change,) = diff_runs(old, new).changes
    assert change.kind == "regression" and not change.gates(Requirement.MAY)


def test_renderers() -> None:
    diff = diff_runs(OLD, NEW)
    text = render_text(diff)
    assert "Regressions (2):\n  nginx  MUST   h1/9112/2/breaks: PASS -> FAIL\n" in text
    assert "target fresh: only in the new run" in text and "target retired: only in the old run" in text
    assert text.endswith(
        "2 regressions, 1 fixes, 1 other changes, 2 new cases, 2 removed cases, 1 unchanged; 1 gating at MUST\n"
    )
    markdown = render_markdown_diff(diff, Requirement.SHOULD)
    assert "## Regressions (2)" in markdown
    assert "| nginx | `h1/9112/2/breaks` | MUST | PASS | FAIL |" in markdown
    assert "| fresh | `h1/9112/2/same` | MUST | – | FAIL (known) |" in markdown
    document = json.loads(render_json_diff(diff))
    assert document["gating"] == 1 and document["fail_on"] == "MUST"
    assert document["counts"] == {
        "regression": 2,
        "fix": 1,
        "changed": 1,
        "new": 2,
        "removed": 2,
        "unchanged": 1,
    }
    first = next(c for c in document["changes"] if c["id"] == "h1/9112/2/breaks")
    assert first == {
        "target": "nginx",
        "id": "h1/9112/2/breaks",
        "kind": "regression",
        "old": "PASS",
        "new": "FAIL",
        "requirement": "MUST",
        "title": "title h1/9112/2/breaks",
        "observed": "a 200 response",
        "known_failure": None,
    }
