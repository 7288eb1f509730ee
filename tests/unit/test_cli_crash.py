"""A defect of the harness itself never ends a run in silence: the traceback goes to stderr,
and the exit status is 1, never 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CRASHING = """
import sys
import conformance.driver.runner as runner

async def broken(*args, **kwargs):
    raise RuntimeError("a defect planted by the test")

runner.run_suite = broken
from conformance.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--suite", "h1", "--select", "h1/9112/2.2", "--no-progress"],
        ["client", "--suite", "h1", "--no-progress"],
    ],
    ids=["run", "client"],
)
def test_a_crash_of_the_harness_is_reported(tmp_path: Path, args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CRASHING, *args, "-o", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "internal error" in result.stderr
    assert "a defect planted by the test" in result.stderr
