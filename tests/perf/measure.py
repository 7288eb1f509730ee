"""The one way the benchmarks measure a run of the harness: wall time and peak memory.

A measured run is a fresh ``conformance run ...`` process — the whole CLI: loading the cases,
driving them, judging, writing every report (results.json, junit.xml, index.html,
summary.md). Its peak memory is the high-water mark of its own resident set, ``VmHWM`` of
``/proc/self/status``, read by the process itself as it exits (an ``atexit`` hook of the
launcher below, which runs the CLI exactly as ``python -m conformance`` does). The server
under test always runs in another process.

Not ``ru_maxrss``: Linux starts a child's ``ru_maxrss`` at its parent's high-water mark when
the child is spawned (the exec records the memory it replaces, and Python spawns with vfork),
so ``os.wait4``'s figure for a child of a benchmark that has grown to 200 MB is at least 200
MB, whatever the child did — which is how an earlier figure of 132 MB came about. ``VmHWM``
belongs to the process image after the exec alone.

The package runs from this checkout with its bytecode compiled first, as ``pip install``
leaves an installed package: without it (``PYTHONDONTWRITEBYTECODE`` is set on some
machines, this one included) every run would compile the package's sources again, a tenth of
a second that no user's run spends.

Figures are in MB of 10^6 bytes, the unit of the issues' bounds (100 MB for HTTP/2, 150 MB
for WebSocket).
"""

from __future__ import annotations

import compileall
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

import reference_process  # noqa: E402
from reference_process import ReferenceServer  # noqa: E402


@dataclass(frozen=True)
class Measurement:
    cases: int  # results in results.json (cases x targets)
    wall_s: float  # from the process's start to its exit
    run_s: float  # the run itself, as results.json records it (no start-up, no reports)
    peak_mb: float  # the process's peak resident set size
    status: int  # its exit status (1 = some case failed: still a measurement)

    def describe(self) -> str:
        return (
            f"{self.cases:4d} cases  {self.wall_s:7.2f} s  (run {self.run_s:6.2f} s)  "
            f"peak RSS {self.peak_mb:6.1f} MB"
        )


#: Runs the CLI as ``python -m conformance`` does, and writes the process's VmHWM (KiB) to
#: the file named by $CONFORMANCE_BENCH_PEAK when the interpreter exits.
LAUNCHER = """
import atexit, os, runpy, sys

def report():
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["CONFORMANCE_BENCH_PEAK"], "w") as out:
        out.write(kib)

atexit.register(report)
sys.argv[0] = "conformance"
runpy.run_module("conformance", run_name="__main__", alter_sys=True)
"""


@functools.cache
def _compiled() -> None:
    """Compile the package's bytecode (into __pycache__, as an installed package has it)."""
    compileall.compile_dir(ROOT / "conformance", quiet=1)


def _environment() -> dict[str, str]:
    _compiled()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def measure(arguments: Sequence[str], *, timeout: float = 900.0) -> Measurement:
    """Run ``python -m conformance <arguments>`` in a new process and measure it.

    ``arguments`` must not name a report directory: the run writes its reports into a
    temporary one (they are part of what is measured), read back for the case count.
    """
    with tempfile.TemporaryDirectory(prefix="conformance-bench-") as root:
        command = [sys.executable, "-c", LAUNCHER, *arguments, "--no-progress", "-o", root]
        peak_file = Path(root) / "peak.txt"
        env = _environment()
        env["CONFORMANCE_BENCH_PEAK"] = str(peak_file)
        start = time.perf_counter()
        errors_file = open(Path(root) / "stderr.txt", "w+b")  # noqa: SIM115 (closed below)
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors_file)
        deadline = start + timeout
        while True:
            pid, status = os.waitpid(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                child.kill()
                pid, status = os.waitpid(child.pid, 0)
                break
            time.sleep(0.01)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        errors_file.seek(0)
        errors = errors_file.read().decode("utf-8", "replace")
        errors_file.close()
        report = Path(root) / "results.json"
        if not report.exists() or not peak_file.exists():
            raise RuntimeError(
                f"`conformance {' '.join(arguments)}` wrote no results ({errors.strip()[-500:]})"
            )
        raw = json.loads(report.read_text(encoding="utf-8"))
        cases = sum(len(target["cases"]) for target in raw["targets"])
        return Measurement(
            cases=cases,
            wall_s=wall,
            run_s=float(raw.get("duration_s", 0.0)),
            peak_mb=int(peak_file.read_text()) * 1024 / 1e6,
            status=child.returncode,
        )


def best_of(arguments: Sequence[str], repeat: int) -> tuple[Measurement, list[Measurement]]:
    """``repeat`` measurements: the one of shortest wall time, and all of them (the peak RSS
    to quote is the largest of them all, see :func:`worst_peak`)."""
    runs = [measure(arguments) for _ in range(max(1, repeat))]
    return min(runs, key=lambda m: m.wall_s), runs


def worst_peak(runs: Sequence[Measurement]) -> float:
    return max(m.peak_mb for m in runs)


def baseline() -> float:
    """Peak RSS of ``conformance list`` (interpreter, click, every case loaded): the floor
    under any run."""
    with tempfile.TemporaryDirectory(prefix="conformance-bench-") as root:
        peak_file = Path(root) / "peak.txt"
        env = _environment()
        env["CONFORMANCE_BENCH_PEAK"] = str(peak_file)
        subprocess.run(
            [sys.executable, "-c", LAUNCHER, "list"], cwd=ROOT, env=env, check=True, capture_output=True
        )
        return int(peak_file.read_text()) * 1024 / 1e6


def print_row(label: str, runs: Sequence[Measurement]) -> None:
    """One line: the best wall time of the runs, and the largest peak RSS among them."""
    best = min(runs, key=lambda m: m.wall_s)
    peak = worst_peak(runs)
    median = sorted(m.wall_s for m in runs)[len(runs) // 2]
    print(
        f"{label:<56} {best.cases:4d} cases  {best.wall_s:6.2f} s best, {median:6.2f} s median "
        f"(run {best.run_s:5.2f} s)  peak RSS {peak:6.1f} MB",
        flush=True,
    )


def start_reference() -> ReferenceServer:
    """The reference target in a process of its own, running the package as measured."""
    return reference_process.start_reference(_environment())
