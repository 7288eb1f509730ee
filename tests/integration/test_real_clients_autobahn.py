"""Real WebSocket clients through the Autobahn-compatible endpoint (``conformance client --suite
ws --serve-autobahn``): a test script of the kind each library keeps for Autobahn's
fuzzingserver (``clients/autobahn/``) runs unchanged against it, and each case it plays gets
the verdict the command contract gives that client (the pins of test_real_clients_ws.py).

A part of the suite, the Autobahn sections a script plays alike under both: messages (1),
pings (2), reserved bits (3), fragmentation (5) and the closing handshake (7.1).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import real_clients
import test_real_clients_ws

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = Path(__file__).resolve().parent / "clients" / "autobahn"
SECTIONS = ("autobahn:1.", "autobahn:2.", "autobahn:3.", "autobahn:5.", "autobahn:7.1.")
#: client -> (the Python modules or program it needs, the script's command before its arguments)
SCRIPTS_BY_CLIENT = {
    "websockets": (("websockets",), [sys.executable, str(SCRIPTS / "fuzzingclient.py"), "websockets"]),
    "websocket-client": (
        ("websocket",),
        [sys.executable, str(SCRIPTS / "fuzzingclient.py"), "websocket-client"],
    ),
    "aiohttp": (("aiohttp",), [sys.executable, str(SCRIPTS / "fuzzingclient.py"), "aiohttp"]),
    "tornado": (("tornado",), [sys.executable, str(SCRIPTS / "fuzzingclient.py"), "tornado"]),
    "ws": ((), ["node", str(SCRIPTS / "fuzzingclient.js")]),
}


def _installed(name: str) -> bool:
    import importlib.util

    modules, command = SCRIPTS_BY_CLIENT[name]
    if name == "ws":
        return shutil.which("node") is not None and (ROOT / "tests/integration/node/node_modules/ws").is_dir()
    return all(importlib.util.find_spec(module) is not None for module in modules)


def _served_url(process: subprocess.Popen[bytes], timeout: float = 30.0) -> str:
    assert process.stdout is not None
    output = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                break
            output += chunk
            for line in output.decode().splitlines():
                if line.startswith("Serving Autobahn's fuzzingserver protocol at "):
                    return line.rsplit(" ", 1)[1]
    raise AssertionError(f"the endpoint printed no URL: {output.decode()!r}")


@pytest.mark.parametrize("name", sorted(SCRIPTS_BY_CLIENT))
def test_an_autobahn_script_gets_the_command_contracts_verdicts(tmp_path: Path, name: str) -> None:
    if not _installed(name):
        real_clients.check(None, "ws", name, None, {})  # skips, or fails under CI
    selection = [arg for section in SECTIONS for arg in ("--select", section)]
    endpoint = subprocess.Popen(
        [sys.executable, "-m", "conformance", "client", "--suite", "ws", "--serve-autobahn", "0"]
        + ["-o", str(tmp_path), "--no-progress", "--stop-after-reports", "--idle-timeout", "60", *selection],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"},
    )
    try:
        url = _served_url(endpoint)
        script = subprocess.run(
            [*SCRIPTS_BY_CLIENT[name][1], url, name], capture_output=True, text=True, timeout=300
        )
        assert script.returncode == 0, script.stdout + script.stderr
        endpoint.communicate(timeout=60)
    finally:
        if endpoint.poll() is None:
            endpoint.kill()
            endpoint.communicate(timeout=10)
    (target,) = json.loads((tmp_path / "results.json").read_text())["targets"]
    verdicts = {case["id"]: case["verdict"] for case in target["cases"]}
    assert len(verdicts) == 60, "every selected case is played once"
    index = json.loads((tmp_path / "index.json").read_text())[name]
    assert len(index) == 60, "Autobahn's index.json has every case"
    contract = real_clients.expected_verdicts(test_real_clients_ws.PINS, test_real_clients_ws.PREFIX).get(
        name, {}
    )
    also = real_clients.timing_alternatives(test_real_clients_ws.PINS, test_real_clients_ws.PREFIX).get(
        name, {}
    )
    differences = {
        case_id: (contract.get(case_id, "PASS"), verdict)
        for case_id, verdict in verdicts.items()
        if verdict != contract.get(case_id, "PASS") and verdict not in also.get(case_id, ())
    }
    assert differences == {}
