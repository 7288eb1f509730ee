"""``conformance fuzz`` finds planted bugs, shrinks them, and writes cases that replay.

Each planted server (tests/fuzz/planted_server.py) has one bug the bundled h1 suite does not
trip over; its twin (``--bug none``) is the same server without it. For each bug and two
seeds: the fuzzer, given the server as ``--server``, finds exactly that bug within a bounded
budget and writes a short case; ``conformance validate`` accepts it; ``conformance run``
replays it: FAIL on the bugged server, PASS on the twin. A crash is not an RFC violation (no
sentence forbids a server to stop): its case is INFO, and its replay ends in ERROR on the
bugged server (the connection after the input is refused), INFORMATIONAL on the twin.

The seeds are ones whose inputs reach the bug early (seeds 0-17 were tried; within 20 s
per server, with other fuzzers running beside, each bug was reached by two to six of them):
the inputs of a seed are always the same, so the budget only has to cover the machine's
speed. The first seed of each bug fuzzes its whole budget, which shows that nothing else is
found (a false finding); the second stops at its first finding (``--max-findings 1``), which
shows the bug is reached from another seed, at a fraction of the time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.servers import ManagedServer

ROOT = Path(__file__).resolve().parents[2]
SERVER = Path(__file__).with_name("planted_server.py")
H2_SERVER = Path(__file__).with_name("planted_h2_server.py")
BUDGET = "20"  # seconds per server fuzzed: the differential pair gets twice as much

pytestmark = pytest.mark.slow

#: bug -> (seeds, oracle, replay verdict on the bugged server, on the twin)
PLANTED = {
    "crash": ((1, 8), "crash", "ERROR", "INFORMATIONAL"),
    "hang": ((1, 5), "hang", "FAIL", "PASS"),
    "malformed": ((1, 4), "invalid", "FAIL", "PASS"),
    "differential": ((0, 3), "differential", "FAIL", "PASS"),
}


def _server(bug: str, script: Path = SERVER) -> str:
    return f"{sys.executable} {script} --port {{port}} --bug {bug}"


def conformance(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    environ["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "conformance", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environ,
        cwd=ROOT,
    )


@pytest.mark.parametrize(
    ("bug", "seed"), [(bug, seed) for bug, (seeds, *_rest) in PLANTED.items() for seed in seeds]
)
def test_fuzz_finds_shrinks_and_replays_a_planted_bug(bug: str, seed: int, tmp_path: Path) -> None:
    seeds, oracle, on_bugged, on_twin = PLANTED[bug]
    servers = ["--server", f"bugged={_server(bug)}"]
    first_only = [] if seed == seeds[0] else ["--max-findings", "1"]
    echo: list[str] = []
    if bug == "differential":
        servers += ["--server", f"twin={_server('none')}"]
        echo = ["--echo-path", "/echo"]
    out = tmp_path / "fuzz"
    fuzz = conformance(
        "fuzz", "--budget", str(int(BUDGET) * (len(servers) // 2)), "--seed", str(seed),
        "--timeout", "1", "--shrink-time", "15",
        "--no-progress", "-o", str(out), *servers, *echo, *first_only,
    )  # fmt: skip
    assert fuzz.returncode == 1, fuzz.stdout + fuzz.stderr
    findings = sorted((out / "findings").glob("*.yaml"))
    # Only the planted bug: another oracle's finding would be a false one (the server is
    # otherwise correct). A differential may show twice: once on bytes the RFC decides (a MUST
    # case), once on bytes it does not (INFO), which are two signatures.
    assert findings, fuzz.stdout
    assert {path.name.split("-", 1)[1] for path in findings} == {f"{oracle}.yaml"}, fuzz.stdout
    assert len(findings) <= 2
    assert not (out / "flaky").exists()
    for path in findings:
        text = path.read_text()
        steps = text.split("    steps:\n", 1)[1]
        assert len(steps.splitlines()) <= 14, text  # a short case: the shrunk bytes and one expectation
        mutations = text.split("mutations:\n", 1)[1].split("protocol:", 1)[0]
        assert mutations.count("#   ") <= 3, text  # at most 3 mutations left after shrinking
        assert path.name in (out / "index.html").read_text()

    validate = conformance("validate", str(out / "findings"))
    assert validate.returncode == 0, validate.stdout + validate.stderr

    bugged = ManagedServer(name="bugged", command=_server(bug))
    twin = ManagedServer(name="twin", command=_server("none"))
    try:
        bugged.start()
        twin.start()
        replay = conformance(
            "run", "--cases", str(out / "findings"), *echo, "--no-progress", "-o", str(tmp_path / "run"),
            f"bugged={bugged.url}", f"twin={twin.url}",
        )  # fmt: skip
    finally:
        bugged.stop()
        twin.stop()
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    verdicts = {
        target["name"]: [case["verdict"] for case in target["cases"]] for target in results["targets"]
    }
    # The finding replays: the rule it rests on is broken by the bugged server, kept by its
    # twin (an INFO finding, for a person to triage, is INFORMATIONAL on both).
    assert on_bugged in verdicts["bugged"], replay.stdout
    assert on_twin in verdicts["twin"], replay.stdout
    assert set(verdicts["bugged"]) <= {on_bugged, "INFORMATIONAL"}, replay.stdout
    assert set(verdicts["twin"]) <= {on_twin, "INFORMATIONAL"}, replay.stdout


@pytest.mark.parametrize(
    ("bug", "on_bugged", "on_twin"),
    [
        ("crash", "ERROR", "INFORMATIONAL"),  # INFO: no RFC sentence forbids stopping
        ("rule", "FAIL", "PASS"),  # RFC 9113 §6.4 (and §5.1): the connection error was due
        ("hang", "FAIL", "PASS"),  # RFC 9113 §6.7: the PING went unanswered
        ("invalid", "FAIL", "PASS"),  # RFC 9113 §8.2.2: a connection-specific field
    ],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_fuzz_finds_and_replays_an_http2_bug(
    bug: str, on_bugged: str, on_twin: str, seed: int, tmp_path: Path
) -> None:
    out = tmp_path / "fuzz"
    fuzz = conformance(
        "fuzz", "--suite", "h2", "--budget", BUDGET, "--seed", str(seed), "--timeout", "1", "--shrink-time", "10",
        "--max-findings", "1", "--no-progress", "-o", str(out), "--server", f"bugged={_server(bug, H2_SERVER)}",
    )  # fmt: skip
    assert fuzz.returncode == 1, fuzz.stdout + fuzz.stderr
    findings = sorted((out / "findings").glob("*.yaml"))
    assert [path.name for path in findings] == [f"001-{bug}.yaml"], fuzz.stdout
    assert conformance("validate", str(out / "findings")).returncode == 0
    bugged = ManagedServer(name="bugged", command=_server(bug, H2_SERVER))
    twin = ManagedServer(name="twin", command=_server("none", H2_SERVER))
    try:
        bugged.start()
        twin.start()
        replay = conformance(
            "run", "--cases", str(out / "findings"), "--no-progress", "-o", str(tmp_path / "run"),
            f"bugged=h2c://127.0.0.1:{bugged.port}/", f"twin=h2c://127.0.0.1:{twin.port}/",
        )  # fmt: skip
    finally:
        bugged.stop()
        twin.stop()
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    verdicts = {
        target["name"]: [case["verdict"] for case in target["cases"]] for target in results["targets"]
    }
    assert verdicts == {"bugged": [on_bugged], "twin": [on_twin]}, replay.stdout + findings[0].read_text()


def test_a_server_command_is_stopped_with_everything_it_started(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    # The shell starts a child that would outlive a plain kill of the shell.
    command = f"sleep 300 & echo $! > {marker}; exec {_server('none')}"
    server = ManagedServer(name="s", command=command)
    server.start()
    child = int(marker.read_text())
    os.kill(child, 0)  # running
    server.stop()
    # Killed; once its parent is gone, init reaps it (a zombie still answers kill(pid, 0)).
    for _ in range(100):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail(f"process {child}, started by the server command, outlived stop()")
