"""``conformance client`` as a user meets it: the reference client by default, a command of
one's own, exit statuses as ``run``'s, the same report files, and client cases kept out of
``conformance run``."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from test_cli_gate import ROOT, conformance

from conformance.scenario.loader import load_cases

FAULTY = ROOT / "tests" / "faulty" / "h1_client.py"
SELECT = ("--select", "h1/9112/6.3/content-length-body", "--select", "client/h1/9112/3.2/host-present")


def test_with_no_command_the_reference_client_passes(tmp_path: Path) -> None:
    done = conformance("client", "--suite", "h1", *SELECT, "-o", str(tmp_path), "--no-progress")
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    (target,) = results["targets"]
    assert target["name"] == "reference-client"
    assert sorted(case["verdict"] for case in target["cases"]) == ["PASS", "PASS"]
    assert {p.name for p in tmp_path.iterdir()} >= {"results.json", "junit.xml", "index.html", "summary.md"}


def test_a_failing_client_exits_1_and_is_named(tmp_path: Path) -> None:
    command = f"nohost={shlex.quote(sys.executable)} {shlex.quote(str(FAULTY))} --fault no-host {{url}}"
    done = conformance("client", *SELECT, command, "-o", str(tmp_path), "--no-progress")
    assert done.returncode == 1, done.stdout + done.stderr
    (target,) = json.loads((tmp_path / "results.json").read_text())["targets"]
    verdicts = {case["id"]: case["verdict"] for case in target["cases"]}
    assert (target["name"], verdicts["client/h1/9112/3.2/host-present"]) == ("nohost", "FAIL")
    assert verdicts["client/h1/9112/6.3/content-length-body"] == "PASS"


def test_a_client_that_never_connects_exits_3(tmp_path: Path) -> None:
    done = conformance("client", *SELECT, "false {url}", "-o", str(tmp_path), "--no-progress")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "never connected" in done.stdout


WS_SELECT = ("--select", "ws/6455/4.1/handshake-request", "--select", "ws/6455/4.1/answer-accept-wrong")
WS_FAULTY = ROOT / "tests" / "faulty" / "ws_client.py"


def test_the_websocket_suite_judges_the_reference_client_and_a_faulty_one(tmp_path: Path) -> None:
    done = conformance("client", "--suite", "ws", *WS_SELECT, "-o", str(tmp_path), "--no-progress")
    assert done.returncode == 0, done.stdout + done.stderr
    (target,) = json.loads((tmp_path / "results.json").read_text())["targets"]
    assert sorted(case["verdict"] for case in target["cases"]) == ["PASS", "PASS"]
    command = (
        f"bad={shlex.quote(sys.executable)} {shlex.quote(str(WS_FAULTY))} --fault accepts-bad-accept {{url}}"
    )
    done = conformance(
        "client", "--suite", "ws", *WS_SELECT, command, "-o", str(tmp_path / "b"), "--no-progress"
    )
    assert done.returncode == 1, done.stdout + done.stderr
    (target,) = json.loads((tmp_path / "b" / "results.json").read_text())["targets"]
    verdicts = {case["id"]: case["verdict"] for case in target["cases"]}
    assert verdicts == {"client/ws/6455/4.1/handshake-request": "PASS", "client/ws/6455/4.1/answer-accept-wrong": "FAIL"}


def test_the_h2_suite_runs_the_reference_client(tmp_path: Path) -> None:
    done = conformance(
        "client",
        "--suite",
        "h2",
        "--select",
        "client/h2/9113/6.7/ping-answered",
        "-o",
        str(tmp_path),
        "--no-progress",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    (target,) = results["targets"]
    assert [(c["id"], c["verdict"]) for c in target["cases"]] == [("client/h2/9113/6.7/ping-answered", "PASS")]


def test_a_command_that_cannot_be_split_is_a_usage_error() -> None:
    done = conformance("client", "'unterminated {url}")
    assert done.returncode == 2
    assert "cannot split" in done.stderr


def test_run_never_loads_client_cases() -> None:
    assert all(case.role == "server" for case in load_cases())
    client_cases = load_cases(role="client")
    assert client_cases and all(case.role == "client" for case in client_cases)
