"""Where a run's wall time goes: the steps of every case, timed, and what ended each wait.

    python tests/perf/profile_waits.py                       # the default run (no target)
    python tests/perf/profile_waits.py --suite h2 h2c://127.0.0.1:8080/
    python tests/perf/profile_waits.py --json profile.json   # also keep every step's record

Runs ``conformance run ARGS`` in this process with the step methods of the driver wrapped
(``CaseRun._connect``, ``_send``, ``_expect``, ``settle_closing``), then prints,
per target: the case-seconds spent in each kind of step and how each ``expect`` ended — an
event that decided it, the connection closing, a silence that lasted as long as the case
asked (waited by design), or the step's deadline running out. Time between the wrapped steps
is ``wait`` steps and the pauses of split sends. The server under test runs in another process
(the reference target too), so the wrappers time only the harness's side. Asserts nothing.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from conformance.driver import interpreter
from conformance.verdicts import expectations


@dataclass
class CaseProfile:
    target: str
    case: str
    start: float
    end: float = 0.0
    # (kind, seconds, how it ended) per wrapped step, in order
    steps: list[tuple[str, float, str]] = field(default_factory=list)


PROFILES: list[CaseProfile] = []
_BY_RUN: dict[int, CaseProfile] = {}


def _now() -> float:
    return time.monotonic()


def _has_silence(expectation: expectations.Expectation) -> bool:
    if isinstance(expectation, expectations.Silence):
        return True
    inner = getattr(expectation, "inner", None)
    if inner is not None and _has_silence(inner):
        return True
    for attr in ("alternatives", "items"):
        if any(_has_silence(e) for e in getattr(expectation, attr, ())):
            return True
    return False


def _expect_end(run: Any, step: Any, took: float, matched: bool) -> str:
    """How an expect step ended (see the module's docstring)."""
    expectation = step.expectation
    budget = max(run.step_timeout, expectation.min_duration + 0.5)
    connection = run.connection
    if took >= budget - 0.005:
        return "deadline"
    if _has_silence(expectation) and matched and took >= expectation.min_duration - 0.005 and took > 0.05:
        return "silence (by design)"
    if connection is not None and connection.ended:
        return "close"
    return "event"


def install() -> None:
    CaseRun = interpreter.CaseRun  # noqa: N806 - the class
    original_init = CaseRun.__init__

    def init(self: Any, reactor: Any, case: Any, target: Any, options: Any) -> None:
        original_init(self, reactor, case, target, options)
        profile = CaseProfile(target=target.name, case=case.id, start=_now())
        PROFILES.append(profile)
        _BY_RUN[id(self)] = profile

    CaseRun.__init__ = init  # type: ignore[method-assign]

    def timed(name: str, how: Any) -> None:
        original = getattr(CaseRun, name)

        async def wrapper(self: Any, *args: Any) -> Any:
            start = _now()
            ended = "exception"
            try:
                value = await original(self, *args)
                ended = how(self, args, _now() - start, value)
                return value
            finally:
                profile = _BY_RUN.get(id(self))
                if profile is not None:
                    profile.steps.append((name.strip("_"), _now() - start, ended))
                    if name == "settle_closing" or ended == "exception":
                        profile.end = _now()

        setattr(CaseRun, name, wrapper)

    timed("_connect", lambda run, args, took, ok: "opened" if ok else "opening decided the case")
    timed("_send", lambda run, args, took, ok: "written")
    timed("_expect", lambda run, args, took, ok: _expect_end(run, args[1], took, bool(ok)))

    def settle_end(run: Any, args: Any, took: float, value: Any) -> str:
        connection = run.connection
        if took < 0.002:
            return "nothing to wait for"
        if connection is not None and connection.ended:
            return "target closed"
        return "grace ran out"

    timed("settle_closing", settle_end)


def summarise(wall: float) -> None:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        f"\nCPU: this process (the harness) {own.ru_utime + own.ru_stime:.1f} s, its children "
        f"(the reference target) {children.ru_utime + children.ru_stime:.1f} s"
    )
    by_target: dict[str, list[CaseProfile]] = collections.defaultdict(list)
    for profile in PROFILES:
        by_target[profile.target].append(profile)
    print(f"\nwall time of the run: {wall:.1f} s; case runs: {len(PROFILES)}")
    for target, profiles in by_target.items():
        total = sum(max(0.0, p.end - p.start) for p in profiles)
        print(f"\n## {target}: {len(profiles)} case runs, {total:.1f} case-seconds")
        kinds: collections.Counter[str] = collections.Counter()
        ends: collections.Counter[tuple[str, str]] = collections.Counter()
        counts: collections.Counter[tuple[str, str]] = collections.Counter()
        for p in profiles:
            stepped = 0.0
            for kind, took, ended in p.steps:
                kinds[kind] += took
                ends[kind, ended] += took
                counts[kind, ended] += 1
                stepped += took
            kinds["(between steps: wait, pauses)"] += max(0.0, (p.end - p.start) - stepped)
        for kind, seconds in kinds.most_common():
            print(f"  {kind:<32} {seconds:8.1f} s")
        print("  how each step ended:")
        for (kind, ended), seconds in sorted(ends.items(), key=lambda item: -item[1]):
            print(f"    {kind:<16} {ended:<26} {counts[kind, ended]:5d} steps {seconds:8.1f} s")
        slowest = sorted(profiles, key=lambda p: p.start - p.end)[:8]
        print("  slowest cases:")
        for p in slowest:
            detail = ", ".join(f"{k} {t:.2f} s ({e})" for k, t, e in p.steps if t >= 0.05)
            print(f"    {p.end - p.start:6.2f} s  {p.case}  [{detail}]")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write every case's step records here")
    args, rest = parser.parse_known_args()
    install()
    from conformance.cli import main as cli

    with tempfile.TemporaryDirectory(prefix="conformance-profile-") as root:
        start = time.monotonic()
        with contextlib.suppress(SystemExit):  # the run's exit status: not what is measured
            cli.main(["run", "--no-progress", "-o", root, *rest], standalone_mode=False)
        wall = time.monotonic() - start
    summarise(wall)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump([vars(p) for p in PROFILES], out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
