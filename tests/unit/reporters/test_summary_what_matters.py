"""summary.md shows what matters: no matrix of cases that PASS wherever they ran (the default
run's targets each run their own suite), a matrix capped as the lists are, FAILs and ERRORs
first, and the gating FAILs named as regressions when a baseline was given."""

from __future__ import annotations

from conformance.baseline import BaselineEntry
from conformance.reporters.markdown import LIST_LIMIT, render_markdown
from conformance.results import CaseResult, RunResults, TargetResults
from conformance.verdicts.verdict import Requirement, Verdict


def case(case_id: str, verdict: Verdict = Verdict.PASS, **kw: object) -> CaseResult:
    protocol, rfc, section, _ = case_id.split("/")
    fields: dict[str, object] = {
        "id": case_id,
        "title": "t",
        "protocol": protocol,
        "rfc": rfc,
        "section": section,
        "requirement": Requirement.MUST,
        "verdict": verdict,
    }
    fields.update(kw)
    return CaseResult(**fields)  # type: ignore[arg-type]


def run_of(*targets: TargetResults) -> RunResults:
    return RunResults(tool_version="0.1.0", started_at="s", duration_s=1.0, targets=targets)


def test_the_default_runs_shape_makes_no_matrix_of_passes() -> None:
    """Three targets, each with its own 100 cases, all PASS: counts, and no row at all."""
    targets = tuple(
        TargetResults(name=f"reference-{p}", url="u", cases=tuple(case(f"{p}/1/2/c{n}") for n in range(100)))
        for p in ("h1", "h2", "ws")
    )
    page = render_markdown(run_of(*targets))
    assert "| reference\\-h1 | 100 | 0 | 0 | 0 | 0 | 0 | 0 | 100 |" in page
    assert (
        "No case FAILs, ends in ERROR or is NON-STRICT, and the targets agree on each of the 300 cases."
        in page
    )
    assert "| `h1/1/2/c0`" not in page and page.count("\n| ") == 4  # the counts table only


def test_the_matrix_shows_failures_first_and_stops_at_the_list_limit() -> None:
    a = TargetResults(
        name="a",
        url="u",
        cases=(
            *(case(f"h1/1/2/n{n:03d}", Verdict.NON_STRICT) for n in range(70)),
            case("h1/1/3/fails", Verdict.FAIL),
            case("h1/1/3/info", Verdict.INFORMATIONAL),
        ),
    )
    b = TargetResults(name="b", url="u", cases=(case("h1/1/3/info", Verdict.INFORMATIONAL),))
    page = render_markdown(run_of(a, b))
    matrix = page[page.index("## Matrix") :]
    rows = [line for line in matrix.splitlines() if line.startswith("| `")]
    assert len(rows) == LIST_LIMIT == 50
    assert rows[0] == "| `h1/1/3/fails` | FAIL | – |"
    assert "h1/1/3/info" not in matrix  # INFORMATIONAL wherever it ran: counted, not shown
    assert "71 of 72 cases FAIL, end in ERROR or are NON-STRICT on some target" in matrix
    assert "… and 21 more rows: see the full report" in matrix


def test_targets_that_disagree_are_shown_a_case_that_does_not_apply_is_no_difference() -> None:
    a = TargetResults(name="a", url="u", cases=(case("ws/1/2/x"), case("ws/1/2/y")))
    b = TargetResults(
        name="b", url="u", cases=(case("ws/1/2/x", Verdict.UNIMPLEMENTED), case("ws/1/2/y", Verdict.SKIPPED))
    )
    page = render_markdown(run_of(a, b))
    assert "| `ws/1/2/x` | PASS | UNIMPLEMENTED |" in page
    assert "ws/1/2/y" not in page  # SKIPPED over there: it does not apply


def test_with_a_baseline_the_gating_fails_are_called_regressions() -> None:
    entry = BaselineEntry(pattern="h1/1/2/old", reason="known", source="b.yaml:3")
    target = TargetResults(
        name="t",
        url="u",
        cases=(case("h1/1/2/new", Verdict.FAIL), case("h1/1/2/old", Verdict.FAIL, known_failure="known")),
        baseline=(entry,),
    )
    page = render_markdown(run_of(target))
    assert "### New FAIL at MUST, not in the baseline: regressions (1)" in page
    assert "### Known failures, expected by the baseline (1)" in page
    plain = render_markdown(
        run_of(TargetResults(name="t", url="u", cases=(case("h1/1/2/new", Verdict.FAIL),)))
    )
    assert "### FAIL at MUST (1)" in plain
