"""index.html of a run judged against a baseline, in a real browser: a FAIL the baseline
expects reads "FAIL (known)" (not only another colour) with its reason; stale and unmatched
entries are listed in the overview; the new-failures filter works and round-trips through
the URL fragment; a baseline reason full of markup stays text.

The report is built the way users build it: ``conformance report RESULTS.json --baseline
FILE --out DIR``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from click.testing import CliRunner
from synthetic_results import synthetic_results

from conformance.cli import main
from conformance.reporters.html_data import summary_data
from conformance.reporters.json_report import dumps_json, loads_json

VISIBLE_IDS = """
[...document.querySelectorAll('#cases .row[data-i]')].filter((row) => !row.hidden)
  .map((row) => row.querySelector('a.id').textContent)
"""
HOSTILE_REASON = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> tracked in #9'


def _fails(results: Any, target: int) -> list[str]:
    return [case.id for case in results.targets[target].cases if case.verdict.value == "FAIL"]


@pytest.fixture(scope="module")
def baselined(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    results = synthetic_results(cases=60, targets=3, seed=7)
    root = tmp_path_factory.mktemp("baselined")
    (root / "results.json").write_text(dumps_json(results), encoding="utf-8")
    known = _fails(results, 0)[:3]
    passing = next(case.id for case in results.targets[1].cases if case.verdict.value == "PASS")
    baseline = "\n".join(
        [
            "version: 1",
            "targets:",
            "  server-1:",
            f"    {known[0]}: {json.dumps(HOSTILE_REASON)}",
            f'    {known[1]}: "slow to fix, see #12"',
            f'    {known[2]}: "slow to fix, see #13"',
            "  server-2:",
            f'    {passing}: "failed last month; passes now"',
            '  "*":',
            '    zz/0000/*: "a protocol this run does not have"',
            "",
        ]
    )
    (root / "baseline.yaml").write_text(baseline, encoding="utf-8")
    out = root / "report"
    outcome = CliRunner().invoke(
        main,
        ["report", str(root / "results.json"), "--baseline", str(root / "baseline.yaml"), "--out", str(out)],
    )
    assert outcome.exit_code == 1, outcome.output  # new FAILs remain: the gate fails
    judged = loads_json((out / "results.json").read_text(encoding="utf-8"))
    return {
        "path": out / "index.html",
        "summary": summary_data(judged),
        "known": known,
        "passing": passing,
    }


def expected(summary: dict[str, Any], which: str) -> list[str]:
    """The ids the page should show for b=new / b=known, computed apart from the page."""
    out = []
    for item in summary["cases"]:
        pairs = list(zip(item["verdicts"], item["known"], strict=True))
        if which == "new" and any(v == "FAIL" and k is None for v, k in pairs):
            out.append(item["id"])
        if which == "known" and any(v == "FAIL" and k is not None for v, k in pairs):
            out.append(item["id"])
    return out


def fragment(page: Any) -> dict[str, list[str]]:
    return parse_qs(page.evaluate("location.hash").removeprefix("#"))


def test_a_known_failure_is_labelled_styled_and_explained(open_report: Any, baselined: Any) -> None:
    summary = baselined["summary"]
    opened = open_report(baselined["path"])
    page = opened.page
    index = next(n for n, item in enumerate(summary["cases"]) if item["id"] == baselined["known"][0])
    cell = page.locator(f'#cases .row[data-i="{index}"] .v[data-t="0"]')
    assert cell.text_content() == "FAIL (known)"
    assert "v-fail-known" in (cell.get_attribute("class") or "")
    assert cell.get_attribute("title") == f"server-1: FAIL (known) \u2014 {HOSTILE_REASON}"
    new_index = next(
        n
        for n, item in enumerate(summary["cases"])
        if item["verdicts"][0] == "FAIL" and item["known"][0] is None
    )
    new_cell = page.locator(f'#cases .row[data-i="{new_index}"] .v[data-t="0"]')
    assert new_cell.text_content() == "FAIL"
    styles = page.evaluate(
        """(cells) => cells.map((selector) => {
             const style = getComputedStyle(document.querySelector(selector));
             return [style.color, style.backgroundImage.startsWith("repeating-linear-gradient")];
           })""",
        [
            f'#cases .row[data-i="{index}"] .v[data-t="0"]',
            f'#cases .row[data-i="{new_index}"] .v[data-t="0"]',
        ],
    )
    assert styles == [["rgb(139, 26, 26)", True], ["rgb(255, 255, 255)", False]]
    # Failures first: every case with a new FAIL comes before the first with only known ones.
    order = page.evaluate(VISIBLE_IDS)
    assert order.index(summary["cases"][new_index]["id"]) < order.index(baselined["known"][0])
    assert max(order.index(i) for i in expected(summary, "new")) < min(
        order.index(i) for i in expected(summary, "known") if i not in expected(summary, "new")
    )
    # The details say why the baseline expects it, as text.
    cell.click()
    details = page.locator("#cases .detail")
    text = details.text_content() or ""
    assert "VerdictFAIL (known)" in text
    assert f"Baseline{HOSTILE_REASON} ({baselined['known'][0]} at " in text
    assert details.locator(".baseline-reason").text_content() == HOSTILE_REASON
    assert details.locator("img, script").count() == 0
    # A new FAIL's details say it is not in the baseline.
    new_cell.click()
    assert "Baselinenot listed: a new FAIL" in (page.locator("#cases .detail").text_content() or "")
    assert page.evaluate("window.__pwned") is None
    opened.assert_clean()


def test_the_overview_counts_known_failures_and_lists_stale_and_unmatched_entries(
    open_report: Any, baselined: Any
) -> None:
    opened = open_report(baselined["path"])
    overview = opened.page.locator("#overview")
    heads = overview.locator("table.counts").first.locator("thead th").all_text_contents()
    assert heads[2:4] == ["FAIL (new)", "FAIL (known)"]
    row = overview.locator("table.counts").first.locator("tbody tr").first.locator("td").all_text_contents()
    new_count = sum(1 for item in baselined["summary"]["cases"] if item["verdicts"][0] == "FAIL") - 3
    assert row[1:3] == [str(new_count), "3"]
    stale = overview.locator("table.stale").first.locator("tbody tr")
    assert stale.count() == 1
    assert stale.first.locator("th, td").all_text_contents()[:4] == [
        "server-2",
        baselined["passing"],
        "now PASS",
        "failed last month; passes now",
    ]
    unmatched = overview.locator("table.unmatched tbody tr")
    assert unmatched.first.locator("td").all_text_contents()[:2] == [
        "zz/0000/*",
        "a protocol this run does not have",
    ]
    # The stale entry links to its case, opened for the target whose entry it is.
    stale.first.locator("a").click()
    opened.page.wait_for_selector("#cases .detail", timeout=5000)
    assert fragment(opened.page) == {"case": [baselined["passing"]], "t": ["1"]}
    assert "server-2 (http://127.0.0.1:8081/)" in (opened.page.locator("#cases .detail").text_content() or "")
    opened.assert_clean()


def test_the_new_failures_filter_works_and_round_trips_through_the_fragment(
    open_report: Any, baselined: Any
) -> None:
    summary = baselined["summary"]
    opened = open_report(baselined["path"])
    page = opened.page
    page.select_option('select[name="b"]', "new")
    assert fragment(page) == {"b": ["new"]}
    new = expected(summary, "new")
    assert 0 < len(new) < 60
    assert page.evaluate(VISIBLE_IDS) == new
    assert not set(baselined["known"]) & set(new)  # these FAIL on server-1 only, and are known there
    page.check('input[name="r"][value="MUST"]')
    assert fragment(page) == {"b": ["new"], "r": ["MUST"]}
    must = [i for i in new if next(c for c in summary["cases"] if c["id"] == i)["requirement"] == "MUST"]
    assert page.evaluate(VISIBLE_IDS) == must
    url = page.url
    # The same link in a fresh page shows the same view.
    again = open_report(Path(baselined["path"]), url.split("#", 1)[1]).page
    assert again.input_value('select[name="b"]') == "new"
    assert again.is_checked('input[name="r"][value="MUST"]')
    assert again.evaluate(VISIBLE_IDS) == must
    # The overview's count of known FAILs is a link to them; clearing shows everything.
    page.click('#overview a[href="#b=known"] >> nth=0')
    page.wait_for_function("document.querySelector('select[name=\"b\"]').value === 'known'", timeout=5000)
    assert page.evaluate(VISIBLE_IDS) == expected(summary, "known") == baselined["known"]
    page.click("#clear")
    assert page.evaluate("location.hash") == ""
    assert len(page.evaluate(VISIBLE_IDS)) == 60
    # A value the page does not know is ignored, not trusted.
    odd = open_report(Path(baselined["path"]), "b=%3Cscript%3E").page
    assert odd.input_value('select[name="b"]') == ""
    assert len(odd.evaluate(VISIBLE_IDS)) == 60
    opened.assert_clean()
