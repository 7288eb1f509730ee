"""JUnit follows ``--fail-on`` as the exit status does: a FAIL below the gate is reported (a
passed test case with the FAIL in its ``<system-out>``), not a ``<failure>``; each test suite
records the level it was judged at. Checked on the model and through ``conformance run``."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_reporters import full_results
from twisted.internet import protocol

from conformance.reporters.junit import render_junit
from conformance.verdicts.verdict import Requirement

ROOT = Path(__file__).resolve().parents[3]


def _suite(xml: str, name: str = "nginx") -> ET.Element:
    suite = next(s for s in ET.fromstring(xml).iter("testsuite") if s.get("name") == name)
    return suite


def _children(suite: ET.Element) -> dict[str, list[str]]:
    return {tc.get("name", ""): [child.tag for child in tc] for tc in suite.iter("testcase")}


def _fail_on(suite: ET.Element) -> str | None:
    return {p.get("name"): p.get("value") for p in suite.iter("property")}.get("fail_on")


def test_a_fail_below_the_gate_is_reported_not_failed() -> None:
    suite = _suite(render_junit(full_results(), Requirement.MUST))
    children = _children(suite)
    # The MUST FAILs fail; the SHOULD and the MAY FAIL are plain test cases with their story.
    assert children["h2/9113/6.5.2/max-frame-size"] == ["failure"]
    assert children["ws/6455/5.4/huge-message"] == ["failure"]
    assert children["h2/9113/6.9/window-overflow"] == ["system-out"]
    assert children["ws/6455/5.5.1/close-reason"] == ["system-out"]
    tc = next(t for t in suite.iter("testcase") if t.get("name") == "h2/9113/6.9/window-overflow")
    out = tc.findtext("system-out") or ""
    assert out.startswith("FAIL (SHOULD, below --fail-on MUST): reported, not failed\n")
    assert "Expected: GOAWAY (error: FLOW_CONTROL_ERROR)" in out
    assert "Diverged at step 3: send WINDOW_UPDATE (increment 2147483647)" in out
    assert suite.get("failures") == "2"
    assert _fail_on(suite) == "MUST"


@pytest.mark.parametrize(
    ("level", "failed"),
    [
        (Requirement.MUST, {"h2/9113/6.5.2/max-frame-size", "ws/6455/5.4/huge-message"}),
        (
            Requirement.SHOULD,
            {"h2/9113/6.5.2/max-frame-size", "ws/6455/5.4/huge-message", "h2/9113/6.9/window-overflow"},
        ),
        (
            Requirement.MAY,
            {
                "h2/9113/6.5.2/max-frame-size",
                "ws/6455/5.4/huge-message",
                "h2/9113/6.9/window-overflow",
                "ws/6455/5.5.1/close-reason",
            },
        ),
    ],
)
def test_the_failures_are_the_fails_the_gate_counts(level: Requirement, failed: set[str]) -> None:
    results = full_results()
    xml = render_junit(results, level)
    suite = _suite(xml)
    assert {name for name, tags in _children(suite).items() if tags == ["failure"]} == failed
    gating = {case.id for case in results.targets[0].new_failures(level)}
    assert gating == failed  # the same FAILs as the exit status
    assert suite.get("failures") == str(len(failed))
    assert ET.fromstring(xml).get("failures") == str(len(failed))
    assert _fail_on(suite) == level.value


# ---------------------------------------------------------------------------- through the CLI

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
    title: this server should have said 400
    requirement: SHOULD
    steps:
      - send: "GET / HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect: {response: {status: 400}}
"""


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


def _run(tmp_path: Path, server: str, *extra: str) -> tuple[subprocess.CompletedProcess[str], ET.Element]:
    tmp_path.mkdir()
    cases = tmp_path / "cases.yaml"
    cases.write_text(TWO_LEVELS)
    out = tmp_path / "report"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    environ["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "conformance", "run", f"srv={server}", "--cases", str(cases), "-o", str(out)]
        + ["--no-progress", *extra],
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
    )
    return result, _suite((out / "junit.xml").read_text(encoding="utf-8"), "srv")


def test_run_writes_the_junit_its_exit_status_agrees_with(tmp_path: Path, ok_server: str) -> None:
    result, suite = _run(tmp_path / "must", ok_server)
    assert result.returncode == 0, result.stdout + result.stderr  # the SHOULD FAIL does not gate
    assert _children(suite) == {"h1/9112/1/must-200": [], "h1/9112/1/should-400": ["system-out"]}
    assert suite.get("failures") == "0"
    assert _fail_on(suite) == "MUST"
    result, suite = _run(tmp_path / "should", ok_server, "--fail-on", "should")
    assert result.returncode == 1, result.stdout + result.stderr
    assert _children(suite) == {"h1/9112/1/must-200": [], "h1/9112/1/should-400": ["failure"]}
    assert suite.get("failures") == "1"
    assert _fail_on(suite) == "SHOULD"
