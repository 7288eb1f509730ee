"""index.html in a real browser: loads from file:// with no request, filters and the URL
fragment, the matrix, a case's details, transcript and hex dump; and a hostile target whose
responses are full of markup produces a page in which no script of theirs runs."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from synthetic_results import synthetic_results

from conformance.reporters import write_reports
from conformance.reporters.html import render_html
from conformance.reporters.html_data import ENTRY_LIMIT, summary_data
from conformance.results import Direction, RunResults, TargetResults, TranscriptEntry
from conformance.verdicts.verdict import Requirement, Verdict

from .hostile_http import ALL, PAYLOADS, HostileHTTPServer

VISIBLE_IDS = """
[...document.querySelectorAll('#cases .row[data-i]')].filter((row) => !row.hidden)
  .map((row) => row.querySelector('a.id').textContent)
"""


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunResults, dict[str, Any]]:
    results = synthetic_results(cases=60, targets=3, seed=7)
    path = tmp_path_factory.mktemp("synthetic") / "index.html"
    path.write_text(render_html(results), encoding="utf-8")
    return path, results, summary_data(results)


def expected_ids(summary: dict[str, Any], *, v=(), r=(), p="", s="", q="", target=None) -> list[str]:  # type: ignore[no-untyped-def]
    """The case ids the page should show for a filter, computed independently of the page;
    with ``target``, the verdict filter looks at that target's verdicts only."""
    out = []
    for item in summary["cases"]:
        verdicts = item["verdicts"] if target is None else [item["verdicts"][target]]
        if target is not None and verdicts == [None]:
            continue
        if v and not set(v) & set(verdicts):
            continue
        if r and item["requirement"] not in r:
            continue
        if p and item["protocol"] != p:
            continue
        if s and item["section"] != s:
            continue
        if q and not all(word in haystack(summary, item) for word in q.lower().split()):
            continue
        out.append(item["id"])
    return out


def haystack(summary: dict[str, Any], item: dict[str, Any]) -> str:
    """What the search box looks in: id, title, RFC (number, section, name), aliases, tags."""
    title = summary["rfc_titles"].get(item["rfc"], "")
    fields = [
        item["id"],
        item["title"],
        item["label"],
        item["section"],
        title,
        *item["aliases"],
        *item["tags"],
    ]
    return "\n".join(fields).lower()


def fragment(page: Any) -> dict[str, list[str]]:
    return parse_qs(page.evaluate("location.hash").removeprefix("#"))


# ---------------------------------------------------------------------------- loading


def test_report_loads_from_file_with_no_network_request(open_report: Any, synthetic: Any) -> None:
    path, results, summary = synthetic
    opened = open_report(path)
    page = opened.page
    assert opened.url.startswith("file://")
    assert page.evaluate(VISIBLE_IDS) == [item["id"] for item in summary["cases"]]
    assert page.locator("#shown").text_content() == "Showing 60 of 60 cases"
    headers = page.locator("#cases .head [role=columnheader]").all_text_contents()
    assert headers == ["Case", "Req.", "server-1", "server-2", "server-3"]
    assert page.locator("#cases .row[data-i] .v").count() == 180
    assert page.evaluate("document.scripts.length") == 3
    opened.assert_clean()


def test_matrix_cells_are_coloured_by_verdict(open_report: Any, synthetic: Any) -> None:
    path, _, summary = synthetic
    page = open_report(path).page
    for index in (0, 10, 59):
        cells = page.locator(f'#cases .row[data-i="{index}"] .v')
        verdicts = summary["cases"][index]["verdicts"]
        assert cells.evaluate_all("(cells) => cells.map((cell) => cell.firstChild.textContent)") == verdicts
        for t, verdict in enumerate(verdicts):
            assert f"v-{verdict.lower()}" in (cells.nth(t).get_attribute("class") or "")
    colours = page.evaluate(
        "['v-fail','v-pass'].map((c) => getComputedStyle(document.querySelector('#cases .v.' + c)).backgroundColor)"
    )
    assert colours == ["rgb(198, 40, 40)", "rgb(26, 127, 55)"]


# ---------------------------------------------------------------------------- filters


def test_filters_work_and_update_the_fragment(open_report: Any, synthetic: Any) -> None:
    path, _, summary = synthetic
    opened = open_report(path)
    page = opened.page
    page.check('input[name="v"][value="FAIL"]')
    assert fragment(page) == {"v": ["FAIL"]}
    assert page.evaluate(VISIBLE_IDS) == expected_ids(summary, v=["FAIL"])
    page.check('input[name="v"][value="ERROR"]')
    page.check('input[name="r"][value="MUST"]')
    assert fragment(page) == {"v": ["FAIL,ERROR"], "r": ["MUST"]}
    assert page.evaluate(VISIBLE_IDS) == expected_ids(summary, v=["FAIL", "ERROR"], r=["MUST"])
    page.select_option('select[name="p"]', "ws")
    assert fragment(page)["p"] == ["ws"]
    shown = expected_ids(summary, v=["FAIL", "ERROR"], r=["MUST"], p="ws")
    assert page.evaluate(VISIBLE_IDS) == shown
    assert 0 < len(shown) < 60
    assert page.locator("#shown").text_content() == f"Showing {len(shown)} of 60 cases"
    page.fill('input[name="q"]', "CASE 1")
    assert fragment(page)["q"] == ["CASE 1"]
    assert page.evaluate(VISIBLE_IDS) == expected_ids(
        summary, v=["FAIL", "ERROR"], r=["MUST"], p="ws", q="case 1"
    )
    page.click("#clear")
    assert page.evaluate("location.hash") == ""
    assert len(page.evaluate(VISIBLE_IDS)) == 60
    section = summary["cases"][5]["section"]
    page.select_option('select[name="s"]', section)
    assert fragment(page) == {"s": [section]}
    assert page.evaluate(VISIBLE_IDS) == expected_ids(summary, s=section)
    opened.assert_clean()


def test_a_fragment_url_restores_the_view(open_report: Any, synthetic: Any) -> None:
    path, _, summary = synthetic
    page = open_report(path, "v=FAIL,NON-STRICT&r=MUST,SHOULD&p=h2&q=synthetic").page
    assert page.is_checked('input[name="v"][value="FAIL"]')
    assert page.is_checked('input[name="v"][value="NON-STRICT"]')
    assert not page.is_checked('input[name="v"][value="PASS"]')
    assert page.is_checked('input[name="r"][value="SHOULD"]')
    assert page.input_value('select[name="p"]') == "h2"
    assert page.input_value('input[name="q"]') == "synthetic"
    want = expected_ids(summary, v=["FAIL", "NON-STRICT"], r=["MUST", "SHOULD"], p="h2", q="synthetic")
    assert 0 < len(want) < 60
    assert page.evaluate(VISIBLE_IDS) == want
    # Following a link inside the page (a count in the overview) restores that view too.
    t = next(n for n, target in enumerate(summary["targets"]) if target["counts"].get("ERROR"))
    page.click(f'#overview a[href="#v=ERROR&target={t}"] >> nth=0')
    # hashchange is delivered as a task after the click: wait for it.
    page.wait_for_function('document.querySelector(\'input[name="v"][value="ERROR"]\').checked', timeout=5000)
    assert not page.is_checked('input[name="v"][value="FAIL"]')
    assert page.input_value('select[name="p"]') == ""
    assert page.evaluate(VISIBLE_IDS) == expected_ids(summary, v=["ERROR"], target=t)


# ---------------------------------------------------------------------------- a case


def _a_failing_cell(summary: dict[str, Any], target: int) -> int:
    return next(n for n, item in enumerate(summary["cases"]) if item["verdicts"][target] == "FAIL")


def test_a_matrix_cell_opens_that_cases_details_for_that_target(open_report: Any, synthetic: Any) -> None:
    path, results, summary = synthetic
    page = open_report(path).page
    index = _a_failing_cell(summary, 2)
    item = summary["cases"][index]
    page.click(f'#cases .row[data-i="{index}"] .v[data-t="2"]')
    details = page.locator("#cases .detail")
    assert details.count() == 1
    text = details.text_content() or ""
    assert item["id"] in text and item["title"] in text
    assert "server-3 (http://127.0.0.1:8082/)" in text
    assert "Expecteda 400 response or a closed connection" in text
    assert "Diverged atstep 2: expect response (status 400)" in text
    diverged = details.locator("table.transcript > tbody > tr.diverged")
    assert diverged.all_text_contents() == ["0.5•step 2: expect response (status 400)"]
    assert fragment(page) == {"case": [item["id"]], "t": ["2"]}
    link = details.locator("dl.facts a", has_text="RFC")
    assert link.get_attribute("href") == item["url"]
    assert item["url"].startswith("https://www.rfc-editor.org/rfc/rfc") and "#section-" in item["url"]
    # Another target's tab switches the details; the fragment follows.
    page.click("#cases .detail .tabs button[data-t='0']")
    assert "server-1 (http://127.0.0.1:8080/)" in (page.locator("#cases .detail").text_content() or "")
    assert fragment(page) == {"case": [item["id"]]}
    # A second click on the open cell closes it; so does Escape.
    page.click(f'#cases .row[data-i="{index}"] .v[data-t="0"]')
    assert page.locator("#cases .detail").count() == 0
    assert page.evaluate("location.hash") == ""
    page.focus(f'#cases .row[data-i="{index}"] .v[data-t="1"]')
    page.keyboard.press("Enter")
    assert fragment(page) == {"case": [item["id"]], "t": ["1"]}
    page.keyboard.press("Escape")
    assert page.locator("#cases .detail").count() == 0
    assert page.evaluate("location.hash") == ""


def test_a_fragment_opens_a_case_even_when_filtered_out(open_report: Any, synthetic: Any) -> None:
    path, _, summary = synthetic
    passing = next(item for item in summary["cases"] if "FAIL" not in item["verdicts"])
    page = open_report(path, f"v=FAIL&case={passing['id']}&t=1").page
    details = page.locator("#cases .detail")
    assert details.count() == 1
    assert "server-2" in (details.locator(".tabs button[aria-pressed=true]").text_content() or "")
    assert passing["id"] in page.evaluate(VISIBLE_IDS)


def test_a_cases_transcript_is_decoded_with_timestamps_and_a_hex_dump_on_demand(
    open_report: Any, synthetic: Any
) -> None:
    path, results, summary = synthetic
    opened = open_report(path)
    page = opened.page
    for protocol, decoded in (("h1", "Content-Length"), ("h2", ":status"), ("ws", "TEXT")):
        index = next(n for n, item in enumerate(summary["cases"]) if item["protocol"] == protocol)
        page.click(f'#cases .row[data-i="{index}"] a.id')
        rows = page.locator("#cases .detail table.transcript > tbody > tr")
        assert rows.count() == 7
        assert rows.locator("td.t").all_text_contents() == ["0.0", "0.3", "0.4", "0.5", "1.9", "2.0", "3.0"]
        sent = rows.nth(2)
        assert "sent" in (sent.get_attribute("class") or "")
        number = int(summary["cases"][index]["id"].rsplit("-", 1)[1])
        assert (sent.locator("pre.bytes").text_content() or "").startswith(
            f"GET /case/{number} HTTP/1.1\\r\\n\nHost: "
        )
        assert sent.locator("pre.hex").count() == 0  # not built until asked for
        sent.locator("button.hex-toggle").click()
        dump = sent.locator("pre.hex").text_content() or ""
        assert dump.startswith("00000000  47 45 54 20 2f 63 61 73  65 2f ")
        assert "|GET /case/" in dump
        sent.locator("button.hex-toggle").click()
        assert sent.locator("pre.hex").is_hidden()
        event = rows.nth(5)
        assert decoded in (event.locator("details.fields").text_content() or "")
        assert rows.nth(6).locator(".ev-type").text_content() == "closed"
    opened.assert_clean()


def test_large_payloads_are_elided_with_size_and_sha256(open_report: Any, tmp_path: Path) -> None:
    big = bytes(range(256)) * 4096  # 1 MiB
    text = "z" * 50_000
    transcript = (
        TranscriptEntry(t=0.001, direction=Direction.RECEIVED, data=big, size=16 * 2**20),
        TranscriptEntry(
            t=0.002,
            direction=Direction.EVENT,
            text="binary message",
            detail={"type": "message", "text": text},
        ),
    )
    result = dataclasses.replace(
        synthetic_results(cases=1, targets=1).targets[0].cases[0], transcript=transcript, verdict=Verdict.FAIL,
        requirement=Requirement.MUST,
    )  # fmt: skip
    run = RunResults(
        tool_version="0",
        started_at="now",
        duration_s=1,
        targets=(TargetResults(name="t", url="ws://x/", cases=(result,)),),
    )
    paths = write_reports(run, tmp_path)
    assert paths["html"].stat().st_size < 64 * 1024
    opened = open_report(paths["html"], f"case={result.id}")
    details = opened.page.locator("#cases .detail").text_content() or ""
    assert (
        f"… {len(big) - ENTRY_LIMIT} more bytes not shown (sha256 of the {len(big)} bytes kept: "
        f"{hashlib.sha256(big).hexdigest()})"
    ) in details
    assert f"the harness kept {len(big)} of the {16 * 2**20} bytes on the wire" in details
    assert f"(50000 characters in all, sha256 {hashlib.sha256(text.encode()).hexdigest()})" in details
    opened.assert_clean()


def test_the_matrix_renders_for_1000_cases_by_5_targets(open_report: Any, tmp_path: Path) -> None:
    path = tmp_path / "index.html"
    path.write_text(render_html(synthetic_results(cases=1000, targets=5)), encoding="utf-8")
    opened = open_report(path)
    page = opened.page
    assert page.locator("#cases .row[data-i]").count() == 1000
    assert page.locator("#cases .row[data-i] .v").count() == 5000
    assert page.locator("#cases .detail").count() == 0  # no details until asked for
    page.click('#cases .row[data-i="999"] .v[data-t="4"]')
    assert page.locator("#cases .detail table.transcript > tbody > tr").count() == 7
    opened.assert_clean()


# ---------------------------------------------------------------------------- safety


@pytest.fixture(scope="module")
def hostile_report(reactor_thread: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunResults]:
    from conformance.driver.interpreter import RunOptions
    from conformance.scenario.loader import load_cases
    from conformance.target import Target

    cases = [case for case in load_cases() if case.protocol == "h1"][:12]
    with HostileHTTPServer() as url:
        first = reactor_thread.run(
            cases, [Target.parse(f"hostile={url}")], RunOptions(timeout=1.0, case_timeout=4.0)
        )
        second = reactor_thread.run(
            cases[:6], [Target.parse(f"again={url}")], RunOptions(timeout=1.0, case_timeout=4.0)
        )
    # WebSocket and HTTP/2 events carry the payloads in their decoded fields (message text,
    # frame payloads, header blocks): a hand-built third target with such events, and a
    # name, URL and texts full of markup.
    events = (
        TranscriptEntry(t=0.001, direction=Direction.RECEIVED, data=ALL.encode(), size=len(ALL.encode())),
        TranscriptEntry(
            t=0.002,
            direction=Direction.EVENT,
            text=f"text message: {ALL}",
            detail={
                "type": "message",
                "text": ALL,
                "frames": [{"opcode": "TEXT", "payload": ALL * 200}],
                ALL: ALL,
            },
        ),
        TranscriptEntry(
            t=0.003,
            direction=Direction.EVENT,
            text=f"HEADERS {ALL}",
            detail={"type": "frame", "frame": "HEADERS", "headers": [[f":status{ALL}", ALL], [ALL, ALL]]},
        ),
    )
    ws_cases = tuple(
        dataclasses.replace(case, title=f"{case.title} {ALL}", observed=ALL, expected=ALL, step_text=ALL,
                            notes=(ALL,), reference=ALL, verdict=Verdict.FAIL, step=1, transcript=events)
        for case in first.targets[0].cases[:4]
    )  # fmt: skip
    third = TargetResults(name=f"ws{ALL}", url=f"ws://127.0.0.1:1/{ALL}", cases=ws_cases)
    results = dataclasses.replace(first, targets=(*first.targets, *second.targets, third))
    directory = tmp_path_factory.mktemp("hostile")
    return write_reports(results, directory)["html"], results


def test_a_hostile_target_gets_no_script_to_run(open_report: Any, hostile_report: Any) -> None:
    path, results = hostile_report
    received = [
        entry.data
        for target in results.targets
        for case in target.cases
        for entry in case.transcript
        if entry.direction is Direction.RECEIVED
    ]
    assert any(PAYLOADS["end-script"].encode() in data for data in received)  # the payloads got in
    opened = open_report(path)
    page = opened.page
    # Open every case in every target, every hex dump, every decoded field.
    count = len(results.targets[0].cases)
    for index in range(count):
        for t in range(3):
            cell = page.locator(f'#cases .row[data-i="{index}"] .v[data-t="{t}"]')
            if cell.count() == 0:
                continue
            cell.click()
            for button in page.locator("#cases .detail button.hex-toggle").all():
                button.click()
    page.click("#cases .row[data-i='0'] .v[data-t='0']")
    text = page.locator("#cases .detail").text_content() or ""
    assert PAYLOADS["script"] in text and PAYLOADS["end-script"] in text  # shown, as text
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("document.scripts.length") == 3
    assert (
        page.evaluate("document.querySelectorAll('img, iframe, object, embed, [onload], [onerror]').length")
        == 0
    )
    opened.assert_clean()  # no request, no error, and the CSP had nothing to refuse


def test_the_csp_refuses_markup_that_got_into_the_page(
    open_report: Any, synthetic: Any, tmp_path: Path
) -> None:
    """The last line of defence works on its own: pretend escaping failed."""
    path, _, _ = synthetic
    page_text = path.read_text(encoding="utf-8")
    injected = (
        "<script>window.__pwned='inline'</script>"
        "<img src=x onerror=\"window.__pwned='img'\">"
        '<div style="color:red" id=styled>styled?</div>'
    )
    (tmp_path / "x").write_bytes(b"GIF89a")  # there to be fetched, were the CSP not there
    broken = tmp_path / "broken.html"
    broken.write_text(page_text.replace("<body>", "<body>" + injected, 1), encoding="utf-8")
    opened = open_report(broken)
    page = opened.page
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("getComputedStyle(document.getElementById('styled')).color") != "rgb(255, 0, 0)"
    violations = opened.violations()
    assert any(v.startswith("script-src") for v in violations), violations
    assert any(v.startswith("img-src") for v in violations), violations
    assert any(v.startswith("style-src") for v in violations), violations
    image = (tmp_path / "x").as_uri()
    # Chromium announces the image request, then refuses it: nothing is read.
    assert [url.split("#")[0] for url in opened.requests] in ([opened.url], [opened.url, image])
    assert [(url, why) for url, why in opened.failed] in ([], [(image, "csp")])
    assert len(opened.requests) == 1 + len(opened.failed)
    assert page.evaluate("document.documentElement.dataset.ready") == "true"  # the page's own script ran
    # Trusted Types: no string becomes markup, whoever tries.
    refused = page.evaluate(
        "() => { try { document.createElement('div').innerHTML = '<b>x</b>'; return 'allowed'; }"
        " catch (error) { return error.name; } }"
    )
    assert refused == "TypeError"


def test_an_empty_report_opens_cleanly(open_report: Any, tmp_path: Path) -> None:
    run = RunResults(
        tool_version="0",
        started_at="now",
        duration_s=0.0,
        targets=(TargetResults(name="down", url="http://127.0.0.1:1/", cases=(), reachable=False),),
    )
    path = tmp_path / "index.html"
    path.write_text(render_html(run), encoding="utf-8")
    opened = open_report(path, "v=FAIL&case=nope")
    assert opened.page.locator("#shown").text_content() == "Showing 0 of 0 cases"
    opened.assert_clean()
