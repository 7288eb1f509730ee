"""The CI-gating commands as a user meets them: ``run --baseline/--shard/--summary-md``,
``baseline``, ``report`` and ``diff``, their exit statuses, files and GitHub Actions output."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from twisted.internet import protocol

from conformance.shards import in_shard

ROOT = Path(__file__).resolve().parents[2]
FAULTY = ROOT / "tests" / "faulty" / "h1_server.py"

TWO_LEVELS = """\
protocol: h1
rfc: 9112
section: "1"
cases:
  - id: must-200
    title: t
    requirement: MUST
    steps:
      - send: "GET / HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect: {response: {status: 200}}
  - id: should-400
    title: t
    requirement: SHOULD
    steps:
      - send: "GET / HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect: {response: {status: 400}}
"""


def conformance(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI in a process of its own (this checkout's package), as a CI job runs it."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    environ["PYTHONPATH"] = str(ROOT)
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "conformance", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
        cwd=cwd,
    )


class _Ok(protocol.Protocol):
    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


@pytest.fixture
def ok_server(reactor_thread: Any) -> Iterator[str]:
    port = reactor_thread.call(
        reactor_thread.reactor.listenTCP, 0, protocol.Factory.forProtocol(_Ok), interface="127.0.0.1"
    )
    yield f"http://127.0.0.1:{port.getHost().port}/"
    reactor_thread.call(port.stopListening)


@pytest.fixture
def cases(tmp_path: Path) -> Path:
    path = tmp_path / "cases.yaml"
    path.write_text(TWO_LEVELS)
    return path


def run_two_levels(tmp_path: Path, server: str, cases: Path, *extra: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    out = tmp_path / "report"
    result = conformance(
        "run",
        f"srv={server}",
        "--cases",
        str(cases),
        "-o",
        str(out),
        "--fail-on",
        "should",
        "--no-progress",
        *extra,
        env=env,
    )
    return result, out


def test_baseline_turns_a_known_fail_into_a_pass_of_the_gate(
    tmp_path: Path, ok_server: str, cases: Path
) -> None:
    result, _ = run_two_levels(tmp_path, ok_server, cases)
    assert result.returncode == 1, result.stdout + result.stderr
    baseline = tmp_path / "baseline.yaml"
    baseline.write_text(
        "version: 1\ntargets:\n  srv:\n    h1/9112/1/should-400: answers 200 to everything\n"
        "  '*':\n    h1/9112/1/must-*: fixed last week\n  other:\n    h1/9112/1/x: r\n"
    )
    result, out = run_two_levels(tmp_path, ok_server, cases, "--baseline", str(baseline))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "  known SHOULD h1/9112/1/should-400  answers 200 to everything" in lines
    assert "  Baseline entries that no longer FAIL (remove them):" in lines
    assert f"    h1/9112/1/must-*: now PASS  ({baseline}:6)" in lines
    assert (
        "No new FAIL at SHOULD or stricter (1 known, expected by the baseline); 1 baseline entry no longer FAIL"
        in lines
    )
    assert f"{baseline}: note: the baseline section 'other' names no target of this run" in result.stderr
    data = json.loads((out / "results.json").read_text())
    assert data["schema"] == 2
    [target] = data["targets"]
    known = {c["id"]: c["known_failure"] for c in target["cases"]}
    assert known == {"h1/9112/1/must-200": None, "h1/9112/1/should-400": "answers 200 to everything"}
    assert [s["pattern"] for s in target["baseline_stale"]] == ["h1/9112/1/must-*"]
    assert target["baseline_stale"][0]["cases"] == [{"id": "h1/9112/1/must-200", "verdict": "PASS"}]
    junit = (out / "junit.xml").read_text()
    assert '<skipped message="known failure (baseline): answers 200 to everything">' in junit
    assert "<failure" not in junit
    summary = (out / "summary.md").read_text()
    assert "### Known failures, expected by the baseline (1)" in summary


def test_a_broken_baseline_exits_2_with_located_errors(tmp_path: Path, ok_server: str, cases: Path) -> None:
    baseline = tmp_path / "baseline.yaml"
    baseline.write_text("targets:\n  srv:\n    'not an id': r\n    h1/9112/1/a: ''\n")
    result, out = run_two_levels(tmp_path, ok_server, cases, "--baseline", str(baseline))
    assert result.returncode == 2
    assert f"{baseline}:3:18: error: 'not an id' is not a case id" in result.stderr
    assert f"{baseline}:4:18: error: h1/9112/1/a: the reason must be non-empty text" in result.stderr
    assert "2 errors in the baseline file" in result.stderr
    assert not out.exists()  # nothing ran
    missing = conformance("run", "--baseline", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "nope.yaml:1:1: error: cannot read" in missing.stderr


def test_baseline_command_writes_a_baseline_that_silences_the_run(
    tmp_path: Path, ok_server: str, cases: Path
) -> None:
    result, out = run_two_levels(tmp_path, ok_server, cases)
    assert result.returncode == 1
    printed = conformance("baseline", str(out / "results.json"))
    assert printed.returncode == 0, printed.stderr
    assert '"srv":\n    "h1/9112/1/should-400": "SHOULD FAIL: observed HTTP/1.1 200 OK' in printed.stdout
    written = tmp_path / "b.yaml"
    result = conformance("baseline", str(out / "results.json"), "-o", str(written))
    assert result.returncode == 0 and written.read_text() == printed.stdout
    assert f"{written}: 1 FAIL written" in result.stderr
    again, _ = run_two_levels(tmp_path, ok_server, cases, "--baseline", str(written))
    assert again.returncode == 0, again.stdout + again.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    unreadable = conformance("baseline", str(bad))
    assert unreadable.returncode == 2 and "unsupported results schema None" in unreadable.stderr


def test_github_actions_annotations_step_summary_and_summary_md(
    tmp_path: Path, ok_server: str, cases: Path
) -> None:
    step_summary = tmp_path / "step-summary.md"
    step_summary.write_text("# earlier step\n")
    summary_md = tmp_path / "deep" / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(step_summary)}
    result, out = run_two_levels(tmp_path, ok_server, cases, "--summary-md", str(summary_md), env=env)
    assert result.returncode == 1
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert annotations == [
        "::error title=srv%3A h1/9112/1/should-400::SHOULD FAIL: t%0Aexpected: a response with status 400"
        + annotations[0].split("status 400", 1)[1]
    ]
    assert "%0Aobserved: HTTP/1.1 200 OK" in annotations[0]
    summary = (out / "summary.md").read_text()
    assert summary_md.read_text() == summary
    assert step_summary.read_text() == "# earlier step\n" + summary
    assert "**1 new FAIL at SHOULD or stricter**" in summary
    plain, _ = run_two_levels(tmp_path, ok_server, cases)
    assert not any(line.startswith("::") for line in plain.stdout.splitlines())  # not on GitHub


def test_shard_option_rejects_nonsense(tmp_path: Path) -> None:
    result = conformance("run", "--shard", "3/2", "-o", str(tmp_path / "r"))
    assert result.returncode == 2 and "K must be between 1 and N" in result.stderr


@pytest.fixture(scope="module")
def faulty_server() -> Iterator[str]:
    """The faulty HTTP/1.1 server with two faults on: a mix of PASS and FAIL to merge."""
    process = subprocess.Popen(
        [
            sys.executable,
            str(FAULTY),
            "--port",
            "0",
            "--fault",
            "bare-cr-accepted",
            "--fault",
            "leading-crlf-rejected",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert match, line
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _without_timings(value: Any) -> Any:
    """``value`` without what depends on when and how fast it ran: start, durations, and the
    wire transcripts (Date headers, and how a large request interleaved with the answer)."""
    if isinstance(value, dict):
        return {
            k: _without_timings(v)
            for k, v in value.items()
            if k not in ("started_at", "duration_s", "transcript", "transcript_omitted", "truncated")
        }
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def test_the_report_merged_from_shards_equals_the_report_of_one_run(
    tmp_path: Path, faulty_server: str
) -> None:
    common = ("--suite", "h1", "--no-progress", "--jobs", "16")
    whole = conformance("run", f"faulty={faulty_server}", *common, "-o", str(tmp_path / "whole"))
    assert whole.returncode == 1, whole.stdout[-2000:] + whole.stderr[-2000:]
    shard_dirs = []
    for k in (1, 2, 3):
        directory = tmp_path / f"shard{k}"
        result = conformance(
            "run", f"faulty={faulty_server}", *common, "--shard", f"{k}/3", "-o", str(directory)
        )
        assert result.returncode in (0, 1), result.stderr
        assert json.loads((directory / "results.json").read_text())["shard"] == f"{k}/3"
        shard_dirs.append(directory)
    sizes = [len(json.loads((d / "results.json").read_text())["targets"][0]["cases"]) for d in shard_dirs]
    whole_cases = json.loads((tmp_path / "whole" / "results.json").read_text())["targets"][0]["cases"]
    assert sum(sizes) == len(whole_cases) and all(sizes)
    merged = conformance(
        "report", *(str(d / "results.json") for d in shard_dirs), "--out", str(tmp_path / "merged"), "-v"
    )
    single = conformance(
        "report", str(tmp_path / "whole" / "results.json"), "--out", str(tmp_path / "single")
    )
    assert merged.returncode == single.returncode == 1, merged.stdout + merged.stderr
    assert merged.stdout.startswith("Merged 3 result files\n")
    assert "h1/9112/2.2/bare-cr-field-line" in merged.stdout  # the failures are listed (-v)
    assert "bare-cr-field-line" not in single.stdout  # without -v, the verdict only
    merged_json = json.loads((tmp_path / "merged" / "results.json").read_text())
    single_json = json.loads((tmp_path / "single" / "results.json").read_text())
    fails = [c["id"] for c in single_json["targets"][0]["cases"] if c["verdict"] == "FAIL"]
    assert "h1/9112/2.2/bare-cr-field-line" in fails and "h1/9112/2.2/leading-empty-line" in fails
    assert _without_timings(merged_json) == _without_timings(single_json)
    # The run's own results.json already has the merged report's cases, in the same order.
    whole_own = json.loads((tmp_path / "whole" / "results.json").read_text())
    assert _without_timings(whole_own) == _without_timings(merged_json)
    for name in ("summary.md", "junit.xml"):
        strip = re.compile(r'(time|timestamp)="[^"]*"|started [^·]*·')
        assert strip.sub("", (tmp_path / "merged" / name).read_text()) == strip.sub(
            "", (tmp_path / "single" / name).read_text()
        ), name
    assert (tmp_path / "merged" / "index.html").exists()
    # Byte for byte: the whole run cut into shards after the fact, then merged.
    whole_json = json.loads((tmp_path / "whole" / "results.json").read_text())
    pieces = []
    for k in (1, 2, 3):
        piece = json.loads(json.dumps(whole_json))
        for target in piece["targets"]:
            target["cases"] = [c for c in target["cases"] if in_shard(c["id"], (k, 3))]
        pieces.append(tmp_path / f"piece{k}.json")
        pieces[-1].write_text(json.dumps(piece))
    exact = conformance("report", *map(str, pieces), "--out", str(tmp_path / "exact"))
    assert exact.returncode == 1
    for name in ("results.json", "junit.xml", "summary.md", "index.html"):
        assert (tmp_path / "exact" / name).read_bytes() == (tmp_path / "single" / name).read_bytes(), name


def _write_run(path: Path, verdicts: dict[str, str], known: dict[str, str] | None = None) -> Path:
    cases = [
        {
            "id": case_id,
            "title": "t",
            "protocol": "h1",
            "rfc": "9112",
            "section": "1",
            "requirement": "MUST",
            "verdict": verdict,
            "known_failure": (known or {}).get(case_id),
        }
        for case_id, verdict in verdicts.items()
    ]
    document = {
        "schema": 2,
        "tool": "conformance",
        "tool_version": "0.1.0",
        "started_at": "2024-05-01T12:00:00Z",
        "duration_s": 1.0,
        "targets": [{"name": "srv", "url": "http://127.0.0.1:1/", "cases": cases}],
    }
    path.write_text(json.dumps(document))
    return path


def test_diff_exit_status_and_formats(tmp_path: Path) -> None:
    old = _write_run(
        tmp_path / "old.json", {"h1/9112/1/a": "PASS", "h1/9112/1/b": "FAIL", "h1/9112/1/c": "PASS"}
    )
    new = _write_run(
        tmp_path / "new.json", {"h1/9112/1/a": "FAIL", "h1/9112/1/b": "PASS", "h1/9112/1/d": "PASS"}
    )
    result = conformance("diff", str(old), str(new))
    assert result.returncode == 1
    assert "Regressions (1):\n  srv  MUST   h1/9112/1/a: PASS -> FAIL\n" in result.stdout
    assert "Fixes (1):\n  srv  MUST   h1/9112/1/b: FAIL -> PASS\n" in result.stdout
    assert "New cases (1):" in result.stdout and "Removed cases (1):" in result.stdout
    as_json = conformance("diff", str(old), str(new), "--format", "json")
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["gating"] == 1
    as_md = conformance("diff", str(old), str(new), "--format", "markdown")
    assert "| srv | `h1/9112/1/a` | MUST | PASS | FAIL |" in as_md.stdout
    fixed = _write_run(tmp_path / "fixed.json", {"h1/9112/1/a": "NON-STRICT", "h1/9112/1/b": "PASS"})
    assert conformance("diff", str(old), str(fixed)).returncode == 0  # a fix, a change, a removal
    known = _write_run(
        tmp_path / "known.json", {"h1/9112/1/a": "FAIL"}, known={"h1/9112/1/a": "in the baseline"}
    )
    assert conformance("diff", str(old), str(known)).returncode == 0
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    broken = conformance("diff", str(old), str(bad))
    assert broken.returncode == 2 and "not a JSON object" in broken.stderr


def test_report_with_a_baseline_and_schema_1_input(tmp_path: Path) -> None:
    schema1 = ROOT / "tests" / "unit" / "reporters" / "golden" / "results-schema1.json"
    result = conformance("report", str(schema1), "--out", str(tmp_path / "r"))
    assert result.returncode == 1  # nginx has FAILs at MUST
    baseline = tmp_path / "b.yaml"
    baseline.write_text('targets:\n  nginx:\n    h2/9113/6.5.2/max-frame-size: "known"\n')
    result = conformance("report", str(schema1), "--out", str(tmp_path / "r"), "--baseline", str(baseline))
    assert result.returncode == 3, result.stdout + result.stderr  # its ERRORs remain
    result = conformance(
        "report", str(schema1), "--out", str(tmp_path / "r"), "--baseline", str(baseline), "--allow-errors"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((tmp_path / "r" / "results.json").read_text())
    assert data["schema"] == 2
    assert sorted(os.listdir(tmp_path / "r")) == ["index.html", "junit.xml", "results.json", "summary.md"]
