"""Golden-file and safety tests for the reporters (JSON, JUnit, HTML, terminal).

The fixture is built by hand: two targets, every verdict, and hostile content wherever a
target's bytes can reach a report. ``CONFORMANCE_UPDATE_GOLDEN=1 pytest tests/unit/reporters``
rewrites the golden files; review the diff before keeping it.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from conformance.reporters import REPORT_FILES, write_reports
from conformance.reporters._text import escape_bytes, hex_dump, rfc_url, visible
from conformance.reporters.html import render_html, write_html
from conformance.reporters.json_report import dumps_json, read_json, write_json
from conformance.reporters.junit import render_junit, write_junit
from conformance.reporters.terminal import TerminalReporter
from conformance.results import CaseResult, Direction, RunResults, TargetResults, TranscriptEntry
from conformance.verdicts.verdict import Requirement, Verdict

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("CONFORMANCE_UPDATE_GOLDEN") == "1"

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
MARKUP = "[bold red]styled?[/bold red]"
HOSTILE = f"{SCRIPT} {IMG} ]]> nul:\x00 esc:\x1b[31m {MARKUP} lone:\ud800 nonchar:\ufffe rlo:\u202e"
BIG = bytes(range(256)) * (5 * 4096)  # 5 MiB, every byte value, invalid UTF-8 throughout


def entry(t: float, direction: Direction, data: bytes = b"", text: str = "", **kw: object) -> TranscriptEntry:
    size = len(data) if direction is not Direction.EVENT else 0
    return TranscriptEntry(t=t, direction=direction, data=data, size=kw.pop("size", size), text=text, **kw)  # type: ignore[arg-type]


def case(
    case_id: str, verdict: Verdict, requirement: Requirement = Requirement.MUST, **kw: object
) -> CaseResult:
    protocol, rfc, section, _slug = case_id.split("/")
    fields: dict[str, object] = {
        "id": case_id,
        "title": f"title of {case_id}",
        "protocol": protocol,
        "rfc": rfc,
        "section": section,
        "requirement": requirement,
        "verdict": verdict,
        "duration_s": 0.0125,
    }
    fields.update(kw)
    return CaseResult(**fields)  # type: ignore[arg-type]


def small_results() -> RunResults:
    request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
    response = b"HTTP/1.1 200 OK\r\nX-Evil: " + SCRIPT.encode() + b"\x00\x80\xc3\x28\xff\\\r\n\r\n]]>"
    nginx = TargetResults(
        name="nginx",
        url="http://127.0.0.1:8080/",
        cases=(
            case(
                "h1/9112/2.2/bare-cr",
                Verdict.PASS,
                reference="RFC 9112 §2.2 — a bare CR must be rejected",
                expected="a 400 response or a closed connection",
                observed="a 400 response",
                transcript=(
                    entry(0.0, Direction.EVENT, text="connected (tcp)"),
                    entry(0.0005, Direction.SENT, request),
                    entry(0.0021, Direction.RECEIVED, response, connection=1),
                    entry(
                        0.003,
                        Direction.EVENT,
                        text=f"response 200 {HOSTILE}",
                        detail={"status": 200, "x": SCRIPT},
                    ),
                ),
            ),
            case(
                "h2/9113/6.5/ack-with-payload",
                Verdict.NON_STRICT,
                expected="GOAWAY (error: FRAME_SIZE_ERROR)",
                observed="the connection closed (acceptable, not preferred)",
            ),
            case(
                "h2/9113/6.9/window-overflow",
                Verdict.FAIL,
                Requirement.SHOULD,
                expected="GOAWAY (error: FLOW_CONTROL_ERROR)",
                observed=f"DATA frame on stream 1: {HOSTILE}",
                step=3,
                step_text="send WINDOW_UPDATE (increment 2147483647)",
                notes=(f"note with {SCRIPT}", "second note"),
                aliases=("http2/6.9.1/2",),
            ),
            case(
                "h2/9113/6.5.2/max-frame-size",
                Verdict.FAIL,
                expected=f"expected {HOSTILE}",
                observed="GOAWAY (error: PROTOCOL_ERROR)",
                step=2,
                step_text="expect goaway",
                reference="RFC 9113 §6.5.2 — values above the maximum are a connection error",
            ),
            case(
                "ws/6455/5.5.1/close-reason",
                Verdict.FAIL,
                Requirement.MAY,
                expected="close 1000",
                observed="close 1002",
            ),
            case(
                "h1/9110/9.3.2/head-body",
                Verdict.INFORMATIONAL,
                Requirement.INFO,
                observed=f"server sent a body: {MARKUP}",
            ),
            case(
                "ws/7692/7/permessage-deflate",
                Verdict.UNIMPLEMENTED,
                Requirement.MAY,
                observed="extension not offered",
            ),
            case("h1/9112/9.3/pipelining", Verdict.SKIPPED, Requirement.SHOULD, notes=("filtered out",)),
            case(
                "h1/9112/6.1/chunked-ext",
                Verdict.ERROR,
                expected="the case to run to its end",
                observed=f"timeout budget exhausted {MARKUP} {SCRIPT}",
            ),
        ),
    )
    evil = TargetResults(
        name="evil<b>&\"'",
        url=f"http://127.0.0.1:9/?{SCRIPT}",
        reachable=False,
        cases=(
            case("h1/9112/2.2/bare-cr", Verdict.ERROR, observed="connection refused: 127.0.0.1:9"),
            case("ws/6455/1.3/handshake", Verdict.ERROR, observed="connection refused: 127.0.0.1:9"),
        ),
    )
    return RunResults(
        tool_version="0.1.0", started_at="2024-05-01T12:00:00Z", duration_s=12.5, targets=(nginx, evil)
    )


def full_results() -> RunResults:
    """The small fixture plus a case whose transcript holds a 5 MiB entry."""
    small = small_results()
    big = case(
        "ws/6455/5.4/huge-message",
        Verdict.FAIL,
        expected="a close frame 1009",
        observed="the 5 MiB message echoed back",
        step=4,
        step_text="expect close",
        transcript=(
            entry(0.01, Direction.SENT, b"\x82\x7f" + len(BIG).to_bytes(8, "big")),
            entry(0.25, Direction.RECEIVED, BIG),
        ),
    )
    nginx = dataclasses.replace(small.targets[0], cases=(*small.targets[0].cases, big))
    return dataclasses.replace(small, targets=(nginx, small.targets[1]))


@pytest.fixture(scope="module")
def small() -> RunResults:
    return small_results()


@pytest.fixture(scope="module")
def full() -> RunResults:
    return full_results()


# ---------------------------------------------------------------------------- golden files


GOLDEN_CASES: list[tuple[str, Callable[[], RunResults], Callable[[RunResults], str]]] = [
    ("results.json", small_results, dumps_json),
    # At the CLI's default --fail-on (MUST): its SHOULD and MAY FAILs are reported, not failures.
    ("junit.xml", full_results, render_junit),
    ("index.html", small_results, render_html),
]


@pytest.mark.parametrize(("name", "fixture", "render"), GOLDEN_CASES, ids=[g[0] for g in GOLDEN_CASES])
def test_output_matches_golden_file(
    name: str, fixture: Callable[[], RunResults], render: Callable[[RunResults], str]
) -> None:
    output = render(fixture())
    golden = GOLDEN / name
    if UPDATE:
        golden.parent.mkdir(exist_ok=True)
        golden.write_bytes(output.encode("utf-8"))
    assert golden.read_bytes().decode("utf-8") == output, (
        f"{name} differs; rerun with CONFORMANCE_UPDATE_GOLDEN=1"
    )


@pytest.mark.parametrize("render", [dumps_json, render_junit, render_html])
def test_output_is_deterministic(render: Callable[[RunResults], str]) -> None:
    assert render(small_results()) == render(small_results())


def test_written_files_match_the_rendered_text(tmp_path: Path, small: RunResults) -> None:
    write_json(small, tmp_path / "r.json")
    write_junit(small, tmp_path / "j.xml")
    write_html(small, tmp_path / "i.html")
    assert (tmp_path / "r.json").read_bytes() == dumps_json(small).encode("utf-8")
    assert (tmp_path / "j.xml").read_bytes() == render_junit(small).encode("utf-8")
    assert (tmp_path / "i.html").read_bytes() == render_html(small).encode("utf-8")


# ---------------------------------------------------------------------------- JSON


def test_json_round_trip(tmp_path: Path, small: RunResults) -> None:
    path = tmp_path / "results.json"
    write_json(small, path)
    assert read_json(path) == small


def test_json_round_trip_keeps_a_5_mib_entry_byte_for_byte(tmp_path: Path, full: RunResults) -> None:
    path = tmp_path / "results.json"
    write_json(full, path)
    back = read_json(path)
    assert back == full
    assert back.targets[0].cases[-1].transcript[1].data == BIG


def test_json_file_is_ascii_utf8_with_a_final_newline_and_model_key_order(
    tmp_path: Path, small: RunResults
) -> None:
    path = tmp_path / "results.json"
    write_json(small, path)
    raw = path.read_bytes()
    assert raw.endswith(b"}\n")
    assert raw.isascii()
    assert list(json.loads(raw)) == [
        "schema",
        "tool",
        "tool_version",
        "started_at",
        "duration_s",
        "shard",
        "baseline_unmatched",
        "profile",
        "echo_path",
        "targets",
    ]
    assert "\\u0000" in raw.decode() and "\\ud800" in raw.decode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "invalid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"schema": 1, "tool": "other"}', "written by 'other'"),
        (b'{"schema": 99, "tool": "conformance"}', "unsupported results schema 99 (this version reads 1, 2)"),
        (b'{"tool": "conformance"}', "unsupported results schema None"),
        (
            b'{"schema": 1, "tool_version": "x", "started_at": "y", "duration_s": 1}',
            "missing field 'targets'",
        ),
        (
            b'{"schema": 1, "tool_version": "x", "started_at": "y", "duration_s": 1, "targets": 3}',
            "malformed",
        ),
        (
            b'{"schema": 1, "tool_version": "x", "started_at": "y", "duration_s": 1, "targets": [{"name": "a", "url": "u",'
            b' "cases": [{"id": "i", "title": "t", "protocol": "h1", "requirement": "MUST", "verdict": "MAYBE"}]}]}',
            "'MAYBE' is not a valid Verdict",
        ),
    ],
)
def test_read_json_rejects_a_bad_file_with_a_clear_value_error(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        read_json(path)
    assert str(path) in str(info.value)


# ---------------------------------------------------------------------------- JUnit


def _testcases(root: ET.Element) -> dict[tuple[str, str], ET.Element]:
    return {
        (suite.get("name", ""), tc.get("name", "")): tc
        for suite in root.iter("testsuite")
        for tc in suite.iter("testcase")
    }


def test_junit_parses_and_counts_are_right(full: RunResults) -> None:
    root = ET.fromstring(render_junit(full).encode("utf-8"))
    assert root.tag == "testsuites"
    assert root.attrib == {
        "name": "conformance",
        "tests": "12",
        "failures": "2",  # the MUST FAILs; a SHOULD and a MAY FAIL are below the default --fail-on
        "errors": "3",
        "skipped": "2",
        "time": "12.500",
    }
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["nginx", "evil<b>&\"'"]
    assert {k: suites[0].get(k) for k in ("tests", "failures", "errors", "skipped", "time", "timestamp")} == {
        "tests": "10",
        "failures": "2",
        "errors": "1",
        "skipped": "2",
        "time": "0.125",
        "timestamp": "2024-05-01T12:00:00Z",
    }
    assert {k: suites[1].get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "2",
        "failures": "0",
        "errors": "2",
        "skipped": "0",
    }
    props = {p.get("name"): p.get("value") for p in suites[1].iter("property")}
    assert props == {
        "url": f"http://127.0.0.1:9/?{SCRIPT}",
        "reachable": "false",
        "tool_version": "0.1.0",
        "fail_on": "MUST",
    }
    for suite in suites:
        cases = suite.findall("testcase")
        assert len(cases) == int(suite.get("tests", "-1"))
        assert len([c for c in cases if c.find("failure") is not None]) == int(suite.get("failures", "-1"))
        assert len([c for c in cases if c.find("error") is not None]) == int(suite.get("errors", "-1"))
        assert len([c for c in cases if c.find("skipped") is not None]) == int(suite.get("skipped", "-1"))


def test_junit_fail_is_a_failure_with_requirement_expected_observed_and_step(full: RunResults) -> None:
    cases = _testcases(ET.fromstring(render_junit(full, Requirement.SHOULD)))
    tc = cases["nginx", "h2/9113/6.9/window-overflow"]
    assert tc.get("classname") == "nginx.h2.9113.6.9"
    assert tc.get("time") == "0.013"
    assert tc.find("error") is None
    failure = tc.find("failure")
    assert failure is not None
    assert failure.get("type") == "SHOULD"
    message = failure.get("message", "")
    assert message.startswith(
        "SHOULD: expected GOAWAY (error: FLOW_CONTROL_ERROR); observed DATA frame on stream 1: "
    )
    assert message.endswith("(at step 3: send WINDOW_UPDATE (increment 2147483647))")
    text = failure.text or ""
    assert "Requirement: SHOULD" in text
    assert "Expected: GOAWAY (error: FLOW_CONTROL_ERROR)" in text
    assert f"Observed: DATA frame on stream 1: {SCRIPT} {IMG} ]]> nul:\\x00 esc:\\x1b[31m {MARKUP}" in text
    assert "Diverged at step 3: send WINDOW_UPDATE (increment 2147483647)" in text
    assert f"Note: note with {SCRIPT}" in text
    assert "lone:\\ud800 nonchar:\\ufffe rlo:\\u202e" in text


def test_junit_other_verdicts(full: RunResults) -> None:
    cases = _testcases(ET.fromstring(render_junit(full)))
    error = cases["nginx", "h1/9112/6.1/chunked-ext"]
    assert [child.tag for child in error] == ["error"]
    assert error[0].get("message") == f"timeout budget exhausted {MARKUP} {SCRIPT}"
    assert [child.tag for child in cases["nginx", "ws/7692/7/permessage-deflate"]] == ["skipped"]
    assert (
        cases["nginx", "ws/7692/7/permessage-deflate"][0].get("message")
        == "UNIMPLEMENTED: extension not offered"
    )
    assert cases["nginx", "h1/9112/9.3/pipelining"][0].get("message") == "SKIPPED: filtered out"
    assert list(cases["nginx", "h1/9112/2.2/bare-cr"]) == []  # PASS: a plain testcase
    non_strict = cases["nginx", "h2/9113/6.5/ack-with-payload"]
    assert [child.tag for child in non_strict] == ["system-out"]
    assert non_strict[0].text == "NON-STRICT: the connection closed (acceptable, not preferred)"
    info = cases["nginx", "h1/9110/9.3.2/head-body"]
    assert [child.tag for child in info] == ["system-out"]
    assert info[0].text == f"INFORMATIONAL: server sent a body: {MARKUP}"
    assert cases["evil<b>&\"'", "ws/6455/1.3/handshake"].get("classname") == "evil<b>&\"'.ws.6455.1.3"


_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def test_junit_contains_no_character_xml_forbids(full: RunResults) -> None:
    xml = render_junit(full)
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')
    assert xml.endswith("</testsuites>\n")
    assert not _XML_FORBIDDEN.search(xml)
    assert "<script>" not in xml and "]]>" not in xml
    xml.encode("utf-8")  # no lone surrogate left


weird_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)


@given(text=weird_text, name=weird_text)
def test_junit_is_well_formed_whatever_the_strings(text: str, name: str) -> None:
    result = case("h1/9112/2.2/x", Verdict.FAIL, expected=text, observed=text, step_text=text, notes=(text,))
    target = TargetResults(
        name=name, url=text, cases=(result, dataclasses.replace(result, verdict=Verdict.NON_STRICT))
    )
    run = RunResults(tool_version=text, started_at=text, duration_s=1.0, targets=(target,))
    root = ET.fromstring(render_junit(run).encode("utf-8"))
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert (f"Observed: {visible(text)}" in (failure.text or "")) is bool(text)


# The HTML report has its own tests: test_html.py (data, escaping, golden page).


# ---------------------------------------------------------------------------- terminal


def run_terminal(results: RunResults, **console_kw: object) -> str:
    out = io.StringIO()
    console = Console(file=out, width=100, **console_kw)  # type: ignore[arg-type]
    reporter = TerminalReporter(console)
    reporter.start(sum(len(t.cases) for t in results.targets), [t.name for t in results.targets])
    for target in results.targets:
        for result in target.cases:
            reporter.case_done(target.name, result)
    assert reporter.counts[Verdict.FAIL] == sum(len(t.failures(Requirement.MAY)) for t in results.targets)
    reporter.finish(results, Path("reports/run1"), Requirement.SHOULD)
    return out.getvalue()


def test_terminal_plain_output(small: RunResults) -> None:
    text = run_terminal(small, force_terminal=False)
    assert "\x1b" not in text  # no colour, no cursor movement, no progress bar
    lines = text.splitlines()
    assert lines[0] == "Running 11 cases against nginx, evil<b>&\"'"
    assert "nginx (http://127.0.0.1:8080/)" in lines
    assert (
        "nginx: 1 PASS, 1 NON-STRICT, 3 FAIL (1 MUST, 1 SHOULD, 1 MAY), 1 INFORMATIONAL, 1 UNIMPLEMENTED, 1 SKIPPED, 1 ERROR"
        in lines
    )
    assert "evil<b>&\"': unreachable, 2 ERROR" in lines
    assert "2 FAIL at SHOULD or stricter" in lines
    assert lines[-1] == "Report: reports/run1/index.html"
    # every FAIL (MUST first) and ERROR, with id, requirement, expected and observed
    heads = [line for line in lines if line.startswith("  FAIL") or line.startswith("  ERROR")]
    assert heads == [
        "  FAIL  MUST   h2/9113/6.5.2/max-frame-size  title of h2/9113/6.5.2/max-frame-size",
        "  FAIL  SHOULD h2/9113/6.9/window-overflow  title of h2/9113/6.9/window-overflow",
        "  FAIL  MAY    ws/6455/5.5.1/close-reason  title of ws/6455/5.5.1/close-reason",
        "  ERROR MUST   h1/9112/6.1/chunked-ext  title of h1/9112/6.1/chunked-ext",
        "  ERROR MUST   h1/9112/2.2/bare-cr  title of h1/9112/2.2/bare-cr",
        "  ERROR MUST   ws/6455/1.3/handshake  title of ws/6455/1.3/handshake",
    ]
    assert "        expected: GOAWAY (error: FLOW_CONTROL_ERROR)" in lines
    assert "        at:       step 3: send WINDOW_UPDATE (increment 2147483647)" in lines
    assert "        note:     note with <script>alert(1)</script>" in lines
    assert "        reason:   connection refused: 127.0.0.1:9" in lines
    assert "h1/9110/9.3.2/head-body" not in text and "pipelining" not in text  # only FAIL and ERROR


def test_terminal_prints_server_text_literally(small: RunResults) -> None:
    text = run_terminal(small, force_terminal=False)
    assert "[bold red]styled?[/bold red]" in text
    assert (
        "        reason:   timeout budget exhausted [bold red]styled?[/bold red] <script>alert(1)</script>"
        in text
    )
    assert "esc:\\x1b[31m" in text and "nul:\\x00" in text and "rlo:\\u202e" in text
    assert "\x00" not in text and "\u202e" not in text


def test_terminal_markup_is_not_interpreted_even_on_a_colour_terminal(small: RunResults) -> None:
    text = run_terminal(small, force_terminal=True, color_system="standard")
    assert "[bold red]styled?[/bold red]" in text
    assert "esc:\x1b" not in text  # the server's ESC never reaches the terminal raw
    assert "\x1b[" in text  # while rich's own styles do
    assert "esc:\\x1b[31m" in text


def test_terminal_progress_bar_only_on_a_terminal() -> None:
    plain = Console(file=io.StringIO(), width=100, force_terminal=False)
    assert TerminalReporter(plain).show_progress is False
    tty = Console(file=io.StringIO(), width=100, force_terminal=True)
    assert TerminalReporter(tty).show_progress is True
    assert TerminalReporter(tty, show_progress=False).show_progress is False


def test_terminal_with_no_failures_and_no_report_dir() -> None:
    out = io.StringIO()
    reporter = TerminalReporter(Console(file=out, width=100, force_terminal=False))
    clean = RunResults(
        tool_version="0.1.0",
        started_at="2024-05-01T12:00:00Z",
        duration_s=1.0,
        targets=(TargetResults(name="ok", url="u", cases=(case("h1/1/2/x", Verdict.PASS),)),),
    )
    reporter.start(1, ["ok"])
    reporter.finish(clean, None, Requirement.MUST)
    assert out.getvalue() == "Running 1 case against ok\n\nok: 1 PASS\nNo FAIL at MUST\n"


def test_terminal_collapses_many_errors_with_one_reason() -> None:
    out = io.StringIO()
    reporter = TerminalReporter(Console(file=out, width=100, force_terminal=False))
    refused = "could not connect to 127.0.0.1:1: Connection refused"
    cases = tuple(case(f"h1/9112/3/c{n}", Verdict.ERROR, observed=refused) for n in range(5))
    other = case("h1/9112/3/odd", Verdict.ERROR, observed="harness error: boom")
    results = RunResults(
        tool_version="0.1.0",
        started_at="2024-05-01T12:00:00Z",
        duration_s=1.0,
        targets=(TargetResults(name="down", url="u", cases=(*cases, other), reachable=False),),
    )
    reporter.start(6, ["down"])
    reporter.finish(results, None, Requirement.MUST)
    lines = out.getvalue().splitlines()
    assert f"  ERROR 5 cases: {refused}" in lines
    assert "  ERROR MUST   h1/9112/3/odd  title of h1/9112/3/odd" in lines
    assert not any("h1/9112/3/c0" in line for line in lines)


# ---------------------------------------------------------------------------- all together


def test_write_reports_creates_the_directory_and_returns_the_paths(tmp_path: Path, small: RunResults) -> None:
    directory = tmp_path / "a" / "b"
    paths = write_reports(small, directory)
    assert paths == {
        "json": directory / "results.json",
        "junit": directory / "junit.xml",
        "html": directory / "index.html",
        "markdown": directory / "summary.md",
    }
    assert set(REPORT_FILES.values()) == {p.name for p in directory.iterdir()}
    assert read_json(paths["json"]) == small
    ET.parse(paths["junit"])
    assert paths["html"].read_text(encoding="utf-8") == render_html(small)


# ---------------------------------------------------------------------------- helpers


def test_visible_escapes_only_what_is_unsafe() -> None:
    assert visible("tab\there\nnew ü € 😀") == "tab\there\nnew ü € 😀"
    assert (
        visible("\x00\r\x1b\x7f\x85\ud800\ufffe\U0010ffff\u202e")
        == "\\x00\\x0d\\x1b\\x7f\\x85\\ud800\\ufffe\\U0010ffff\\u202e"
    )


def test_escape_bytes_and_hex_dump() -> None:
    assert (
        escape_bytes(b"a\r\nb\t\\\x00\x7f\x80\xa0\xad\xe9\xff")
        == "a\\r\\n\nb\\t\\\\\\x00\\x7f\\x80\\xa0\\xadéÿ"
    )
    assert hex_dump(b"") == ""
    assert hex_dump(bytes(range(0x41, 0x52))) == (
        "00000000  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  |ABCDEFGHIJKLMNOP|\n"
        "00000010  51                                                |Q|"
    )


def test_rfc_url() -> None:
    assert rfc_url("9113", "6.5") == "https://www.rfc-editor.org/rfc/rfc9113#section-6.5"
    assert rfc_url("6455", "A.1") == "https://www.rfc-editor.org/rfc/rfc6455#appendix-A.1"
    assert rfc_url("9110", "") == "https://www.rfc-editor.org/rfc/rfc9110"
    assert rfc_url('9"><x', "1 2") == "https://www.rfc-editor.org/rfc/rfc9%22%3E%3Cx#section-1%202"
