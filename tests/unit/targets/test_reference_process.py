"""The reference target in a process of its own: it serves, and it never outlives its parent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

from conformance.targets.process import start_reference_process


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) is not serving.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_it_serves_every_suite_and_stops() -> None:
    reference = start_reference_process()
    try:
        assert set(reference.urls) == {"h1", "h2", "ws", "ws-h2"}
        assert reference.suites == {"ws-h2": ("ws",)}
        with urllib.request.urlopen(reference.urls["h1"], timeout=10) as answer:
            assert answer.status == 200
    finally:
        reference.stop()
    assert reference.process.returncode is not None


def test_it_exits_when_its_parent_is_killed() -> None:
    script = (
        "import json, os, sys\n"
        "from conformance.targets.process import start_reference_process\n"
        "r = start_reference_process()\n"
        "print(json.dumps(r.process.pid), flush=True)\n"
        "sys.stdin.read()\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = json.loads(parent.stdout.readline())
    assert _alive(child)
    parent.kill()
    parent.wait(timeout=10)
    deadline = time.monotonic() + 15
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    gone = not _alive(child)
    if not gone:
        os.kill(child, 9)
    assert gone, "the reference target outlived the run that started it"
