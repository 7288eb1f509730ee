"""What ``run`` and ``report`` print, as a user sees it in a process of its own: ``-q``,
``-v`` / ``-vv``, ``--max-failures``, and ``report`` giving the verdict of merged runs
without listing every FAIL again (and one note, not one per case, for repeated cases)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_cli_gate import conformance
from twisted.internet import protocol

CASES = """\
protocol: h1
rfc: 9112
section: "1"
cases:
  - id: a-pass
    title: answered 200
    requirement: MUST
    steps:
      - send: "GET / HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect: {response: {status: 200}}
  - id: b-must
    title: wants 400
    requirement: MUST
    steps:
      - send: "GET / HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect: {response: {status: 400}}
  - id: c-should
    title: wants 400
    requirement: SHOULD
    steps:
      - send: "GET / HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect: {response: {status: 400}}
  - id: d-should
    title: wants 400 too
    requirement: SHOULD
    steps:
      - send: "GET / HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect: {response: {status: 400}}
"""


class _Ok(protocol.Protocol):
    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


@pytest.fixture
def server(reactor_thread: Any) -> Iterator[str]:
    port = reactor_thread.call(
        reactor_thread.reactor.listenTCP, 0, protocol.Factory.forProtocol(_Ok), interface="127.0.0.1"
    )
    yield f"http://127.0.0.1:{port.getHost().port}/"
    reactor_thread.call(port.stopListening)


def run(tmp_path: Path, server: str, *extra: str, env: dict[str, str] | None = None) -> Any:
    cases = tmp_path / "cases.yaml"
    cases.write_text(CASES)
    return conformance(
        "run", f"srv={server}", "--cases", str(cases), "-o", str(tmp_path / "r"), *extra, env=env
    )


def fail_heads(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("  FAIL")]


def test_quiet_prints_the_failures_and_the_verdict_only(tmp_path: Path, server: str) -> None:
    result = run(tmp_path, server, "-q")
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "Running" not in result.stdout
    assert not any(line.startswith("srv: ") for line in lines)  # no summary line
    assert fail_heads(result.stdout) == [
        "  FAIL  MUST   h1/9112/1/b-must  wants 400",
        "  FAIL  SHOULD h1/9112/1/c-should  wants 400",
        "  FAIL  SHOULD h1/9112/1/d-should  wants 400 too",
    ]
    assert lines[-2:] == ["1 FAIL at MUST", f"Report: {tmp_path / 'r' / 'index.html'}"]


def test_quiet_and_verbose_together_is_a_usage_error(tmp_path: Path, server: str) -> None:
    result = run(tmp_path, server, "-q", "-v")
    assert result.returncode == 2
    assert "-q and -v: choose one" in result.stderr


def test_verbose_prints_a_line_per_case_as_h2spec_does(tmp_path: Path, server: str) -> None:
    result = run(tmp_path, server, "-v", "--no-progress", env={"PYTHONIOENCODING": "utf-8"})
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    per_case = sorted(line for line in lines if line.startswith(("  ✔", "  ×")))
    assert per_case == [
        "  × FAIL (MUST)   h1/9112/1/b-must  srv  wants 400",
        "  × FAIL (SHOULD) h1/9112/1/c-should  srv  wants 400",
        "  × FAIL (SHOULD) h1/9112/1/d-should  srv  wants 400 too",
        "  ✔ PASS          h1/9112/1/a-pass  srv  answered 200",
    ]
    assert "transcript:" not in result.stdout


def test_verbose_marks_in_ascii_where_the_output_cannot_show_them(tmp_path: Path, server: str) -> None:
    result = run(tmp_path, server, "-v", "--no-progress", env={"PYTHONIOENCODING": "ascii"})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "  + PASS          h1/9112/1/a-pass  srv  answered 200" in result.stdout.splitlines()
    assert "  x FAIL (MUST)   h1/9112/1/b-must  srv  wants 400" in result.stdout.splitlines()


def test_very_verbose_shows_the_transcript_of_each_fail(tmp_path: Path, server: str) -> None:
    result = run(tmp_path, server, "-vv", "--no-progress")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.count("        transcript:") == 3
    assert re.search(r"^ +[0-9.]+ (#1 )?sent [0-9]+ B: GET / HTTP/1\.1\\r\\n$", result.stdout, re.M)
    assert "HTTP/1.1 200 OK\\r\\n" in result.stdout


def test_max_failures_bounds_the_list_and_says_where_the_rest_is(tmp_path: Path, server: str) -> None:
    result = run(tmp_path, server, "--max-failures", "1", "--no-progress")
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert fail_heads(result.stdout) == ["  FAIL  MUST   h1/9112/1/b-must  wants 400"]
    assert "  … and 2 more FAIL or ERROR (--max-failures 1)" in lines
    assert lines[-1] == f"Report: {tmp_path / 'r' / 'index.html'} (every FAIL and ERROR; 2 not listed above)"


def test_report_gives_the_verdict_not_every_fail_again(tmp_path: Path, server: str) -> None:
    first = run(tmp_path, server, "--no-progress")
    assert first.returncode == 1, first.stdout + first.stderr
    results = str(tmp_path / "r" / "results.json")
    assert len(json.loads(Path(results).read_text())["targets"][0]["cases"]) == 4
    merged = conformance("report", results, results, "--out", str(tmp_path / "m"))
    assert merged.returncode == 1, merged.stdout + merged.stderr
    assert fail_heads(merged.stdout) == []
    assert merged.stdout.splitlines() == [
        "Merged 2 result files",
        "",
        "srv: 1 PASS, 3 FAIL (1 MUST, 2 SHOULD)",
        "1 FAIL at MUST",
        f"Report: {tmp_path / 'm' / 'index.html'} (every FAIL and ERROR; -v lists them here)",
    ]
    # Two runs of one target: one note, not one per case.
    assert merged.stderr.splitlines() == [
        "note: target srv: 4 cases appear in more than one file (h1/9112/1/a-pass, h1/9112/1/b-must, "
        "h1/9112/1/c-should and 1 more); the later file's result is kept"
    ]
    listed = conformance("report", results, "--out", str(tmp_path / "m"), "-v")
    assert len(fail_heads(listed.stdout)) == 3
    quiet = conformance("report", results, "--out", str(tmp_path / "m"), "-q")
    assert quiet.stdout.splitlines() == [
        "1 FAIL at MUST",
        f"Report: {tmp_path / 'm' / 'index.html'} (every FAIL and ERROR; -v lists them here)",
    ]
