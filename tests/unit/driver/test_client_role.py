"""Client mode's driver: the command line of a client, its process, and one case end to end
against small client scripts (a correct one, one that hangs, one that never connects)."""

from __future__ import annotations

import shlex
import sys
import textwrap
from pathlib import Path

import pytest

from conformance.driver import client_process, client_role
from conformance.driver.client_process import argv_for
from conformance.driver.client_role import parse_client, run_client_case
from conformance.driver.interpreter import RunOptions
from conformance.scenario.loader import load_text
from conformance.verdicts.verdict import Verdict

CASE = """\
protocol: h1
role: client
rfc: 9112
section: "6.3"
cases:
  - id: body
    title: t
    requirement: MUST
    steps:
      - accept: {path: /p?q=1}
      - expect: {request: {method: GET, target: /p?q=1, headers: {Host: true}}}
      - send: "HTTP/1.1 200 OK\\r\\nContent-Length: 5\\r\\n\\r\\nhello"
      - expect: {exit: {accepted: {body: hello}}}
"""

CLIENT = textwrap.dedent(
    """\
    import socket, sys, time
    from urllib.parse import urlsplit
    mode, url = sys.argv[1], sys.argv[2]
    if mode == "never":
        sys.exit(3)
    u = urlsplit(url)
    s = socket.create_connection((u.hostname, u.port))
    s.sendall(f"GET {u.path}?{u.query} HTTP/1.1\\r\\nHost: {u.netloc}\\r\\n\\r\\n".encode())
    if mode == "hang":
        time.sleep(600)
    if mode == "close-and-hang":
        s.close()
        time.sleep(600)
    data = b""
    while b"hello" not in data:
        data += s.recv(100)
    sys.stdout.write("hello" if mode == "good" else "other")
    """
)


@pytest.fixture
def client_script(tmp_path: Path) -> str:
    path = tmp_path / "client.py"
    path.write_text(CLIENT)
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(path))}"


def run(reactor_thread, script: str, mode: str):  # type: ignore[no-untyped-def]
    (case,), errors = load_text(CASE, "case.yaml")
    assert errors == []
    client = parse_client(f"{script} {mode} {{url}}", "h1")
    return reactor_thread.call(run_client_case, reactor_thread.reactor, case, client, RunOptions(timeout=1.0))


def test_commands_split_as_a_shell_does_with_placeholders_filled() -> None:
    values = {"url": "http://127.0.0.1:1/x", "host": "127.0.0.1", "port": "1", "path": "/x", "case": "h1/a"}
    assert argv_for("curl -s '{url}' --label \"{case} here\" {{url}}", values) == [
        "curl",
        "-s",
        "http://127.0.0.1:1/x",
        "--label",
        "h1/a here",
        "{url}",
    ]


def test_client_names_default_to_the_program() -> None:
    assert parse_client("curl -s {url}", "h1").name == "curl"
    assert parse_client("/usr/bin/curl -s {url}", "h1").name == "curl"
    named = parse_client("my.client_1=python3 get.py {url}", "h1")
    assert (named.name, named.command) == ("my.client_1", "python3 get.py {url}")
    with pytest.raises(ValueError):
        parse_client("'unterminated {url}", "h1")


def test_a_client_that_reads_the_body_passes(reactor_thread, client_script) -> None:  # type: ignore[no-untyped-def]
    outcome = run(reactor_thread, client_script, "good")
    assert outcome.result.verdict is Verdict.PASS, outcome.result.observed
    assert client_process.live_count() == 0


def test_a_client_that_prints_another_body_fails(reactor_thread, client_script) -> None:  # type: ignore[no-untyped-def]
    outcome = run(reactor_thread, client_script, "bad")
    assert outcome.result.verdict is Verdict.FAIL
    assert 'stdout "other"' in outcome.result.observed


def test_a_client_that_hangs_is_ended_and_fails(reactor_thread, client_script, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(client_role, "START_GRACE", 1.0)
    outcome = run(reactor_thread, client_script, "hang")
    assert outcome.result.verdict is Verdict.FAIL
    assert "the harness ended it" in outcome.result.observed
    assert client_process.live_count() == 0


def test_a_client_that_closes_then_hangs_is_ended_and_fails(
    reactor_thread, client_script, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    # The connection ends first, so the case waits on the process, in waits that time out;
    # the kill at the deadline then ends the process (these waits were once fired twice: an
    # AlreadyCalledError, a harness ERROR).
    monkeypatch.setattr(client_role, "START_GRACE", 1.0)
    outcome = run(reactor_thread, client_script, "close-and-hang")
    assert outcome.result.verdict is Verdict.FAIL, outcome.result.observed
    assert "the harness ended it" in outcome.result.observed
    assert client_process.live_count() == 0


def test_a_client_that_never_connects_is_an_error(reactor_thread, client_script) -> None:  # type: ignore[no-untyped-def]
    outcome = run(reactor_thread, client_script, "never")
    assert outcome.result.verdict is Verdict.ERROR
    assert "never connected" in outcome.result.observed and "status 3" in outcome.result.observed


def test_a_program_that_does_not_exist_is_an_error(reactor_thread) -> None:  # type: ignore[no-untyped-def]
    (case,), _ = load_text(CASE, "case.yaml")
    client = parse_client("/nonexistent/conformance-client {url}", "h1")
    outcome = reactor_thread.call(run_client_case, reactor_thread.reactor, case, client, RunOptions())
    assert outcome.result.verdict is Verdict.ERROR
    assert "cannot start the client" in outcome.result.observed


QUERY_CASE = """\
protocol: h1
role: client
rfc: 9112
section: "3.2"
cases:
  - id: query
    title: t
    requirement: MUST
    steps:
      - accept: {path: "PATH"}
      - expect: {request: {target: "/?q=1", body: ""}}
"""


def test_an_accept_path_may_be_a_query_with_an_empty_path() -> None:
    (case,), errors = load_text(QUERY_CASE.replace("PATH", "?q=1"), "case.yaml")
    assert errors == []
    assert case.steps[0].path == "?q=1"  # the URL http://127.0.0.1:PORT?q=1
    cases, errors = load_text(QUERY_CASE.replace("PATH", "q=1"), "case.yaml")
    assert cases == [] and "empty, or starting with '/' or '?'" in str(errors[0])


@pytest.mark.parametrize(
    ("wire", "problem"),
    [
        (b"GET /?q=1 HTTP/1.1\r\nHost: h\r\n\r\n", None),
        (b"GET /?q=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", None),
        (b"GET /?q=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", 'body "hello"'),
        (
            b"GET /?q=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
            'body "hi"',
        ),
    ],
)
def test_a_request_pattern_judges_the_content_without_its_transfer_coding(
    wire: bytes, problem: str | None
) -> None:
    from conformance.codecs.http1_requests import RequestParser

    (case,), _ = load_text(QUERY_CASE.replace("PATH", "?q=1"), "case.yaml")
    (request,) = RequestParser().feed(wire)
    found = case.steps[1].expectation.check(request)
    assert (found is None) if problem is None else (problem in found)
