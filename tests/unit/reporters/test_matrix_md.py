"""The documentation matrix: every case against every target, grouped by section, inert."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from synthetic_results import synthetic_results  # noqa: E402

from conformance.reporters.markdown import render_verdict_matrix  # noqa: E402
from conformance.verdicts.verdict import Verdict  # noqa: E402


def test_every_case_and_target_has_a_cell() -> None:
    results = synthetic_results(cases=40, targets=3, seed=7)
    page = render_verdict_matrix(results, "Title")
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    assert len(rows) == 40
    assert all(line.count("|") == 3 + 2 for line in rows)  # a case column and three targets
    fails = sum(1 for t in results.targets for c in t.cases if c.verdict is Verdict.FAIL)
    assert sum(line.count("**FAIL**") for line in rows) == fails
    assert page.startswith("# Title\n")


def test_sections_group_the_rows() -> None:
    results = synthetic_results(cases=40, targets=2, seed=3)
    page = render_verdict_matrix(results)
    headings = [line for line in page.splitlines() if line.startswith("## ")]
    sections = {c.id.rsplit("/", 1)[0] for c in results.targets[0].cases}
    assert len(headings) == len(sections)


def test_target_names_are_inert() -> None:
    results = synthetic_results(cases=3, targets=1, seed=1)
    hostile = dataclasses.replace(results.targets[0], name="<img src=x onerror=alert(1)>")
    page = render_verdict_matrix(dataclasses.replace(results, targets=(hostile,)))
    assert "<img" not in page and "&lt;img" in page
