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
    assert verdicts == {
        "client/ws/6455/4.1/handshake-request": "PASS",
        "client/ws/6455/4.1/answer-accept-wrong": "FAIL",
    }


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
    assert [(c["id"], c["verdict"]) for c in target["cases"]] == [
        ("client/h2/9113/6.7/ping-answered", "PASS")
    ]


def test_a_command_that_cannot_be_split_is_a_usage_error() -> None:
    done = conformance("client", "'unterminated {url}")
    assert done.returncode == 2
    assert "cannot split" in done.stderr


def test_run_never_loads_client_cases() -> None:
    assert all(case.role == "server" for case in load_cases())
    client_cases = load_cases(role="client")
    assert client_cases and all(case.role == "client" for case in client_cases)


TLS_SELECT = {
    "h1": (
        "--select",
        "client/h1/9112/6.3/read-to-close-http11",
        "--select",
        "client/h1/9112/8/incomplete-read-to-close-reset",
    ),
    "h2": (
        "--select",
        "client/h2/9113/6.7/ping-answered",
    ),
    "ws": (
        "--select",
        "client/ws/6455/4.1/handshake-request",
        "--select",
        "client/ws/6455/7.4/valid-code-1000",
    ),
}


def test_with_tls_the_url_is_https_or_wss_and_ca_names_the_runs_ca(tmp_path: Path) -> None:
    for suite, scheme, alpn in (
        ("h1", "https", "http/1.1"),
        ("h2", "https", "h2"),
        ("ws", "wss", "http/1.1"),
    ):
        out = tmp_path / suite
        args = ("client", "--suite", suite, "--tls", *TLS_SELECT[suite], "--transcripts", "all")
        done = conformance(*args, "-o", str(out), "--no-progress")
        assert done.returncode == 0, done.stdout + done.stderr
        assert (out / "ca.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")
        (target,) = json.loads((out / "results.json").read_text())["targets"]
        assert len(target["cases"]) == len(TLS_SELECT[suite]) // 2
        for case in target["cases"]:
            assert case["verdict"] == "PASS", (suite, case["id"], case.get("observed"))
            texts = [entry.get("text", "") for entry in case["transcript"]]
            started = next(t for t in texts if t.startswith("listening on"))
            assert f" --ca {out / 'ca.pem'} {scheme}://127.0.0.1:" in started
            assert f"TLS handshake complete; ALPN: {alpn}" in texts


def test_over_tls_an_h2_client_that_does_not_ask_for_h2_leaves_the_case_unimplemented(tmp_path: Path) -> None:
    # The HTTP/1.1 reference client offers ALPN http/1.1 only (RFC 9113 §3.2: h2 is asked for).
    command = f"h1={shlex.quote(sys.executable)} -m conformance.clients.h1 --ca {{ca}} {{url}}"
    args = ("client", "--suite", "h2", "--tls", *TLS_SELECT["h2"], command)
    done = conformance(*args, "-o", str(tmp_path), "--no-progress")
    (target,) = json.loads((tmp_path / "results.json").read_text())["targets"]
    ((case),) = target["cases"]
    assert case["verdict"] == "UNIMPLEMENTED", done.stdout + done.stderr
    assert "did not ask for HTTP/2 over TLS" in case["observed"]


def test_ca_without_tls_is_a_usage_error() -> None:
    done = conformance("client", "curl --cacert {ca} {url}")
    assert done.returncode == 2
    assert "add --tls" in done.stderr
