"""index.html finds its way (issue 13): the gate's banner at the top, a jump link to the matrix,
a target's counts that list that target's cases, the baseline filter only with a baseline,
column headers never cut short, a search that knows tags and RFC names, and WebSocket cells
with the target's close code and the case's duration, as in Autobahn's matrix."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from synthetic_results import synthetic_results

from conformance.reporters import write_reports
from conformance.reporters.html import render_html
from conformance.reporters.html_data import summary_data
from conformance.results import CaseResult, RunResults, TargetResults
from conformance.verdicts.verdict import Requirement, Verdict

from .test_report_browser import VISIBLE_IDS, expected_ids, fragment

TOP = "(selector) => document.querySelector(selector).getBoundingClientRect().top"
AT_TOP = "Math.abs(document.getElementById('cases-section').getBoundingClientRect().top) < 2"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    results = synthetic_results(cases=60, targets=3, seed=7)
    path = tmp_path_factory.mktemp("navigation") / "index.html"
    path.write_text(render_html(results), encoding="utf-8")
    return path, summary_data(results)


def _run(*targets: TargetResults, interrupted: str = "") -> RunResults:
    return RunResults(
        tool_version="0", started_at="now", duration_s=1.0, targets=targets, interrupted=interrupted
    )


def _result(case_id: str, verdict: Verdict, **kw: Any) -> CaseResult:
    protocol, rfc, section, _ = case_id.split("/")
    fields: dict[str, Any] = {
        "id": case_id,
        "title": f"title of {case_id}",
        "protocol": protocol,
        "rfc": rfc,
        "section": section,
        "requirement": Requirement.MUST,
        "verdict": verdict,
    }
    return CaseResult(**(fields | kw))


# ---------------------------------------------------------------------------- the gate, at once


def test_the_banner_says_at_once_whether_the_gate_passed_and_why(open_report: Any, tmp_path: Path) -> None:
    nginx = TargetResults(
        name="nginx",
        url="http://127.0.0.1:8080/",
        cases=(
            _result("h1/9112/2.2/a", Verdict.FAIL),
            _result("h1/9112/2.2/b", Verdict.FAIL),
            _result("h1/9112/2.2/c", Verdict.FAIL, requirement=Requirement.SHOULD),
            _result("h1/9112/2.2/d", Verdict.ERROR),
        ),
    )
    clean = dataclasses.replace(nginx, name="clean", cases=(_result("h1/9112/2.2/a", Verdict.PASS),))
    pages = {
        "failed": write_reports(_run(nginx), tmp_path / "failed")["html"],
        "should": write_reports(_run(nginx), tmp_path / "should", fail_on=Requirement.SHOULD)["html"],
        "passed": write_reports(_run(clean), tmp_path / "passed")["html"],
        "interrupted": write_reports(_run(clean, interrupted="SIGINT"), tmp_path / "interrupted")["html"],
    }
    expected = {
        "failed": "Gate failed (--fail-on MUST): 2 FAILs at MUST on nginx; 1 ERROR on nginx",
        "should": "Gate failed (--fail-on SHOULD or stricter): 3 FAILs at SHOULD or stricter on nginx; 1 ERROR on nginx",
        "passed": "Gate passed (--fail-on MUST): no FAIL at MUST",
        "interrupted": "Gate failed (--fail-on MUST): interrupted (SIGINT) before every case had run",
    }  # fmt: skip
    for name, path in pages.items():
        opened = open_report(path)
        page = opened.page
        banner = page.locator("#gate")
        assert banner.text_content() == expected[name]
        # At the top of the page: in the first screen, above everything but the title.
        assert page.evaluate(TOP, "#gate") < 120
        colour = page.evaluate("getComputedStyle(document.getElementById('gate')).backgroundColor")
        assert colour == ("rgb(26, 127, 55)" if name == "passed" else "rgb(198, 40, 40)")
        opened.assert_clean()


def test_the_banner_follows_allow_errors(open_report: Any, tmp_path: Path) -> None:
    erred = TargetResults(
        name="h2o", url="http://127.0.0.1:1/", cases=(_result("h1/9112/2.2/a", Verdict.ERROR),)
    )
    path = write_reports(_run(erred), tmp_path, allow_errors=True)["html"]
    text = open_report(path).page.locator("#gate").text_content()
    assert (
        text == "Gate passed (--fail-on MUST): no FAIL at MUST; 1 ERROR on h2o (not counted: --allow-errors)"
    )


def test_the_jump_link_takes_the_reader_to_the_matrix(open_report: Any, synthetic: Any) -> None:
    path, summary = synthetic
    opened = open_report(path)
    page = opened.page
    assert page.evaluate(TOP, "#cases-section") > 900  # far below the first screen
    jump = page.locator("#jump")
    assert jump.text_content() == "Jump to the matrix of 60 cases × 3 targets ↓"
    assert page.evaluate(TOP, "#jump") < 200
    jump.click()
    page.wait_for_function(AT_TOP)
    assert page.evaluate(VISIBLE_IDS) == [item["id"] for item in summary["cases"]]  # no filter set
    # The jump keeps the view: its filters, the open case, and the fragment that records them.
    page.check('input[name="v"][value="FAIL"]')
    page.click('#cases .row[data-i="0"] a.id')
    view = page.evaluate("location.hash")
    page.evaluate("window.scrollTo(0, 0)")
    jump.click()
    page.wait_for_function(AT_TOP)
    page.wait_for_function(f"location.hash === {view!r}")
    assert page.is_checked('input[name="v"][value="FAIL"]')
    assert page.locator("#cases .detail").count() == 1
    assert page.evaluate(VISIBLE_IDS) == expected_ids(summary, v=["FAIL"])
    opened.assert_clean()


# ---------------------------------------------------------------------------- a target's counts


def test_a_targets_fail_count_lists_that_targets_fails_only(open_report: Any, synthetic: Any) -> None:
    path, summary = synthetic
    opened = open_report(path)
    page = opened.page
    for t in (1, 2):
        link = page.locator(f'#overview table.counts >> nth=0 >> a[href="#v=FAIL&target={t}"]')
        fails = sum(1 for item in summary["cases"] if item["verdicts"][t] == "FAIL")
        assert link.text_content() == str(fails)
        link.click()
        page.wait_for_function(f"document.querySelector('select[name=target]').value === '{t}'")
        shown = page.evaluate(VISIBLE_IDS)
        assert shown == expected_ids(summary, v=["FAIL"], target=t)
        assert len(shown) == fails
        assert len(shown) < len(expected_ids(summary, v=["FAIL"]))  # not every target's FAILs
        assert fragment(page) == {"v": ["FAIL"], "target": [str(t)]}
        # The link set a filter far below it: the page shows the matrix it filtered.
        assert abs(page.evaluate(TOP, "#cases-section")) < 2
        page.evaluate("window.scrollTo(0, 0)")
    # A count per level links to that target and level.
    page.click('#overview a[href="#v=PASS&r=MUST&target=0"]')
    page.wait_for_function("document.querySelector('select[name=target]').value === '0'")
    assert page.evaluate(VISIBLE_IDS) == expected_ids(summary, v=["PASS"], r=["MUST"], target=0)
    # The target filter is a control of its own, and round-trips through the fragment.
    page.select_option('select[name="target"]', "")
    assert page.evaluate(VISIBLE_IDS) == expected_ids(summary, v=["PASS"], r=["MUST"])
    opened.assert_clean()
    restored = open_report(path, "v=ERROR&target=2").page
    assert restored.evaluate(VISIBLE_IDS) == expected_ids(summary, v=["ERROR"], target=2)
    assert restored.input_value('select[name="target"]') == "2"


def test_a_one_target_report_has_no_target_filter(open_report: Any, tmp_path: Path) -> None:
    path = tmp_path / "index.html"
    results = synthetic_results(cases=20, targets=1)
    path.write_text(render_html(results), encoding="utf-8")
    page = open_report(path, "target=0&v=FAIL").page
    assert page.locator('select[name="target"]').count() == 0
    assert page.locator('#overview a[href*="target="]').count() == 0
    assert page.evaluate(VISIBLE_IDS) == expected_ids(summary_data(results), v=["FAIL"])


# ---------------------------------------------------------------------------- filters and headers


def test_the_baseline_filter_is_there_only_with_a_baseline(open_report: Any, synthetic: Any) -> None:
    path, summary = synthetic
    page = open_report(path, "b=new").page
    assert page.locator('select[name="b"]').count() == 0
    assert "Failures" not in (page.locator("#filters").text_content() or "")
    # A b= left in a link does not filter a report without a baseline.
    assert len(page.evaluate(VISIBLE_IDS)) == len(summary["cases"])


def test_no_column_header_is_cut_short(open_report: Any, tmp_path: Path) -> None:
    names = ("nginx-1.27.3-mainline-http2-enabled", "hypercorn-0.17.3-trio-worker", "h2o")
    results = synthetic_results(cases=10, targets=3)
    results = dataclasses.replace(
        results,
        targets=tuple(
            dataclasses.replace(t, name=name) for t, name in zip(results.targets, names, strict=True)
        ),
    )
    path = tmp_path / "index.html"
    path.write_text(render_html(results), encoding="utf-8")
    page = open_report(path).page
    headers = page.locator("#cases .head [role=columnheader]")
    assert headers.all_text_contents() == ["Case", "Req.", *names]
    cut = headers.evaluate_all(
        """(cells) => cells.filter((cell) => cell.scrollWidth > cell.clientWidth + 1
             || getComputedStyle(cell).textOverflow === "ellipsis").map((cell) => cell.textContent)"""
    )
    assert cut == []


# ---------------------------------------------------------------------------- search


@pytest.fixture(scope="module")
def real_cases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any]]:
    """Every case of the suites, as results (SKIPPED: nothing ran), so tags come from the files."""
    from conformance.scenario.loader import load_cases
    from conformance.verdicts.judge import skipped

    cases = [case for case in load_cases() if case.protocol in ("ws", "h2")]
    results = _run(
        TargetResults(name="t", url="ws://127.0.0.1:1/", cases=tuple(skipped(c, "-") for c in cases))
    )
    path = tmp_path_factory.mktemp("real") / "index.html"
    path.write_text(render_html(results), encoding="utf-8")
    return path, cases


def test_search_finds_cases_by_tag_and_rfc_name(open_report: Any, real_cases: Any) -> None:
    path, cases = real_cases
    opened = open_report(path)
    page = opened.page
    deflate = [c.id for c in cases if c.rfc == "7692" or any("deflate" in tag for tag in c.tags)]
    by_id_or_title = [c.id for c in cases if "deflate" in (c.id + c.title).lower()]
    assert len(deflate) > 200 and len(by_id_or_title) < len(deflate) / 4  # what the issue saw
    page.fill('input[name="q"]', "deflate")
    assert sorted(page.evaluate(VISIBLE_IDS)) == sorted(set(deflate) | set(by_id_or_title))
    page.fill('input[name="q"]', "7692")
    assert sorted(page.evaluate(VISIBLE_IDS)) == sorted(c.id for c in cases if c.rfc == "7692")
    page.fill('input[name="q"]', "RFC 9113 §6.5")
    shown = page.evaluate(VISIBLE_IDS)
    want = [c.id for c in cases if c.rfc == "9113" and (c.section == "6.5" or c.section.startswith("6.5."))]
    assert want and sorted(shown) == sorted(want)
    # A tag alone (no id or title has it) finds its cases.
    tag = "smuggling" if any("smuggling" in c.tags for c in cases) else next(t for c in cases for t in c.tags)
    page.fill('input[name="q"]', tag)
    assert set(page.evaluate(VISIBLE_IDS)) >= {c.id for c in cases if tag in c.tags}
    # The RFC's name and the tags are in the case's details too.
    index = next(
        n
        for n, item in enumerate(
            page.evaluate("JSON.parse(document.getElementById('summary-data').textContent).cases")
        )
        if item["tags"]
    )
    page.fill('input[name="q"]', "")
    page.click(f'#cases .row[data-i="{index}"] a.id')
    facts = page.locator("#cases .detail dl.facts").text_content() or ""
    assert "Tags" in facts and " — " in facts
    opened.assert_clean()


# ---------------------------------------------------------------------------- WebSocket cells


def test_websocket_cells_show_the_close_code_and_duration(open_report: Any, tmp_path: Path) -> None:
    def closing(code: int | None, sent: bool = True) -> dict[str, Any]:
        return {"verdict": "OK", "text": "clean", "clean": True, "closed_by": "target",
                "target_code": code, "target_closed": sent, "harness_code": 1000}  # fmt: skip

    target = TargetResults(
        name="ws-server",
        url="ws://127.0.0.1:9001/",
        cases=(
            _result("ws/6455/5.5/close-normal", Verdict.PASS, duration_s=0.0123, closing=closing(1000)),
            _result("ws/6455/5.5/close-bad", Verdict.FAIL, duration_s=0.2519, closing=closing(1002)),
            _result("ws/6455/5.5/close-empty", Verdict.PASS, duration_s=0.0034, closing=closing(None)),
            _result("ws/6455/5.5/dropped", Verdict.PASS, duration_s=0.0034, closing=closing(None, False)),
            _result("ws/6455/5.5/no-close", Verdict.PASS, duration_s=0.0051),
            _result("ws/7692/7/skipped", Verdict.SKIPPED),
            _result("h1/9112/2.2/http", Verdict.PASS, duration_s=0.0123),
        ),
    )
    path = tmp_path / "index.html"
    path.write_text(render_html(_run(target)), encoding="utf-8")
    opened = open_report(path)
    page = opened.page
    cells = page.evaluate(
        """[...document.querySelectorAll('#cases .row[data-i]')].map((row) => [
             row.querySelector('a.id').textContent,
             row.querySelector('.v').firstChild.textContent,
             (row.querySelector('.v .wire') || {textContent: null}).textContent])"""
    )
    assert sorted(cells) == sorted(
        [
            ["ws/6455/5.5/close-normal", "PASS", "1000 · 12 ms"],
            ["ws/6455/5.5/close-bad", "FAIL", "1002 · 252 ms"],
            ["ws/6455/5.5/close-empty", "PASS", "no code · 3.4 ms"],
            ["ws/6455/5.5/dropped", "PASS", "no close · 3.4 ms"],
            ["ws/6455/5.5/no-close", "PASS", "5.1 ms"],
            ["ws/7692/7/skipped", "SKIPPED", None],
            ["h1/9112/2.2/http", "PASS", None],
        ]
    )
    # Both lines fit the cell: nothing is cut.
    cut = page.locator("#cases .v").evaluate_all(
        "(cells) => cells.filter((cell) => cell.scrollWidth > cell.clientWidth + 1).length"
    )
    assert cut == 0
    title = page.locator('#cases .row:has(a.id:text-is("ws/6455/5.5/close-bad")) .v').get_attribute("title")
    assert title == "ws-server: FAIL (close code from the target · duration: 1002 · 252 ms)"
    opened.assert_clean()
