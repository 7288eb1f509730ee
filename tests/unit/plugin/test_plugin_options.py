"""The pytest plugin judges and runs as ``conformance run`` does: ``--conformance-fail-on``
(a FAIL below it is reported, not failed), ``--conformance-profile``, ``--conformance-echo-path``,
``--conformance-jobs``; the selected cases run concurrently (in xdist workers too); a failed
``assert not ....new_failures()`` reads one line per FAIL.

Every pytest run here is a process of its own (pytester), against loopback servers the test
starts and stops."""

from __future__ import annotations

import os
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

import pytest
from plugin_support import run, target_args

# ---------------------------------------------------------------------------- --conformance-fail-on


def _properties(tc: ET.Element) -> dict[str | None, str | None]:
    return {p.get("name"): p.get("value") for p in tc.iter("property")}


def test_a_fail_below_fail_on_is_reported_not_failed(project: pytest.Pytester, ok_server: str) -> None:
    result = run(project, *target_args(ok_server), "--junitxml=junit.xml")
    assert result.ret == pytest.ExitCode.OK  # as conformance run's exit status: no MUST FAIL
    assert result.parseoutcomes() == {"passed": 1, "nongating": 2, "skipped": 1, "nonstrict": 1}
    out = result.stdout.str()
    assert "conformance-srv .ffNs" in out
    assert "conformance: FAILs below --conformance-fail-on MUST (reported, not failed)" in out
    listed = [line for line in result.outlines if line.startswith("h1/9112/1/should-")]
    assert [line.split(":", 1)[0] for line in listed] == [
        "h1/9112/1/should-400 on srv",
        "h1/9112/1/should-404 on srv",
    ]
    assert ": SHOULD FAIL: expected a response with status 400; observed HTTP/1.1 200 OK" in listed[0]
    root = ET.parse(project.path / "junit.xml").getroot()
    cases = {tc.get("name"): tc for tc in root.iter("testcase")}
    below = cases["h1/9112/1/should-400"]
    assert [child.tag for child in below if child.tag != "properties"] == []  # passed: no <failure>
    assert _properties(below) == {"verdict": "FAIL", "requirement": "SHOULD", "fail_on": "MUST"}
    assert root.find("testsuite") is not None and root.find("testsuite").get("failures") == "0"  # type: ignore[union-attr]


def test_fail_on_takes_the_clis_levels_only(project: pytest.Pytester, ok_server: str) -> None:
    may = run(project, *target_args(ok_server), "--conformance-fail-on", "may")
    assert may.parseoutcomes() == {"passed": 1, "failed": 2, "skipped": 1, "nonstrict": 1}
    bad = run(project, *target_args(ok_server), "--conformance-fail-on", "info")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    assert "--conformance-fail-on: invalid choice: 'info'" in bad.stderr.str()


# ---------------------------------------------------------------------------- --conformance-profile

GENERIC_400 = """\
protocol: h1
rfc: 9112
section: "5"
cases:
  - id: field-name-bracket
    title: a bracket in a field name is answered 400
    requirement: SHOULD
    tags: [fields, generic-400]
    steps:
      - send: "GET / HTTP/1.1\\r\\nHost: {authority}\\r\\nA[b]: c\\r\\n\\r\\n"
      - expect: {response: {status: 400}}
"""


def test_profile_strict_makes_the_generic_400_a_must(project: pytest.Pytester, ok_server: str) -> None:
    project.makefile(".yaml", generic=GENERIC_400)
    args = ["--conformance-target", f"srv={ok_server}", "--conformance-cases", "generic.yaml"]
    default = run(project, *args)
    assert default.parseoutcomes() == {"nongating": 1}  # a SHOULD FAIL, below MUST
    strict = run(project, *args, "--conformance-profile", "strict")
    assert strict.parseoutcomes() == {"failed": 1}
    assert "MUST FAIL: a bracket in a field name is answered 400" in strict.stdout.str()
    bad = run(project, *args, "--conformance-profile", "lenient")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    assert "--conformance-profile 'lenient': one of default, strict" in bad.stderr.str()


# ---------------------------------------------------------------------------- --conformance-echo-path

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
      - send: "PUT {echo_path}?x HTTP/1.1\\r\\nHost: {authority}\\r\\nContent-Length: 0\\r\\n\\r\\n"
      - expect:
          echo: {method: PUT, target: /mirror?x}
"""


def test_echo_path_runs_the_cases_that_need_an_echo_endpoint(
    project: pytest.Pytester, ok_server: str
) -> None:
    project.makefile(".yaml", echo=ECHO)
    args = ["--conformance-target", f"srv={ok_server}", "--conformance-cases", "echo.yaml", "-rs"]
    without = run(project, *args)
    assert without.parseoutcomes() == {"skipped": 1}
    assert "SKIPPED:" in without.stdout.str()
    # With it the case runs: the target answers 200 with no echo document, which is no PASS.
    with_path = run(project, *args, "--conformance-echo-path", "/mirror", "--junitxml=junit.xml")
    assert "skipped" not in with_path.parseoutcomes()
    tc = ET.parse(project.path / "junit.xml").getroot().find("testsuite/testcase")
    assert tc is not None and _properties(tc)["verdict"] in {"FAIL", "ERROR"}
    bad = run(project, *args, "--conformance-echo-path", "mirror")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    assert "--conformance-echo-path 'mirror': a path starting with '/'" in bad.stderr.str()


# ---------------------------------------------------------------------------- concurrency

SILENT_CASES = 6


def _silent_cases() -> str:
    """Cases that each ask for their own path and wait for an answer that never comes."""
    head = 'protocol: h1\nrfc: 9112\nsection: "9"\ncases:\n'
    case = (
        "  - id: wait-{n}\n    title: t\n    requirement: MUST\n    steps:\n"
        '      - send: "GET /case-{n} HTTP/1.1\\r\\nHost: {{authority}}\\r\\n\\r\\n"\n'
        "      - expect: {{response: {{status: 200}}}}\n"
    )
    return head + "".join(case.format(n=n) for n in range(SILENT_CASES))


@dataclass
class SilentServer:
    """Accepts connections and never answers; tells how many were open at once.

    Its threads see a close some time after the harness made it, so a connection the harness
    closed just before opening the next one could count as overlapping it; overlaps shorter
    than ``SLACK`` seconds are not counted (a case against this server lasts its 1 s timeout)."""

    SLACK: ClassVar[float] = 0.3

    url: str = ""
    spans: list[tuple[float, float]] = field(default_factory=list)
    open_since: dict[int, float] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def most_open(self) -> int:
        """The most connections open at one moment, each counted until SLACK before it closed."""
        with self.lock:
            closed = [(start, max(start, end - self.SLACK)) for start, end in self.spans]
            spans = closed + [(start, float("inf")) for start in self.open_since.values()]
        edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
        most = now = 0
        for _, step in edges:
            now += step
            most = max(most, now)
        return most

    def serve(self, listener: socket.socket, connections: list[socket.socket]) -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:  # the listener was closed: the test is over
                return
            connections.append(connection)
            threading.Thread(target=self.hold, args=(connection,), daemon=True).start()

    def hold(self, connection: socket.socket) -> None:
        start = time.monotonic()
        with self.lock:
            self.open_since[id(connection)] = start
        try:
            first = b""
            while chunk := connection.recv(4096):
                if not first:
                    first = chunk
                    line = first.split(b"\r\n", 1)[0].decode("latin-1")
                    with self.lock:
                        self.paths.append(line.split(" ")[1] if line.count(" ") >= 2 else line)
        except OSError:
            pass
        finally:
            with self.lock:
                del self.open_since[id(connection)]
                self.spans.append((start, time.monotonic()))


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    server = SilentServer(url=f"http://127.0.0.1:{listener.getsockname()[1]}/")
    connections: list[socket.socket] = []
    thread = threading.Thread(target=server.serve, args=(listener, connections), daemon=True)
    thread.start()
    yield server
    listener.close()
    for connection in connections:
        connection.close()
    thread.join(timeout=10)


def _run_silent(project: pytest.Pytester, server: SilentServer, *extra: str) -> pytest.RunResult:
    project.makefile(".yaml", silent=_silent_cases())
    return run(
        project,
        "--conformance-target",
        f"silent={server.url}",
        "--conformance-cases",
        "silent.yaml",
        "--conformance-timeout",
        "1",
        *extra,
    )


def _case_paths(server: SilentServer) -> list[str]:
    return sorted(path for path in server.paths if path.startswith("/case-"))


def test_the_selected_cases_run_concurrently_each_once(
    project: pytest.Pytester, silent_server: SilentServer
) -> None:
    result = _run_silent(project, silent_server, "-k", "not wait-5")
    assert result.parseoutcomes() == {"failed": SILENT_CASES - 1, "deselected": 1}
    # Not one after another: the server saw several of them waiting at once...
    assert silent_server.most_open > 1
    # ...and each selected case once (the batch ran it; its item did not run it again), and
    # the deselected one never.
    assert _case_paths(silent_server) == [f"/case-{n}" for n in range(SILENT_CASES - 1)]


def test_jobs_bounds_the_cases_in_flight(project: pytest.Pytester, silent_server: SilentServer) -> None:
    result = _run_silent(
        project, silent_server, "--conformance-jobs", "1", "-k", "wait-0 or wait-1 or wait-2"
    )
    assert result.parseoutcomes() == {"failed": 3, "deselected": SILENT_CASES - 3}
    assert silent_server.most_open == 1
    assert _case_paths(silent_server) == ["/case-0", "/case-1", "/case-2"]


def test_an_xdist_worker_runs_its_own_cases_concurrently(
    project: pytest.Pytester, silent_server: SilentServer
) -> None:
    if os.environ.get("CI") != "true":  # in the test extras: never skipped in CI
        pytest.importorskip("xdist")
    # --dist loadfile hands every case of a target to one worker: the other has none, so
    # connections open at once can only be that worker's batch.
    result = _run_silent(project, silent_server, "-n", "2", "--dist", "loadfile")
    assert result.parseoutcomes() == {"failed": SILENT_CASES}
    assert silent_server.most_open > 1
    assert _case_paths(silent_server) == [f"/case-{n}" for n in range(SILENT_CASES)]


# ---------------------------------------------------------------------------- new_failures()

OWN_SERVER = """
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conformance.verdicts.verdict import Requirement


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def my_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
"""


def test_a_failed_new_failures_assertion_lists_one_line_per_fail(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_own_server=OWN_SERVER
        + """

def test_no_new_failures(conformance_run, my_server):
    results = conformance_run(my_server, cases=["cases.yaml"], select=["h1/9112/1/should", "h1/9112/1/must"])
    assert not results.targets[0].new_failures(Requirement.SHOULD)
"""
    )
    result = run(project, "test_own_server.py")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "transcript=" not in out and "TranscriptEntry" not in out  # not the objects' reprs
    assert (
        "assert not (<CaseResult h1/9112/1/should-400 SHOULD FAIL>, <CaseResult h1/9112/1/should-404" in out
    )
    assert "conformance: FAILs the baseline does not expect, at every level" in out
    listed = [line for line in result.outlines if line.startswith("h1/9112/1/")]
    assert len(listed) == 2, out
    assert listed[0].startswith("h1/9112/1/should-400 on 127.0.0.1:")
    assert ": SHOULD FAIL: expected a response with status 400; observed HTTP/1.1 200 OK" in listed[0]
    assert listed[1].startswith("h1/9112/1/should-404 on 127.0.0.1:")


def test_conformance_check_follows_fail_on(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_own_server=OWN_SERVER
        + """

def test_check(conformance_check, my_server):
    conformance_check(my_server, cases=["cases.yaml"], select=["h1/9112/1/should-400"])
"""
    )
    run(project, "test_own_server.py").assert_outcomes(passed=1)  # a SHOULD FAIL, below MUST
    failed = run(project, "test_own_server.py", "--conformance-fail-on", "should")
    failed.assert_outcomes(failed=1)
    assert "1 conformance problem (FAIL at SHOULD or stricter, or ERROR):" in failed.stdout.str()


# ---------------------------------------------------------------------------- the configuration file


def test_the_configuration_file_sets_what_the_command_line_leaves_out(
    project: pytest.Pytester, ok_server: str
) -> None:
    """``[tool.conformance]`` gives the plugin its settings, as it gives ``conformance run``
    its own: fail-on from the file, a target's echo path from the target's table; the command
    line still overrides the file."""
    project.makefile(".yaml", echo=ECHO)
    project.makepyprojecttoml(
        '[tool.conformance]\nfail-on = "should"\n\n[tool.conformance.targets.srv]\necho-path = "/mirror"\n'
    )
    args = ["--conformance-target", f"srv={ok_server}", "--conformance-cases", "cases.yaml"]
    assert run(project, *args).parseoutcomes() == {"passed": 1, "failed": 2, "skipped": 1, "nonstrict": 1}
    overridden = run(project, *args, "--conformance-fail-on", "must")
    assert overridden.parseoutcomes() == {"passed": 1, "nongating": 2, "skipped": 1, "nonstrict": 1}
    # The table named like the target gives it its echo path: the echo case runs.
    echo = run(project, "--conformance-target", f"srv={ok_server}", "--conformance-cases", "echo.yaml")
    assert "skipped" not in echo.parseoutcomes()


def test_the_configuration_files_targets_run_only_when_asked(
    project: pytest.Pytester, ok_server: str
) -> None:
    """A project's own pytest runs never turn into conformance runs because its pyproject.toml
    names targets for ``conformance run``: the file's targets need --conformance-config, and a
    broken file matters only to a conformance run. A target ``conformance run`` would start
    (``server = COMMAND``) is not the plugin's to start: it is left out."""
    project.makefile(
        ".toml",
        conformance=f'[targets.srv]\nurl = "{ok_server}"\n'
        '[targets.built]\nserver = "./srv {port}"\nurl = "http://127.0.0.1:{port}/"\n',
    )
    project.makepyfile(test_own="def test_own():\n    pass\n")
    plain = run(project, "test_own.py")
    assert plain.parseoutcomes() == {"passed": 1}
    asked = run(project, "--conformance-config", "conformance.toml", "--conformance-cases", "cases.yaml")
    # test_own.py's test and the file's target's cases
    assert asked.parseoutcomes() == {"passed": 2, "nongating": 2, "skipped": 1, "nonstrict": 1}
    project.makefile(".toml", conformance="fail-on = 'sometimes'\n")
    assert run(project, "test_own.py").parseoutcomes() == {"passed": 1}
    broken = run(project, "--conformance-config", "conformance.toml", "--conformance-cases", "cases.yaml")
    assert broken.ret == pytest.ExitCode.USAGE_ERROR
    assert "conformance.toml" in broken.stderr.str() and "fail-on" in broken.stderr.str()
