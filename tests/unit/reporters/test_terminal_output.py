"""The terminal reporter's verbosity (-q, -v, -vv), its cap on listed failures, and the
progress display: the cases still running as the run ends, a bar red only after a FAIL at
the gate. (The CLI's options for these: tests/unit/test_cli_terminal.py.)"""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn

from conformance.reporters.terminal import QUIET, TRANSCRIPTS, VERBOSE, TerminalReporter
from conformance.results import CaseResult, Direction, RunResults, TargetResults, TranscriptEntry
from conformance.verdicts.verdict import Requirement, Verdict


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
        "expected": "status 400",
        "observed": "status 200",
    }
    fields.update(kw)
    return CaseResult(**fields)  # type: ignore[arg-type]


TRANSCRIPT = (
    TranscriptEntry(t=0.0, direction=Direction.SENT, data=b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", size=27),
    TranscriptEntry(t=0.002, direction=Direction.RECEIVED, data=b"HTTP/1.1 200 OK\r\n\x1b[31m", size=9000),
    TranscriptEntry(t=0.003, direction=Direction.EVENT, text="response 200 OK"),
)


def results_of(*cases: CaseResult, name: str = "srv") -> RunResults:
    return RunResults(
        tool_version="0.1.0",
        started_at="2024-05-01T12:00:00Z",
        duration_s=1.0,
        targets=(TargetResults(name=name, url="http://127.0.0.1:1/", cases=cases),),
    )


MIXED = results_of(
    case("h1/9112/2/pass", Verdict.PASS),
    case("h1/9112/2/must-fail", Verdict.FAIL, transcript=TRANSCRIPT),
    case("h1/9112/2/should-fail", Verdict.FAIL, Requirement.SHOULD),
    case("h1/9112/2/skip", Verdict.SKIPPED),
)


def play(results: RunResults, console: Console | None = None, **kw: object) -> str:
    out = io.StringIO()
    console = console or Console(file=out, width=200, force_terminal=False)
    reporter = TerminalReporter(console, **kw)  # type: ignore[arg-type]
    reporter.start(sum(len(t.cases) for t in results.targets), [t.name for t in results.targets])
    for target in results.targets:
        for result in target.cases:
            reporter.case_started(target.name, result.id)
            reporter.case_done(target.name, result)
    reporter.finish(results, Path("reports/r"), Requirement.MUST)
    return out.getvalue() if console.file is out else ""


def test_quiet_prints_the_failures_and_the_verdict_only() -> None:
    lines = play(MIXED, verbosity=QUIET).splitlines()
    assert lines == [
        "",
        "srv (http://127.0.0.1:1/)",
        "  FAIL  MUST   h1/9112/2/must-fail  title of h1/9112/2/must-fail",
        "        expected: status 400",
        "        observed: status 200",
        "  FAIL  SHOULD h1/9112/2/should-fail  title of h1/9112/2/should-fail",
        "        expected: status 400",
        "        observed: status 200",
        "",
        "1 FAIL at MUST",
        "Report: reports/r/index.html",
    ]


def test_quiet_and_clean_is_one_line_and_the_report() -> None:
    text = play(results_of(case("h1/9112/2/pass", Verdict.PASS)), verbosity=QUIET)
    assert text == "No FAIL at MUST\nReport: reports/r/index.html\n"


def test_default_prints_no_line_per_case() -> None:
    text = play(MIXED)
    assert text.startswith("Running 4 cases against srv\n\nsrv (http://127.0.0.1:1/)\n")
    assert "h1/9112/2/pass" not in text and "✔" not in text


def test_verbose_prints_a_line_per_case_as_it_ends() -> None:
    lines = play(MIXED, verbosity=VERBOSE).splitlines()
    assert lines[1:5] == [
        "  ✔ PASS          h1/9112/2/pass  srv  title of h1/9112/2/pass",
        "  × FAIL (MUST)   h1/9112/2/must-fail  srv  title of h1/9112/2/must-fail",
        "  × FAIL (SHOULD) h1/9112/2/should-fail  srv  title of h1/9112/2/should-fail",
        "  - SKIPPED       h1/9112/2/skip  srv  title of h1/9112/2/skip",
    ]
    assert "transcript:" not in "\n".join(lines)  # that is -vv


def test_verbose_marks_fall_back_to_ascii_where_the_terminal_cannot_show_them() -> None:
    raw = io.BytesIO()
    ascii_out = io.TextIOWrapper(raw, encoding="ascii", errors="strict")
    console = Console(file=ascii_out, width=200, force_terminal=False)
    play(MIXED, console=console, verbosity=VERBOSE)
    ascii_out.flush()
    text = raw.getvalue().decode("ascii")  # nothing it could not encode was written
    assert "  + PASS          h1/9112/2/pass" in text
    assert "  x FAIL (MUST)   h1/9112/2/must-fail" in text


def test_very_verbose_adds_each_fails_transcript_escaped() -> None:
    text = play(MIXED, verbosity=TRANSCRIPTS)
    assert "        transcript:\n" in text
    assert "           0.000 sent 27 B: GET / HTTP/1.1\\r\\n\n" in text
    assert "           0.002 received 9000 B: HTTP/1.1 200 OK\\r\\n\n" in text
    assert "\\x1b[31m … (8978 more bytes not kept)" in text  # escaped, and the cut said
    assert "\x1b" not in text
    assert "           0.003 event: response 200 OK\n" in text
    # A FAIL without a kept transcript says so.
    assert text.count("transcript: none kept") == 1


def test_max_failures_caps_the_list_and_says_how_many_more_and_where() -> None:
    many = results_of(*(case(f"h1/9112/2/f{n}", Verdict.FAIL) for n in range(7)))
    lines = play(many, max_failures=3).splitlines()
    heads = [line for line in lines if line.startswith("  FAIL")]
    assert len(heads) == 3
    assert "  … and 4 more FAIL or ERROR (--max-failures 3)" in lines
    assert lines[-1] == "Report: reports/r/index.html (every FAIL and ERROR; 4 not listed above)"
    assert "7 FAIL at MUST" in lines


def test_max_failures_zero_lists_none_but_counts_them() -> None:
    many = results_of(*(case(f"h1/9112/2/f{n}", Verdict.FAIL) for n in range(2)))
    text = play(many, max_failures=0)
    assert "  FAIL" not in text and "srv (http" not in text
    assert text.endswith(
        "2 FAIL at MUST\nReport: reports/r/index.html (every FAIL and ERROR; 2 not listed above)\n"
    )


def test_finish_without_the_list_points_at_the_report() -> None:
    out = io.StringIO()
    reporter = TerminalReporter(Console(file=out, width=200, force_terminal=False), show_progress=False)
    reporter.finish(MIXED, Path("m"), Requirement.MUST, list_failures=False)
    assert out.getvalue() == (
        "\nsrv: 1 PASS, 2 FAIL (1 MUST, 1 SHOULD), 1 SKIPPED\n1 FAIL at MUST\n"
        "Report: m/index.html (every FAIL and ERROR; -v lists them here)\n"
    )


# ---------------------------------------------------------------------------- progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def tty_reporter(**kw: object) -> tuple[TerminalReporter, Clock]:
    clock = Clock()
    console = Console(file=io.StringIO(), width=200, force_terminal=True)
    reporter = TerminalReporter(console, clock=clock, **kw)  # type: ignore[arg-type]
    return reporter, clock


def _bar(reporter: TerminalReporter) -> BarColumn:
    assert reporter._bar is not None
    return reporter._bar


def test_the_cases_still_running_are_named_as_the_run_ends() -> None:
    reporter, clock = tty_reporter()
    ids = [f"h1/9112/2/c{n}" for n in range(20)]
    reporter.start(20, ["srv"])
    try:
        for n, case_id in enumerate(ids):
            clock.now = 100.0 + n
            reporter.case_started("srv", case_id)
        for case_id in ids[:10]:
            reporter.case_done("srv", case("h1/9112/2/" + case_id.rsplit("/", 1)[1], Verdict.PASS))
        # Half done, ten in flight and nothing queued: every case left is running.
        clock.now = 150.0
        line = reporter.running_line()
        assert line is not None
        assert line.plain.split("\n") == [
            "still running (10):",
            "    40 s  h1/9112/2/c10",
            "    39 s  h1/9112/2/c11",
            "    38 s  h1/9112/2/c12",
            "  and 7 more",
        ]
        for case_id in ids[10:19]:
            reporter.case_done("srv", case(case_id, Verdict.PASS))
        line = reporter.running_line()
        assert line is not None and line.plain == "still running (1):\n    31 s  h1/9112/2/c19"
        reporter.case_done("srv", case(ids[19], Verdict.PASS))
        assert reporter.running_line() is None
    finally:
        reporter._stop_progress()


def test_nothing_is_named_while_most_of_the_run_is_ahead() -> None:
    reporter, _ = tty_reporter()
    reporter.start(100, ["a", "b"])
    try:
        reporter.case_started("a", "h1/9112/2/x")
        reporter.case_started("b", "h1/9112/2/x")
        assert reporter.running_line() is None
        for n in range(90):
            reporter.case_done("a", case(f"h1/9112/2/d{n}", Verdict.PASS))
        line = reporter.running_line()  # 90 % done: now it is
        assert line is not None
        assert line.plain == "still running (2):\n     0 s  h1/9112/2/x  a\n     0 s  h1/9112/2/x  b"
    finally:
        reporter._stop_progress()


def test_the_bar_turns_red_on_a_fail_at_the_gate_only() -> None:
    reporter, _ = tty_reporter(fail_on=Requirement.MUST)
    reporter.start(3, ["srv"])
    try:
        assert _bar(reporter).complete_style != "red" and "red" not in str(_bar(reporter).complete_style)
        reporter.case_done("srv", case("h1/9112/2/a", Verdict.PASS))
        reporter.case_done("srv", case("h1/9112/2/b", Verdict.FAIL, Requirement.SHOULD))
        reporter.case_done("srv", case("h1/9112/2/k", Verdict.FAIL, known_failure="known"))
        assert "red" not in str(_bar(reporter).complete_style)  # below the gate, or expected
        reporter.case_done("srv", case("h1/9112/2/c", Verdict.FAIL, Requirement.MUST))
        assert _bar(reporter).complete_style == "red" and _bar(reporter).finished_style == "red"
    finally:
        reporter._stop_progress()


def test_quiet_has_no_progress_bar() -> None:
    console = Console(file=io.StringIO(), width=100, force_terminal=True)
    assert TerminalReporter(console, verbosity=QUIET).show_progress is False
