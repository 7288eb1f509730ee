"""``conformance client --suite ws --serve-autobahn PORT``: Autobahn's fuzzingserver URL protocol.

The endpoint runs as the command does, in a process of its own; the clients are scripts written
the way WebSocket client libraries write theirs for Autobahn's fuzzingserver (websockets'
compliance/sync/client.py: getCaseCount, a runCase loop that echoes, updateReports), on
``websockets.sync.client``, plus the bundled reference client and the faulty client of
tests/faulty started per ``runCase`` URL.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.sync.client import connect

from conformance.autobahn import (
    Unobservable,
    autobahn_order,
    report_filename,
    served_cases,
    served_form,
)
from conformance.scenario import model
from conformance.scenario.loader import load
from conformance.verdicts.client import ExitPattern
from conformance.verdicts.expectations import Closed, Cursor, Grade, Matched, Observation, OneOf

ROOT = Path(__file__).parents[2]
WS_CLIENT_CASES = ROOT / "cases" / "client" / "ws"
FAULTY_CLIENT = ROOT / "tests" / "faulty" / "ws_client.py"
IDS_FILE = ROOT / "tests" / "data" / "autobahn-ids.txt"


@pytest.fixture(scope="module")
def ws_client_cases() -> list[model.Case]:
    loaded = load([WS_CLIENT_CASES], role="client")
    assert not loaded.errors
    return list(loaded.cases)


# ---------------------------------------------------------------- the catalogue (no I/O)


def test_autobahn_order_is_its_case_list_order() -> None:
    ids = [
        line.strip()
        for line in IDS_FILE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(ids) == 517
    assert sorted(ids, key=autobahn_order) == ids


def test_catalogue_serves_aliased_cases_in_autobahn_order_then_ours(
    ws_client_cases: list[model.Case],
) -> None:
    catalogue = served_cases(ws_client_cases)
    numbers = [s.number for s in catalogue.served]
    assert numbers == list(range(1, len(numbers) + 1))
    aliased = [s for s in catalogue.served if s.id != s.case.id]
    ours = [s for s in catalogue.served if s.id == s.case.id]
    assert aliased and ours
    # Every aliased case comes before every case of ours, and in Autobahn's order.
    assert max(s.number for s in aliased) < min(s.number for s in ours)
    assert [s.id for s in aliased] == sorted((s.id for s in aliased), key=autobahn_order)
    assert catalogue.served[0].id == "1.1.1"
    assert catalogue.served[0].case.id == "client/ws/6455/5.2/text-0"
    # The opening-handshake checks (no Autobahn id) are served under their own ids.
    assert "client/ws/6455/4.1/answer-accept-wrong" in catalogue.by_id


def test_exit_expectations_are_left_out_and_never_fail(ws_client_cases: list[model.Case]) -> None:
    case = next(c for c in ws_client_cases if c.id == "client/ws/6455/4.1/answer-accept-wrong")
    assert any(isinstance(s, model.Expect) and isinstance(s.expectation, ExitPattern) for s in case.steps)
    served, why, exit_left_out = served_form(case)
    assert served is not None and not why and exit_left_out
    assert not any(
        isinstance(s, model.Expect) and isinstance(s.expectation, ExitPattern) for s in served.steps
    )
    # A one_of that had an exit alternative: when the observable ones mismatch, the rule is
    # not exercised (SKIPPED), not FAILed.
    accept = case.steps[0]
    one_of = model.Expect(expectation=OneOf(alternatives=(Closed(), ExitPattern(accepted=False))))
    mixed = model.Case(**{**case.__dict__, "steps": (accept, one_of)})
    served_mixed, _, _ = served_form(mixed)
    assert served_mixed is not None
    expectation = served_mixed.steps[1].expectation
    assert isinstance(expectation, OneOf)
    assert isinstance(expectation.alternatives[-1], Unobservable)
    assert not any(isinstance(a, ExitPattern) for a in expectation.alternatives)
    outcome = expectation.evaluate(
        Observation(events=(), received=0, elapsed=2.0, timed_out=True), Cursor(index=0, received=0)
    )
    assert isinstance(outcome, Matched) and outcome.grade is Grade.UNEXERCISED
    # A case judged by the exit status alone is not served.
    exit_only = model.Case(
        **{**case.__dict__, "steps": (accept, model.Expect(expectation=ExitPattern(accepted=True)))}
    )
    assert served_form(exit_only)[0] is None


def test_report_filenames_are_autobahns() -> None:
    assert report_filename("websockets.sync", "1.1.1") == "websockets_sync_case_1_1_1.json"
    assert report_filename("AutobahnPython/0.6", "9.1.6") == "autobahnpython_0_6_case_9_1_6.json"
    assert report_filename("a", "client/ws/6455/4.1/x") == "a_case_client_ws_6455_4_1_x.json"


# ---------------------------------------------------------------- the endpoint, as a process


class Endpoint:
    """``conformance client --suite ws --serve-autobahn 0 ...`` in a process of its own."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.out = tmp / "reports"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "conformance",
                "client",
                "--suite",
                "ws",
                "--serve-autobahn",
                "0",
                "-o",
                str(self.out),
                "--no-progress",
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp,
        )
        self.output = b""
        self.url = self._url()

    def _url(self, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 65536)
                if not chunk:
                    break
                self.output += chunk
                for line in self.output.decode().splitlines():
                    if line.startswith("Serving Autobahn's fuzzingserver protocol at "):
                        return line.rsplit(" ", 1)[1]
        raise AssertionError(f"the endpoint printed no URL: {self.output.decode()!r}")

    def wait(self, timeout: float = 30.0) -> int:
        rest, _ = self.process.communicate(timeout=timeout)
        self.output += rest
        return self.process.returncode

    def text(self) -> str:
        return self.output.decode()

    def end(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=10)


@pytest.fixture
def endpoint_factory(tmp_path: Path) -> Iterator[object]:
    started: list[Endpoint] = []

    def start(*args: str) -> Endpoint:
        endpoint = Endpoint(tmp_path, *args)
        started.append(endpoint)
        return endpoint

    yield start
    for endpoint in started:
        endpoint.end()


# A script in the style of websockets' compliance/sync/client.py (and websocket-client's
# test_fuzzingclient.py): nothing in it knows it is not talking to Autobahn.


def get_case_count(server: str) -> int:
    with connect(f"{server}/getCaseCount") as ws:
        return int(json.loads(ws.recv()))


def get_case_info(server: str, case: int) -> dict[str, str]:
    with connect(f"{server}/getCaseInfo?case={case}") as ws:
        return json.loads(ws.recv())


def get_case_status(server: str, case: int, agent: str) -> str:
    with connect(f"{server}/getCaseStatus?case={case}&agent={agent}") as ws:
        return str(json.loads(ws.recv())["behavior"])


def run_case(server: str, case: int, agent: str, *, broken: bool = False) -> None:
    with connect(f"{server}/runCase?case={case}&agent={agent}", max_size=2**25) as ws:
        try:
            for msg in ws:
                if broken:  # a deliberately broken echo: one byte more
                    msg = msg + ("!" if isinstance(msg, str) else b"!")
                ws.send(msg)
        except WebSocketException:
            pass


def update_reports(server: str, agent: str) -> None:
    with connect(f"{server}/updateReports?agent={agent}", open_timeout=60):
        pass


SELECTED = (
    "--select",
    "autobahn:1.1.1",
    "--select",
    "autobahn:1.1.2",
    "--select",
    "autobahn:1.2.1",
    "--select",
    "client/ws/6455/4.1/answer-accept-wrong",
    "--select",
    "client/ws/6455/4.1/handshake-request",
)


def test_an_autobahn_script_runs_unchanged(endpoint_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    endpoint = endpoint_factory(*SELECTED, "--stop-after-reports")
    server = endpoint.url
    count = get_case_count(server)
    assert count == 5
    assert get_case_info(server, 1)["id"] == "1.1.1"
    assert "text message of 0 bytes" in get_case_info(server, 1)["description"]
    assert get_case_info(server, 4)["id"] == "client/ws/6455/4.1/answer-accept-wrong"
    statuses = {}
    for case in range(1, count + 1):
        # The handshake checks: the client rightly refuses our answer (an exception).
        with contextlib.suppress(WebSocketException):
            run_case(server, case, "good")
        statuses[case] = get_case_status(server, case, "good")
    assert statuses == dict.fromkeys(range(1, count + 1), "OK")
    run_case(server, 1, "broken", broken=True)
    run_case(server, 2, "broken", broken=True)
    assert get_case_status(server, 2, "broken") == "FAILED"
    # Requests the endpoint does not take are refused with a status that says why.
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{server}/runCase?case=1")
    assert refused.value.response.status_code == 400
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{server}/runCase?case={count + 1}&agent=good")
    assert refused.value.response.status_code == 404
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{server}/getCaseStatus?case=3&agent=nobody")
    assert refused.value.response.status_code == 404
    # Autobahn's casetuple= names a case by its id.
    with connect(f"{server}/getCaseInfo?casetuple=1.2.1") as ws:
        assert json.loads(ws.recv())["id"] == "1.2.1"
    # What is no WebSocket handshake at all gets an HTTP answer that says why.
    port = int(server.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /getCaseCount HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 ") and b"not a WebSocket opening handshake" in answer
    update_reports(server, "good")
    assert endpoint.wait() == 1  # the broken echo FAILed at MUST
    out = endpoint.out
    index = json.loads((out / "index.json").read_text())
    assert set(index) == {"good", "broken"}
    assert sorted(index["good"]) == sorted(
        [
            "1.1.1",
            "1.1.2",
            "1.2.1",
            "client/ws/6455/4.1/answer-accept-wrong",
            "client/ws/6455/4.1/handshake-request",
        ]
    )
    entry = index["good"]["1.1.1"]
    assert entry["behavior"] == "OK" and entry["behaviorClose"] == "OK"
    assert entry["remoteCloseCode"] == 1000 and isinstance(entry["duration"], int)
    assert entry["reportfile"] == "good_case_1_1_1.json"
    assert (
        json.loads((out / entry["reportfile"]).read_text())["conformance"]["id"]
        == "client/ws/6455/5.2/text-0"
    )
    # A client that rightly refused a bad handshake closed no WebSocket connection: no unclean close.
    assert index["good"]["client/ws/6455/4.1/answer-accept-wrong"]["behaviorClose"] == "OK"
    assert index["broken"]["1.1.1"]["behavior"] == "FAILED"
    results = json.loads((out / "results.json").read_text())
    targets = {t["name"]: t for t in results["targets"]}
    assert set(targets) == {"good", "broken"}
    assert [c["verdict"] for c in targets["good"]["cases"]] == ["PASS"] * 5
    assert [c["id"] for c in targets["good"]["cases"]][0] == "client/ws/6455/5.2/text-0"
    assert [c["verdict"] for c in targets["broken"]["cases"]] == ["FAIL", "FAIL"]
    handshake = next(c for c in targets["good"]["cases"] if c["id"].endswith("handshake-request"))
    assert any("exit status is not observed" in note for note in handshake["notes"])
    assert (out / "junit.xml").exists() and (out / "index.html").exists() and (out / "summary.md").exists()
    text = endpoint.text()
    assert "FAIL" in text and "broken" in text and "1/5" in text
    # Nothing left behind: no staging directory, no half-written file.
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


def test_results_are_written_as_each_case_ends(endpoint_factory) -> None:  # type: ignore[no-untyped-def]
    endpoint = endpoint_factory("--select", "autobahn:1.1.1", "--select", "autobahn:1.1.2")
    run_case(endpoint.url, 1, "one")
    deadline = time.monotonic() + 10
    results_file = endpoint.out / "results.json"
    while not results_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    cases = json.loads(results_file.read_text())["targets"][0]["cases"]
    assert [c["verdict"] for c in cases] == ["PASS"]
    # Ctrl-C ends serving: the reports are kept, the exit status is the gate's over what ran.
    endpoint.process.send_signal(signal.SIGINT)
    assert endpoint.wait() == 0
    assert "stopped (SIGINT)" in endpoint.text()
    assert json.loads((endpoint.out / "index.json").read_text())["one"]["1.1.1"]["behavior"] == "OK"


def test_with_tls_the_endpoint_serves_wss_with_the_runs_ca(endpoint_factory) -> None:  # type: ignore[no-untyped-def]
    endpoint = endpoint_factory("--select", "autobahn:1.1.1", "--tls", "--stop-after-reports")
    assert endpoint.url.startswith("wss://127.0.0.1:")
    ca = endpoint.out / "ca.pem"
    context = ssl.create_default_context(cafile=str(ca))
    with connect(f"{endpoint.url}/runCase?case=1&agent=tls", ssl=context) as ws:
        for message in ws:
            ws.send(message)
    with connect(f"{endpoint.url}/getCaseStatus?case=1&agent=tls", ssl=context) as ws:
        assert json.loads(ws.recv())["behavior"] == "OK"
    with connect(f"{endpoint.url}/updateReports?agent=tls", ssl=context, open_timeout=60):
        pass
    assert endpoint.wait() == 0
    assert f"the CA to trust is {ca}" in endpoint.text()
    (target,) = json.loads((endpoint.out / "results.json").read_text())["targets"]
    assert [(c["verdict"], target["url"][:6]) for c in target["cases"]] == [("PASS", "wss://")]


def test_nothing_played_is_never_a_pass(endpoint_factory) -> None:  # type: ignore[no-untyped-def]
    endpoint = endpoint_factory("--select", "autobahn:1.1.1", "--idle-timeout", "0.5")
    assert endpoint.wait() == 3
    text = endpoint.text()
    assert "nothing was judged" in text and "No FAIL" not in text


def test_serve_autobahn_usage_errors(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from conformance.cli import main

    runner = CliRunner()
    for args, says in (
        (["--suite", "h1", "--serve-autobahn", "0"], "--suite ws"),
        (["--suite", "ws", "--serve-autobahn", "0", "python3 c.py {url}"], "no COMMAND"),
        (["--suite", "ws", "--idle-timeout", "1"], "--serve-autobahn"),
    ):
        outcome = runner.invoke(main, ["client", *args, "-o", str(tmp_path)])
        assert outcome.exit_code == 2, outcome.output
        assert says in outcome.output


# ---------------------------------------------------------------- the suite, to real client logic


def _client_script(tmp: Path, command: list[str], agent: str) -> Path:
    """A runCase loop that starts ``command`` with each case's URL (the way a script drives a
    client that takes a URL)."""
    script = tmp / f"drive_{agent}.py"
    script.write_text(
        "import json, subprocess, sys\n"
        "from websockets.sync.client import connect\n"
        "server, agent, command = sys.argv[1], sys.argv[2], sys.argv[3:]\n"
        "with connect(server + '/getCaseCount') as ws:\n"
        "    count = json.loads(ws.recv())\n"
        "for case in range(1, count + 1):\n"
        "    url = f'{server}/runCase?case={case}&agent={agent}'\n"
        "    subprocess.run([*command, url], timeout=60, stderr=subprocess.DEVNULL)\n"
        "with connect(f'{server}/updateReports?agent={agent}'):\n"
        "    pass\n"
    )
    return script


def test_the_suite_served_to_the_reference_and_the_faulty_client(endpoint_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    endpoint = endpoint_factory(
        "--select",
        "autobahn:1.1.1",
        "--select",
        "autobahn:3.1",
        "--select",
        "autobahn:5.1",
        "--select",
        "client/ws/6455/4.1/answer-accept-wrong",
    )
    server = endpoint.url
    reference = [sys.executable, "-m", "conformance.clients.ws"]
    faulty = [sys.executable, str(FAULTY_CLIENT), "--fault", "accepts-bad-accept", "--fault", "ignores-rsv"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for agent, command in (("reference", reference), ("faulty", faulty)):
        script = _client_script(tmp_path, command, agent)
        subprocess.run(
            [sys.executable, str(script), server, agent, *command], check=True, timeout=120, env=env
        )
    update_reports(server, "reference")
    endpoint.process.send_signal(signal.SIGTERM)
    assert endpoint.wait() == 1
    index = json.loads((endpoint.out / "index.json").read_text())
    assert {case: r["behavior"] for case, r in index["reference"].items()} == {
        "1.1.1": "OK",
        "3.1": "OK",
        "5.1": "OK",
        "client/ws/6455/4.1/answer-accept-wrong": "OK",
    }
    assert {case: r["behavior"] for case, r in index["faulty"].items()} == {
        "1.1.1": "OK",
        "3.1": "FAILED",
        "5.1": "OK",
        "client/ws/6455/4.1/answer-accept-wrong": "FAILED",
    }
