"""``conformance run --server NAME=COMMAND``: the run starts its servers under test, tests
them, and stops them (their whole process group) however it ends.

Every run is a ``conformance`` process of its own; the servers it starts are the bundled
reference target (``conformance serve``) and ``command_server.py``, which writes its process
group and a child's pid to a file so that each test can check that nothing outlived the run.
Each test's processes end with it: the run stops its servers, and the test kills any group
left behind (and fails) in a ``finally``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = shlex.quote(sys.executable)
COMMAND_SERVER = shlex.quote(str(Path(__file__).with_name("command_server.py")))

# The CLI in a process of its own, as the gate tests run it.
from test_cli_gate import conformance  # noqa: E402

FAST_DIE_FAST = """\
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
  - id: b-die
    title: the server exits on this request
    requirement: MAY
    steps:
      - send: "GET /die HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect: {response: {status: 200}}
  - id: c-fast
    title: answered at once, by a server that is still there
    requirement: MUST
    steps:
      - send: "GET /fast HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect: {response: {status: 200}}
  - id: d-slow
    title: never answered
    requirement: MUST
    steps:
      - send: "GET /slow HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect: {response: {status: 200}}
"""


def _live_members(pgid: int) -> list[int]:
    """The processes of group ``pgid`` that have not ended (zombies have: a member whose parent
    was killed is reparented to init, which reaps it in its own time)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def _group_alive(pgid: int) -> bool:
    """Whether group ``pgid`` still has a live process, after init had a moment to reap."""
    for _ in range(100):
        if not _live_members(pgid):
            return False
        time.sleep(0.05)
    return True


def _gone(pid: int) -> bool:
    """Whether ``pid`` has ended (a zombie, not yet reaped by init, counts as ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


class Groups:
    """The process groups a test's servers report (``pids`` files, ``$$`` files): checked to
    be gone, and killed in any case at the end of the test."""

    def __init__(self) -> None:
        self.files: list[Path] = []

    @staticmethod
    def pids(path: Path) -> list[int]:
        return [int(word) for word in path.read_text().split()] if path.exists() else []

    def assert_gone(self, path: Path) -> None:
        self.files.append(path)
        pids = self.pids(path)
        assert pids, f"{path}: the server never wrote its pids"
        pgid, *children = pids
        assert not _group_alive(pgid), f"process group {pgid} outlived the run: {_live_members(pgid)}"
        for child in children:
            assert _gone(child), f"process {child}, started by the server, outlived the run"

    def kill_all(self) -> None:
        for path in self.files:
            for pid in self.pids(path)[:1]:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)


@pytest.fixture
def groups() -> Iterator[Groups]:
    tracked = Groups()
    try:
        yield tracked
    finally:
        tracked.kill_all()


def _command_server(state: Path, *more: str) -> str:
    state.mkdir(exist_ok=True)
    return f"exec {PYTHON} {COMMAND_SERVER} {{port}} {shlex.quote(str(state))} {' '.join(more)}"


def _reference(pgid_file: Path, ports: str) -> str:
    """The bundled reference target as a server command; ``ports``: its port options."""
    return f"echo $$ > {shlex.quote(str(pgid_file))}; exec {PYTHON} -m conformance serve {ports}"


def _results(directory: Path) -> dict[str, dict[str, str]]:
    data = json.loads((directory / "results.json").read_text())
    return {t["name"]: {c["id"]: c["verdict"] for c in t["cases"]} for t in data["targets"]}


def test_the_run_starts_its_servers_tests_them_at_their_urls_and_stops_them(
    tmp_path: Path, groups: Groups
) -> None:
    out = tmp_path / "r"
    result = conformance(
        "run",
        "--server",
        "one=" + _reference(tmp_path / "one.pgid", "--port {port} --h2-port 0 --h2-tls-port 0"),
        "--server",
        "two=" + _reference(tmp_path / "two.pgid", "--port 0 --h2-port {port} --h2-tls-port 0"),
        "two=h2c://127.0.0.1:{port}/",  # the HTTP/2 port of the second
        "--select",
        "h1/9112/2.2",
        "--select",
        "h2/9113/3.4",
        "-o",
        str(out),
        "--no-progress",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((out / "results.json").read_text())
    targets = {t["name"]: t for t in data["targets"]}
    assert set(targets) == {"one", "two"}
    assert targets["one"]["url"].startswith("http://127.0.0.1:")
    assert targets["two"]["url"].startswith("h2c://127.0.0.1:")
    for target in targets.values():
        assert target["reachable"] and target["cases"]
        assert {c["verdict"] for c in target["cases"]} <= {"PASS", "INFORMATIONAL"}, target["cases"]
    assert {c["id"].split("/")[0] for c in targets["one"]["cases"]} == {"h1"}
    assert {c["id"].split("/")[0] for c in targets["two"]["cases"]} == {"h2"}
    assert "h1: http://127.0.0.1:" in (out / "server-one.log").read_text()  # its own output
    groups.assert_gone(tmp_path / "one.pgid")
    groups.assert_gone(tmp_path / "two.pgid")


def test_a_server_that_exits_at_once_makes_its_cases_errors_with_the_reason(
    tmp_path: Path, groups: Groups
) -> None:
    out = tmp_path / "r"
    pgid = shlex.quote(str(tmp_path / "bad.pgid"))
    result = conformance(
        "run",
        "--server",
        f"bad=echo $$ > {pgid}; echo 'cannot bind {{port}}: no such luck' >&2; exit 3",
        "--select",
        "h1/9112/2.2",
        "-o",
        str(out),
        "--no-progress",
    )
    assert result.returncode == 3, result.stdout + result.stderr
    reason = "server 'bad' exited with status 3 before accepting connections"
    assert f"error: {reason}" in result.stderr
    assert "no such luck" in result.stderr  # the tail of its output
    data = json.loads((out / "results.json").read_text())
    (target,) = data["targets"]
    assert target["name"] == "bad" and not target["reachable"]
    assert target["cases"] and {c["verdict"] for c in target["cases"]} == {"ERROR"}
    assert all(c["observed"].startswith(reason) for c in target["cases"])
    assert "its last line: 'cannot bind" in target["cases"][0]["observed"]
    assert "bad could not be reached" in result.stdout
    assert "no such luck" in (out / "server-bad.log").read_text()
    assert not _group_alive(int((tmp_path / "bad.pgid").read_text()))


def test_a_server_that_never_listens_is_stopped_at_the_start_timeout(tmp_path: Path, groups: Groups) -> None:
    out = tmp_path / "r"
    pgid = shlex.quote(str(tmp_path / "mute.pgid"))
    result = conformance(
        "run",
        "--server",
        f"mute=echo $$ > {pgid}; sleep 300 & sleep 300; echo {{port}}",
        "--server-start-timeout",
        "0.5",
        "--select",
        "h1/9112/2.2",
        "-o",
        str(out),
        "--no-progress",
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "error: server 'mute' did not accept connections on port" in result.stderr
    assert set(_results(out)["mute"].values()) == {"ERROR"}
    groups.assert_gone(tmp_path / "mute.pgid")  # the shell, and both sleeps with it


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["other=h2c://127.0.0.1:{port}/"], "give --server other=COMMAND"),
        (["http://127.0.0.1:{port}/", "--server", "x=true {port}"], "and name the target: NAME=URL"),
        (["mine=http://127.0.0.1:8080/"], "the target 'mine=http://127.0.0.1:8080/' has a fixed URL"),
        (["--server", "other=true"], "the command must contain {port}"),
        (["--server", "mine=true {port}"], "two --server named 'mine'"),
        (["--select", "no/such/case"], "no case matches the selection"),
        (["--suite", "ws"], "no selected case can run against mine"),
    ],
)
def test_usage_errors_start_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    marker = tmp_path / "started"
    result = conformance(
        "run",
        "--server",
        f"mine=touch {shlex.quote(str(marker))}; sleep 60 # {{port}}",
        *args,
        "--no-progress",
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert not marker.exists()


def _wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    for _ in range(1200):  # up to a minute
        if path.exists() or process.poll() is not None:
            return
        time.sleep(0.05)


def _run_until(
    tmp_path: Path, state: Path, ready: Path, *args: str, server: str = ""
) -> subprocess.Popen[str]:
    cases = tmp_path / "cases.yaml"
    cases.write_text(FAST_DIE_FAST)
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance", "run", "--server", "srv=" + (server or _command_server(state))]
        + ["--cases", str(cases), "--jobs", "1", "-o", str(tmp_path / "r"), "--no-progress", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}, "PYTHONPATH": str(ROOT)},
    )
    _wait_for(ready, process)
    return process


def _require(path: Path, process: subprocess.Popen[str], why: str) -> None:
    """Fail the test (the run killed first) unless ``path`` exists."""
    if not path.exists():
        _finish(process, signal.SIGKILL)
        pytest.fail(why)


def _finish(process: subprocess.Popen[str], *signals: int) -> tuple[int, str, str]:
    try:
        for number in signals:
            process.send_signal(number)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, stdout, stderr


@pytest.mark.parametrize(("number", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_mid_run_stops_the_servers_and_writes_the_report(
    tmp_path: Path, groups: Groups, number: int, code: int
) -> None:
    state = tmp_path / "state"
    process = _run_until(tmp_path, state, state / "slow", "--select", "h1/9112/1/d-slow", "--timeout", "60")
    groups.files.append(state / "pids")
    _require(state / "slow", process, "the run never reached its slow case")
    returncode, stdout, stderr = _finish(process, number)
    assert returncode == code, stdout + stderr
    assert "Traceback" not in stderr
    assert (tmp_path / "r" / "results.json").exists()
    groups.assert_gone(state / "pids")


@pytest.mark.parametrize("when", ["at-once", "while-stopping"])
def test_a_second_ctrl_c_still_stops_a_server_that_ignores_sigterm(
    tmp_path: Path, groups: Groups, when: str
) -> None:
    """The second Ctrl-C quits at once: right after the first (the run may still be in the
    reactor), or while the servers are given their grace period after SIGTERM; either way
    a server that ignores SIGTERM is killed, not left behind."""
    state = tmp_path / "state"
    process = _run_until(
        tmp_path, state, state / "slow", "--select", "h1/9112/1/d-slow", "--timeout", "60",
        server=_command_server(state, "stubborn"),
    )  # fmt: skip
    groups.files.append(state / "pids")
    _require(state / "slow", process, "the run never reached its slow case")
    process.send_signal(signal.SIGINT)
    if when == "while-stopping":
        _wait_for(state / "term", process)
        _require(state / "term", process, "the run never sent its server SIGTERM")
    returncode, stdout, stderr = _finish(process, signal.SIGINT)
    assert returncode == 130, stdout + stderr
    groups.assert_gone(state / "pids")


def test_a_second_ctrl_c_in_the_run_stops_the_servers_and_quits_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The run's own handler, called as the signals would call it (two SIGINTs sent at once
    reach a process as one, so a subprocess cannot make this path sure): the first
    interrupts, the second, even before the reactor ran the interrupt, stops the servers the
    run started and quits with 130, no finally run."""
    import signal as signals

    from conformance import cli, servers

    interrupts: list[str] = []
    stopped: list[object] = []
    exits: list[int] = []

    class Reactor:
        def callFromThread(self, fn: object, *args: object) -> None:  # noqa: N802 - Twisted's name
            interrupts.append(str(args[0]))  # not run: the reactor has not got to it yet

    class Control:
        interrupted = False

        def interrupt(self, name: str) -> None:
            self.interrupted = True

    class Console:
        def show_cursor(self, show: bool) -> None:
            pass

    installed: dict[int, object] = {}
    monkeypatch.setattr(signals, "signal", lambda number, handler: installed.__setitem__(number, handler))
    monkeypatch.setattr(servers, "stop_all", lambda started: stopped.extend(started))
    monkeypatch.setattr(cli.os, "_exit", lambda code: exits.append(code))
    cli._on_signals(Reactor(), Control(), Console(), servers=["the-server"])
    handler = installed[signals.SIGINT]
    handler(signals.SIGINT, None)  # type: ignore[operator]
    assert (interrupts, stopped, exits) == (["SIGINT"], [], [])
    handler(signals.SIGINT, None)  # type: ignore[operator]
    assert (interrupts, stopped, exits) == (["SIGINT"], ["the-server"], [130])


def test_a_signal_while_the_servers_start_stops_them(tmp_path: Path, groups: Groups) -> None:
    pgid = tmp_path / "mute.pgid"
    cases = tmp_path / "cases.yaml"
    cases.write_text(FAST_DIE_FAST)
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance", "run", "--cases", str(cases), "--no-progress"]
        + ["--server", f"mute=echo $$ > {shlex.quote(str(pgid))}.tmp; mv {shlex.quote(str(pgid))}.tmp "
           f"{shlex.quote(str(pgid))}; sleep 300; echo {{port}}"]
        + ["--server-start-timeout", "120", "-o", str(tmp_path / "r")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    _wait_for(pgid, process)
    groups.files.append(pgid)
    returncode, stdout, stderr = _finish(process, signal.SIGTERM)
    assert returncode == 143, stdout + stderr
    assert "Interrupted before any case ran" in stderr
    groups.assert_gone(pgid)


def test_a_server_that_dies_mid_run_is_named_and_its_later_cases_are_errors(
    tmp_path: Path, groups: Groups
) -> None:
    state = tmp_path / "state"
    process = _run_until(tmp_path, state, tmp_path / "never", "--exclude", "h1/9112/1/d-slow")
    groups.files.append(state / "pids")
    returncode, stdout, stderr = _finish(process)
    assert returncode == 3, stdout + stderr
    assert "server 'srv' exited with status 7 during the run" in stdout
    verdicts = _results(tmp_path / "r")["srv"]
    assert verdicts["h1/9112/1/a-fast"] == "PASS"
    assert verdicts["h1/9112/1/c-fast"] == "ERROR"
    groups.assert_gone(state / "pids")  # its child too, left behind by the dead server


def test_a_target_table_with_a_server_is_started_from_the_configuration_file(
    tmp_path: Path, groups: Groups
) -> None:
    state = tmp_path / "state"
    cases = tmp_path / "cases.yaml"
    cases.write_text(FAST_DIE_FAST)
    (tmp_path / "conformance.toml").write_text(
        f'cases = [{json.dumps(str(cases))}]\nselect = ["h1/9112/1/a-fast"]\n'
        f"[targets.srv]\nserver = {json.dumps(_command_server(state))}\n"
    )
    result = conformance("run", "-o", str(tmp_path / "r"), "--no-progress", cwd=tmp_path)
    groups.files.append(state / "pids")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _results(tmp_path / "r") == {"srv": {"h1/9112/1/a-fast": "PASS"}}
    groups.assert_gone(state / "pids")
    # --server of the table's name replaces its command (and --server-start-timeout is a key).
    other = tmp_path / "other"
    (tmp_path / "conformance.toml").write_text(
        f'cases = [{json.dumps(str(cases))}]\nselect = ["h1/9112/1/a-fast"]\nserver-start-timeout = 20\n'
        f'[targets.srv]\nserver = "exit 1 # {{port}}"\nurl = "http://127.0.0.1:{{port}}/"\n'
    )
    result = conformance(
        "run", "--server", "srv=" + _command_server(other), "-o", str(tmp_path / "r2"), "--no-progress",
        cwd=tmp_path,
    )  # fmt: skip
    groups.files.append(other / "pids")
    assert result.returncode == 0, result.stdout + result.stderr
    groups.assert_gone(other / "pids")
