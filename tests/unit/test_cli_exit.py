"""How a run ends, as a CI job sees it: the exit status of ERRORs and unreachable targets,
selections that test nothing, report directories, and Ctrl-C / SIGTERM in the middle of a run.

Every run here is a ``conformance`` process of its own, against tiny loopback servers that
the test starts (in the shared reactor thread) and stops."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from twisted.internet import protocol

ROOT = Path(__file__).resolve().parents[2]

# The CLI in a process of its own, as the gate tests run it.
from test_cli_gate import conformance  # noqa: E402

FAST_AND_SLOW = """\
protocol: h1
rfc: 9112
section: "1"
cases:
  - id: a-fast
    title: answered at once
    requirement: MUST
    steps:
      - send: "GET /fast HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect: {response: {status: 200}}
  - id: b-slow
    title: never answered
    requirement: MUST
    steps:
      - send: "GET /slow HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect: {response: {status: 200}}
  - id: c-slow
    title: never answered either
    requirement: MUST
    steps:
      - send: "GET /slow HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect: {response: {status: 200}}
"""

ONE_ERROR = """\
protocol: h1
rfc: 9112
section: "1"
cases:
  - id: must-200
    title: t
    requirement: MUST
    steps:
      - send: "GET /fast HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect: {response: {status: 200}}
  - id: out-of-budget
    title: runs past its budget (an ERROR, not a FAIL)
    requirement: MUST
    steps:
      - send: "GET /fast HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - wait: 3000
      - expect: {response: {status: 200}}
"""


class _FastOrSilent(protocol.Protocol):
    """Answers ``GET /fast`` with a 200 and never answers anything else."""

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        if data.startswith(b"GET /fast "):
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        elif data.startswith(b"GET /slow "):
            self.factory.slow_seen.set()  # type: ignore[attr-defined]


@pytest.fixture
def server(reactor_thread: Any) -> Iterator[tuple[str, threading.Event]]:
    factory = protocol.Factory.forProtocol(_FastOrSilent)
    factory.slow_seen = threading.Event()  # type: ignore[attr-defined]
    port = reactor_thread.call(reactor_thread.reactor.listenTCP, 0, factory, interface="127.0.0.1")
    yield f"http://127.0.0.1:{port.getHost().port}/", factory.slow_seen  # type: ignore[attr-defined]
    reactor_thread.call(port.stopListening)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cases(tmp_path: Path, text: str) -> str:
    path = tmp_path / "cases.yaml"
    path.write_text(text)
    return str(path)


def test_an_error_verdict_fails_the_run_with_exit_3_unless_allowed(
    tmp_path: Path, server: tuple[str, threading.Event]
) -> None:
    url, _ = server
    common = ("--cases", _cases(tmp_path, ONE_ERROR), "--case-timeout", "0.5", "--no-progress")
    result = conformance("run", f"srv={url}", *common, "-o", str(tmp_path / "r"))
    assert result.returncode == 3, result.stdout + result.stderr
    verdicts = {
        case["id"]: case["verdict"]
        for case in json.loads((tmp_path / "r" / "results.json").read_text())["targets"][0]["cases"]
    }
    assert verdicts == {"h1/9112/1/must-200": "PASS", "h1/9112/1/out-of-budget": "ERROR"}
    assert "No FAIL at MUST" in result.stdout
    assert "srv: 1 case ended in ERROR: the run fails (--allow-errors to accept)" in result.stdout
    allowed = conformance("run", f"srv={url}", *common, "--allow-errors", "-o", str(tmp_path / "r2"))
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "srv: 1 case ended in ERROR (not counted: --allow-errors)" in allowed.stdout
    # `report` gates the same way on the results it merges.
    report = conformance("report", str(tmp_path / "r" / "results.json"), "--out", str(tmp_path / "m"))
    assert report.returncode == 3, report.stdout + report.stderr
    report = conformance(
        "report", str(tmp_path / "r" / "results.json"), "--out", str(tmp_path / "m"), "--allow-errors"
    )
    assert report.returncode == 0, report.stdout + report.stderr


def test_one_unreachable_target_among_others_fails_the_run(
    tmp_path: Path, server: tuple[str, threading.Event]
) -> None:
    url, _ = server
    cases = _cases(tmp_path, FAST_AND_SLOW)
    result = conformance(
        "run",
        f"up={url}",
        f"down=http://127.0.0.1:{_free_port()}/",
        "--cases",
        cases,
        "--select",
        "h1/9112/1/a-fast",
        "-o",
        str(tmp_path / "r"),
        "--no-progress",
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "down could not be reached: the run fails" in result.stdout


def test_a_selection_no_target_can_run_is_a_usage_error() -> None:
    result = conformance("run", "--suite", "ws", "http://127.0.0.1:1/")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "http:// serves the HTTP/1.1 suite (h1)" in result.stderr
    assert "the WebSocket suite needs ws://" in result.stderr
    assert "Running" not in result.stdout
    # One target of two left with nothing to run is a mistake too.
    both = conformance("run", "http://127.0.0.1:1/", "ws://127.0.0.1:2/", "--select", "h1/9112/2.2")
    assert both.returncode == 2 and "no selected case can run against 127.0.0.1:2" in both.stderr
    h2spec = conformance("run", "h2c://127.0.0.1:1/", "--select", "http2/6.3")
    assert h2spec.returncode == 2
    assert "--select http2/6.3 matches no case (h2spec ids are aliases: --select h2spec:http2/6.3)" in (
        h2spec.stderr
    )


def test_a_positional_h2spec_id_is_explained() -> None:
    result = conformance("run", "h2c://127.0.0.1:1/", "http2/6.3")
    assert result.returncode == 2
    assert "looks like an h2spec case id: use --select h2spec:http2/6.3" in result.stderr
    assert "use --select autobahn:6.4" in conformance("run", "ws://127.0.0.1:1/", "6.4").stderr
    assert "has no scheme: e.g. http://127.0.0.1:8080" in conformance("run", "127.0.0.1:8080").stderr


def test_an_unwritable_report_directory_is_refused_before_the_run(
    tmp_path: Path, server: tuple[str, threading.Event]
) -> None:
    url, _ = server
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = conformance(
        "run", url, "--cases", _cases(tmp_path, FAST_AND_SLOW), "-o", str(blocker / "report"), "--no-progress"
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"cannot write the reports into {blocker / 'report'}: Not a directory" in result.stderr
    assert "Running" not in result.stdout  # checked before anything ran


def test_a_report_directory_named_like_a_number_is_warned_about(
    tmp_path: Path, server: tuple[str, threading.Event]
) -> None:
    url, _ = server
    result = conformance(
        "run",
        url,
        "--cases",
        _cases(tmp_path, FAST_AND_SLOW),
        "--select",
        "h1/9112/1/a-fast",
        "-o",
        "5",
        "--no-progress",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning: writing the reports into a directory named '5': -o is --report-dir" in result.stderr
    assert (tmp_path / "5" / "results.json").exists()


def test_default_report_directories_are_unique_and_latest_points_at_the_newest(
    tmp_path: Path, server: tuple[str, threading.Event], monkeypatch: pytest.MonkeyPatch
) -> None:
    from conformance.cli import _report_directory

    monkeypatch.chdir(tmp_path)
    made = {_report_directory(None) for _ in range(3)}  # within the same second, most likely
    assert len(made) == 3 and all(path.is_dir() for path in made)
    url, _ = server
    args = ("run", url, "--cases", _cases(tmp_path, FAST_AND_SLOW), "--select", "h1/9112/1/a-fast")
    first = conformance(*args, "--no-progress", cwd=tmp_path)
    second = conformance(*args, "--no-progress", cwd=tmp_path)
    assert first.returncode == second.returncode == 0, first.stdout + second.stdout + second.stderr
    latest = tmp_path / "reports" / "latest"
    assert latest.is_symlink()
    newest = tmp_path / "reports" / os.readlink(latest)
    assert (latest / "results.json").exists()
    assert f"Report: reports/{newest.name}/index.html" in second.stdout
    runs = [p for p in (tmp_path / "reports").iterdir() if (p / "results.json").exists() and p != latest]
    assert len(runs) == 2


def _interrupt(tmp_path: Path, url: str, slow_seen: threading.Event, *signals: int) -> Any:
    """A run of FAST_AND_SLOW, one case at a time, signalled once the fast case has finished
    (the server has seen the next case's request) while the slow ones wait for an answer."""
    out = tmp_path / "report"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "conformance",
            "run",
            f"srv={url}",
            "--cases",
            _cases(tmp_path, FAST_AND_SLOW),
            "--jobs",
            "1",
            "--timeout",
            "60",
            "-o",
            str(out),
            "--no-progress",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert slow_seen.wait(60), "the run never reached its slow case"
        for number in signals:
            process.send_signal(number)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, stdout, stderr, out


@pytest.mark.parametrize(
    ("number", "code", "name"), [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")]
)
def test_a_signal_mid_run_writes_the_report_of_the_finished_cases(
    tmp_path: Path, server: tuple[str, threading.Event], number: int, code: int, name: str
) -> None:
    url, slow_seen = server
    returncode, stdout, stderr, out = _interrupt(tmp_path, url, slow_seen, number)
    assert returncode == code, stdout + stderr
    assert "Traceback" not in stderr
    assert f"Interrupted ({name}): 1 of 3 cases finished; the report holds those." in stdout
    data = json.loads((out / "results.json").read_text())
    assert data["interrupted"] == name
    assert [case["id"] for case in data["targets"][0]["cases"]] == ["h1/9112/1/a-fast"]
    assert f"Interrupted run ({name})" in (out / "index.html").read_text()
    assert f"**Interrupted run ({name})**" in (out / "summary.md").read_text()


def test_a_second_ctrl_c_quits_at_once(tmp_path: Path, server: tuple[str, threading.Event]) -> None:
    url, slow_seen = server
    returncode, stdout, stderr, _ = _interrupt(tmp_path, url, slow_seen, signal.SIGINT, signal.SIGINT)
    assert returncode == 130, stdout + stderr
    assert "Traceback" not in stderr
    assert "\x1b[?25l" not in stdout or stdout.rindex("\x1b[?25h") > stdout.rindex("\x1b[?25l")
