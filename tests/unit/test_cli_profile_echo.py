"""``conformance run --profile`` and ``--echo-path`` as a user meets them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_cli import conformance
from twisted.internet import protocol

GENERIC = """\
protocol: h1
rfc: 9112
section: "5"
cases:
  - id: field-name-bracket
    title: t
    requirement: SHOULD
    tags: [fields, generic-400]
    steps:
      - send: "GET / HTTP/1.1\\r\\nHost: {authority}\\r\\nA[b]: c\\r\\n\\r\\n"
      - expect:
          one_of:
            - response: {status: 400}
            - closed: true
              strict: false
"""

ECHO = """\
protocol: h1
rfc: 9110
section: "5"
defaults:
  requires: [echo]
cases:
  - id: echo-method
    title: t
    requirement: MUST
    steps:
      - send: "PUT {echo_path}?x HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect:
          echo: {method: PUT, target: /mirror?x}
"""


class _Closer(protocol.Protocol):
    """Drops the connection on the first byte: what §2.2's SHOULD tolerates."""

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        self.transport.loseConnection()


class _Mirror(protocol.Protocol):
    """A minimal echo endpoint: the request line, as JSON."""

    def connectionMade(self) -> None:  # noqa: N802
        self.seen = b""

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        self.seen += data
        if b"\r\n\r\n" not in self.seen:
            return
        method, target, version = self.seen.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
        document = {
            "method": method,
            "target": target,
            "version": version,
            "authority": "x",
            "headers": [],
            "body": "",
        }
        body = json.dumps(document).encode()
        self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


def _listen(reactor_thread: Any, proto: type[protocol.Protocol]) -> Any:
    return reactor_thread.call(
        reactor_thread.reactor.listenTCP, 0, protocol.Factory.forProtocol(proto), interface="127.0.0.1"
    )


@pytest.fixture
def closer(reactor_thread: Any) -> Any:
    port = _listen(reactor_thread, _Closer)
    yield f"http://127.0.0.1:{port.getHost().port}/"
    reactor_thread.call(port.stopListening)


@pytest.fixture
def mirror(reactor_thread: Any) -> Any:
    port = _listen(reactor_thread, _Mirror)
    yield f"http://127.0.0.1:{port.getHost().port}/"
    reactor_thread.call(port.stopListening)


def run(tmp_path: Path, source: str, *args: str) -> tuple[int, dict[str, Any], str]:
    cases = tmp_path / "cases.yaml"
    cases.write_text(source)
    out = tmp_path / "report"
    result = conformance("run", *args, "--cases", str(cases), "-o", str(out), "--no-progress")
    data = json.loads((out / "results.json").read_text()) if (out / "results.json").exists() else {}
    return result.returncode, data, result.stdout + result.stderr


def test_a_close_is_non_strict_by_default_and_a_must_fail_under_strict(tmp_path: Path, closer: str) -> None:
    code, data, output = run(tmp_path, GENERIC, closer, "--fail-on", "should")
    assert code == 0, output
    [case] = data["targets"][0]["cases"]
    assert (data["profile"], case["verdict"], case["requirement"]) == ("default", "NON-STRICT", "SHOULD")
    assert "declared_requirement" not in case

    code, data, output = run(tmp_path, GENERIC, closer, "--profile", "strict")
    assert code == 1, output  # --fail-on must applies to the raised level
    [case] = data["targets"][0]["cases"]
    assert data["profile"] == "strict"
    assert (case["verdict"], case["requirement"], case["declared_requirement"]) == ("FAIL", "MUST", "SHOULD")
    assert case["expected"] == "a response with status 400"
    assert "not under strict" in case["observed"]
    assert any("strict profile" in note for note in case["notes"])


def test_echo_cases_skip_without_echo_path_and_run_with_it(tmp_path: Path, mirror: str) -> None:
    code, data, output = run(tmp_path, ECHO, mirror)
    assert code == 0, output
    [case] = data["targets"][0]["cases"]
    assert (case["verdict"], case["observed"]) == (
        "SKIPPED",
        "needs --echo-path (the target's echo endpoint)",
    )
    assert data["echo_path"] is None and data["targets"][0]["reachable"] is True

    code, data, output = run(tmp_path, ECHO, mirror, "--echo-path", "/mirror")
    assert code == 0, output
    [case] = data["targets"][0]["cases"]
    assert (case["verdict"], data["echo_path"]) == ("PASS", "/mirror")


def test_echo_path_must_be_a_path() -> None:
    result = conformance("run", "http://127.0.0.1:1/", "--echo-path", "echo")
    assert result.returncode == 2 and "--echo-path 'echo'" in result.stderr
    assert conformance("run", "http://127.0.0.1:1/", "--profile", "lax").returncode == 2


def test_the_reference_target_runs_the_echo_cases(tmp_path: Path) -> None:
    out = tmp_path / "r"
    result = conformance(
        "run", "--select", "h1/9110/6.5.2/echo", "-o", str(out), "--no-progress", cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((out / "results.json").read_text())
    assert data["echo_path"] == "/echo"
    verdicts = {case["verdict"] for case in data["targets"][0]["cases"]}
    assert verdicts == {"PASS"}
