"""The command line as a user meets it: exit codes, error messages, files written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from twisted.internet import protocol

BROKEN = """\
protocol: h1
rfc: 9112
section: "1"
cases:
  - id: fine
    title: t
    requirement: MUST
    steps: [{expect: {closed: true}}]
  - id: broken
    title: t
    requirement: MUST
    steps:
      - send: "GET / HTTP/1.1\\r\\n\\r\\n"
      - expect: {response: {stauts: 200}}
"""

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


def conformance(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conformance", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def test_validate_names_file_line_and_case(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN)
    result = conformance("validate", str(broken))
    assert result.returncode == 2
    assert "broken.yaml:14:" in result.stderr
    assert "(case h1/9112/1/broken)" in result.stderr
    assert "unknown field 'stauts' in response" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_validate_and_list_the_bundled_cases() -> None:
    result = conformance("validate")
    assert result.returncode == 0, result.stderr
    assert "cases in" in result.stdout and "OK" in result.stdout
    listed = conformance("list", "--json", "--suite", "h1")
    rows = json.loads(listed.stdout)
    assert len(rows) >= 60
    assert all(row["id"].startswith("h1/") for row in rows)
    assert {"id", "title", "requirement", "rfc", "section"} <= set(rows[0])
    selected = json.loads(conformance("list", "--json", "--select", "h1/9112/5.1").stdout)
    assert selected and all(row["id"].startswith("h1/9112/5.1") for row in selected)


def test_usage_errors_exit_2() -> None:
    assert conformance("run", "ftp://127.0.0.1/").returncode == 2
    assert conformance("run", "a=http://127.0.0.1:1/", "a=http://127.0.0.1:2/").returncode == 2
    result = conformance("run", "http://127.0.0.1:1/", "--select", "no/such/case")
    assert result.returncode == 2 and "no case matches" in result.stderr


def test_unreachable_target_exits_3_with_reports(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    cases = tmp_path / "c.yaml"
    cases.write_text(TWO_LEVELS)
    out = tmp_path / "report"
    result = conformance(
        "run", f"http://127.0.0.1:{free}/", "--cases", str(cases), "-o", str(out), "--no-progress"
    )
    assert result.returncode == 3, result.stdout + result.stderr
    data = json.loads((out / "results.json").read_text())
    assert {case["verdict"] for case in data["targets"][0]["cases"]} == {"ERROR"}
    assert (out / "junit.xml").exists() and (out / "index.html").exists()


class _Ok(protocol.Protocol):
    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


@pytest.fixture
def ok_server(reactor_thread: Any) -> Any:
    port = reactor_thread.call(
        reactor_thread.reactor.listenTCP, 0, protocol.Factory.forProtocol(_Ok), interface="127.0.0.1"
    )
    yield f"http://127.0.0.1:{port.getHost().port}/"
    reactor_thread.call(port.stopListening)


@pytest.mark.parametrize(("fail_on", "code"), [("must", 0), ("should", 1), ("may", 1)])
def test_fail_on_sets_the_exit_status(tmp_path: Path, ok_server: str, fail_on: str, code: int) -> None:
    cases = tmp_path / "c.yaml"
    cases.write_text(TWO_LEVELS)
    out = tmp_path / "report"
    result = conformance(
        "run",
        f"srv={ok_server}",
        "--cases",
        str(cases),
        "-o",
        str(out),
        "--fail-on",
        fail_on,
        "--no-progress",
    )
    assert result.returncode == code, result.stdout + result.stderr
    assert "should-400" in result.stdout  # the failure is shown
    assert str(out) in result.stdout  # and where the report is


def test_run_with_no_target_tests_the_reference_target(tmp_path: Path) -> None:
    result = conformance("run", "-o", str(tmp_path / "r"), "--no-progress", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "reference target" in result.stdout
    data = json.loads((tmp_path / "r" / "results.json").read_text())
    targets = {target["name"]: target for target in data["targets"]}
    # every suite the target serves, the WebSocket one over HTTP/2 too (RFC 8441)
    assert set(targets) >= {"reference-h1", "reference-h2", "reference-ws", "reference-ws-h2"}
    for target in targets.values():
        assert target["summary"]["FAIL"] == 0 and target["summary"]["ERROR"] == 0, target["name"]
    assert targets["reference-h1"]["summary"]["PASS"] >= 60


def test_serve_runs_the_reference_target_in_the_foreground() -> None:
    import socket

    process = subprocess.Popen(
        [sys.executable, "-m", "conformance", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("h1: http://127.0.0.1:"), first
        port = int(first.rsplit(":", 1)[1].strip().strip("/"))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
        second, ws, ws_h2, third, fourth, fifth = (process.stdout.readline() for _ in range(6))
        assert second.startswith("h2: h2c://127.0.0.1:"), second
        assert ws.startswith("ws: ws://127.0.0.1:"), ws
        assert ws_h2.startswith("ws-h2: h2c://127.0.0.1:") and "--suite ws" in ws_h2, ws_h2  # RFC 8441
        assert third.startswith("h1 over TLS: https://127.0.0.1:"), third
        assert fourth.startswith("h2 over TLS: https://127.0.0.1:"), fourth
        assert fifth.startswith("ws-h2 over TLS: https://127.0.0.1:"), fifth
        h2_port = int(second.rsplit(":", 1)[1].strip().strip("/"))
        with socket.create_connection(("127.0.0.1", h2_port), timeout=5) as sock:
            sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
            assert sock.recv(9)[3] == 0x4  # the server's SETTINGS
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_named_targets_select_and_exclude(tmp_path: Path, ok_server: str) -> None:
    cases = tmp_path / "c.yaml"
    cases.write_text(TWO_LEVELS)
    out = tmp_path / "report"
    result = conformance(
        "run",
        f"one={ok_server}",
        f"two={ok_server}",
        "--cases",
        str(cases),
        "--select",
        "h1/9112/1/",
        "--exclude",
        "h1/9112/1/should",
        "-o",
        str(out),
        "--no-progress",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((out / "results.json").read_text())
    assert [t["name"] for t in data["targets"]] == ["one", "two"]
    assert [[c["id"] for c in t["cases"]] for t in data["targets"]] == [["h1/9112/1/must-200"]] * 2


def test_a_run_called_in_another_programs_process_leaves_its_garbage_collector_alone(
    tmp_path: Path,
) -> None:
    # `conformance run` as a command tunes its own process's collector (off while loading,
    # then frozen); called from a program (here click's test runner, in a process of its own
    # since a run takes the process's reactor), it must not touch that program's.
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    cases = tmp_path / "c.yaml"
    cases.write_text(TWO_LEVELS)
    arguments = ["run", f"http://127.0.0.1:{free}/", "--cases", str(cases), "-o", str(tmp_path / "r")]
    script = (
        "import gc, sys\n"
        "from click.testing import CliRunner\n"
        "from conformance.cli import main\n"
        "frozen = gc.get_freeze_count()\n"
        f"result = CliRunner().invoke(main, {arguments + ['--no-progress']!r})\n"
        "print(result.exit_code, gc.isenabled(), gc.get_freeze_count() == frozen)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["3", "True", "True"], done.stdout + done.stderr
