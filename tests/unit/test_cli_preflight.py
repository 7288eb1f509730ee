"""The pre-flight probe as a user meets it: a target that does not speak what its URL says
gets one diagnosis with a hint, and every case of that suite one ERROR with it (SKIPPED
cases stay SKIPPED), instead of hundreds of FAILs.

The targets are the bundled reference target (``conformance serve`` on free ports, one
process for the module) used through the wrong URLs, and a tiny server that closes every
connection at once; each run is a ``conformance`` process of its own."""

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

ROOT = Path(__file__).resolve().parents[2]


def conformance(*args: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    environ["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "conformance", *args], capture_output=True, text=True, timeout=120, env=environ
    )


@pytest.fixture(scope="module")
def reference() -> Iterator[dict[str, str]]:
    """The reference target's ports: {"h1": "127.0.0.1:P", "h2": ..., "ws": ..., "tls": ...,
    "ca": the PEM file of its self-signed certificate}."""
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        found: dict[str, str] = {}
        for line in process.stdout:
            if line.startswith("Serving"):
                break
            match = re.match(r"(h1|h2|ws): \w+://(127\.0\.0\.1:\d+)/", line)
            if match:
                found[match.group(1)] = match.group(2)
            match = re.match(
                r"h1 over TLS: https://(127\.0\.0\.1:\d+)/ \(self-signed: --ca-file (\S+)\)", line
            )
            if match:
                found["tls"], found["ca"] = match.group(1), match.group(2)
        assert {"h1", "h2", "ws", "tls", "ca"} <= set(found), found
        yield found
    finally:
        process.terminate()
        process.wait(timeout=10)


def _run(tmp_path: Path, target: str, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    out = tmp_path / "report"
    result = conformance("run", target, "-o", str(out), "--no-progress", *args)
    data = json.loads((out / "results.json").read_text()) if (out / "results.json").exists() else {}
    return result, data


def _verdicts(data: dict[str, Any]) -> set[str]:
    return {case["verdict"] for target in data["targets"] for case in target["cases"]}


@pytest.mark.parametrize(
    ("url", "selection", "diagnosis"),
    [
        (
            "h2c://{h1}/",
            "h2/9113/6.5",
            "the target answered the HTTP/2 preface with HTTP/1.1 ('HTTP/1.1 505 HTTP Version Not Supported')",
        ),
        (
            "ws://{h1}/",
            "ws/6455/5.2",
            "the target answered a well-formed WebSocket opening handshake with 'HTTP/1.1 200 OK', "
            "not 101 Switching Protocols: is / its WebSocket endpoint?",
        ),
        ("http://{tls}/", "h1/9112/2.2", "speaks TLS on this port: use https://"),
        (
            "https://{h1}/",
            "h1/9112/2.2",
            "and the port answers cleartext HTTP ('HTTP/1.1 200 OK'): use http://",
        ),
        ("http://{h2}/", "h1/9112/2.2", "answered an HTTP/1.1 request with an HTTP/2 GOAWAY frame"),
        (
            "https://{tls}/",
            "h1/9112/2.2",
            "the target's TLS certificate was not accepted (certificate verify failed): pass --ca-file PEM "
            "to trust the CA that signed it, or --insecure to test without checking it",
        ),
    ],
)
def test_a_target_that_does_not_speak_what_its_url_says_is_diagnosed_once(
    tmp_path: Path, reference: dict[str, str], url: str, selection: str, diagnosis: str
) -> None:
    result, data = _run(tmp_path, url.format(**reference), "--select", selection)
    assert result.returncode == 3, result.stdout + result.stderr
    assert diagnosis in result.stdout
    assert "FAIL" not in _verdicts(data) and "PASS" not in _verdicts(data)
    errors = [case for case in data["targets"][0]["cases"] if case["verdict"] == "ERROR"]
    assert errors and all(diagnosis in case["observed"] for case in errors)
    assert "pre-flight diagnosis" in json.dumps(errors[0]["transcript"])  # how it was found


def test_the_right_urls_pass_the_probe(tmp_path: Path, reference: dict[str, str]) -> None:
    result, data = _run(
        tmp_path, f"https://{reference['tls']}/", "--select", "h1/9112/2.2", "--ca-file", reference["ca"]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS" in _verdicts(data) and "ERROR" not in _verdicts(data)


class _Closes(protocol.Protocol):
    def connectionMade(self) -> None:  # noqa: N802
        self.transport.loseConnection()


@pytest.fixture
def closing_server(reactor_thread: Any) -> Iterator[str]:
    port = reactor_thread.call(
        reactor_thread.reactor.listenTCP, 0, protocol.Factory.forProtocol(_Closes), interface="127.0.0.1"
    )
    yield f"127.0.0.1:{port.getHost().port}"
    reactor_thread.call(port.stopListening)


def test_a_target_that_closes_every_connection_is_diagnosed(tmp_path: Path, closing_server: str) -> None:
    result, data = _run(tmp_path, f"http://{closing_server}/", "--select", "h1/9112/2.2")
    assert result.returncode == 3, result.stdout + result.stderr
    message = (
        "the target closed every connection at once, before any request "
        "(and without answering a well-formed GET request)"
    )
    assert message in result.stdout
    assert _verdicts(data) == {"ERROR"}
    assert data["targets"][0]["reachable"] is True


class _ClosesAfterReading(protocol.Protocol):
    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        self.transport.loseConnection()


@pytest.fixture
def closes_after_reading(reactor_thread: Any) -> Iterator[str]:
    factory = protocol.Factory.forProtocol(_ClosesAfterReading)
    port = reactor_thread.call(reactor_thread.reactor.listenTCP, 0, factory, interface="127.0.0.1")
    yield f"127.0.0.1:{port.getHost().port}"
    reactor_thread.call(port.stopListening)


def test_a_target_that_closes_after_reading_a_request_is_left_to_the_cases(
    tmp_path: Path, closes_after_reading: str
) -> None:
    # Closing without an answer is what some cases accept (NON-STRICT): not a diagnosis.
    result, data = _run(tmp_path, f"http://{closes_after_reading}/", "--select", "h1/9112/2.2")
    assert "closed every connection" not in result.stdout
    assert "NON-STRICT" in _verdicts(data)
