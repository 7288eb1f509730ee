"""What the faulty servers and their fault-matrix tests share.

Each faulty server (``h1_server.py``, ``h2_server.py``, ``ws_server.py``) switches single
rules of its protocol wrong; its test runs every case of the protocol against the correct
configuration and against each single fault, and checks the result against a committed map
of fault -> the cases it makes FAIL. The servers' command line (:func:`serve`) and the
checks on a finished matrix (:class:`FaultMap`, :func:`failing`, :func:`harness_errors`)
live here once.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CORRECT = "correct"
UPDATE = os.environ.get("CONFORMANCE_UPDATE_FAULT_MAP") == "1"
#: Every fault against every case (rewriting the map needs it); otherwise a fault runs only
#: the cases its map lists (:class:`MappedRuns`).
FULL_MATRIX = UPDATE or os.environ.get("CONFORMANCE_FULL_FAULT_MATRIX") == "1"


# -- the servers' command line ---------------------------------------------------------------


def check_faults(faults: Iterable[str], known: Iterable[str]) -> frozenset[str]:
    """``faults`` as a set, or a ValueError naming those not ``known``."""
    chosen, known = frozenset(faults), sorted(known)
    unknown = sorted(chosen - set(known))
    if unknown:
        raise ValueError(f"unknown fault(s): {', '.join(unknown)}; known: {', '.join(known)}")
    return chosen


def factory(build: Callable[[], Any]) -> Any:
    """A Twisted protocol factory that makes each connection's protocol with ``build()``."""
    from twisted.internet import protocol

    class Factory(protocol.Factory):
        noisy = False

        def buildProtocol(self, addr: Any) -> Any:  # noqa: N802
            made = build()
            made.factory = self
            return made

    return Factory()


def listen_tcp(reactor: Any, build: Callable[[], Any], *, host: str, port: int, backlog: int = 1024) -> Any:
    """Listen on ``host:port`` (0: a free port) with a protocol from ``build()`` per connection.
    A deep accept queue: the fault matrix puts dozens of cases in flight against one port, and
    a SYN dropped from a full queue comes back only after a second or more, which the case
    would blame on the server."""
    return reactor.listenTCP(port, factory(build), backlog=backlog, interface=host)


def single_fault_configurations(faults: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The correct configuration and one configuration per fault, named after it."""
    return {CORRECT: (), **{fault: (fault,) for fault in faults}}


def serve(
    argv: list[str] | None,
    *,
    description: str,
    faults: Mapping[str, str],
    listen: Callable[..., Any],
    label: str,
    url: str,
    default_port: int,
    configurations: Mapping[str, tuple[str, ...]] | None = None,
) -> int:
    """The command line of a faulty server: one configuration in the foreground, ``--matrix``
    (every configuration on a free port, the ports printed as one JSON line once listening)
    or ``--list-faults``. ``listen(reactor, faults, host=..., port=...)`` starts one
    configuration; the banner names the server (``label``) and its ``url``, a format string
    of ``host`` and ``port``."""
    parser = argparse.ArgumentParser(description=description.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--fault", action="append", default=[], choices=sorted(faults), metavar="NAME")
    parser.add_argument("--list-faults", action="store_true", help="print the faults and exit")
    parser.add_argument(
        "--matrix",
        action="store_true",
        help="serve the correct configuration and each single fault, each on a free port; print "
        'one JSON line {"correct": port, fault: port, ...} once listening',
    )
    args = parser.parse_args(argv)
    if args.list_faults:
        width = max(map(len, faults)) + 2
        for name, what in faults.items():
            print(f"{name:{width}} {what}")
        return 0
    from twisted.internet import reactor

    if args.matrix:
        chosen = configurations if configurations is not None else single_fault_configurations(faults)
        ports = {
            name: listen(reactor, on, host=args.host, port=0).getHost().port for name, on in chosen.items()
        }
        print(json.dumps(ports), flush=True)
    else:
        address = listen(reactor, args.fault, host=args.host, port=args.port).getHost()
        on = ", ".join(args.fault) or "none"
        print(f"{label} on {url.format(host=address.host, port=address.port)} (faults: {on})", flush=True)
    reactor.run()  # type: ignore[attr-defined]
    return 0


@contextlib.contextmanager
def matrix_ports(server: Path, configurations: Iterable[str]) -> Iterator[dict[str, int]]:
    """Start ``server --matrix`` in a process of its own and yield its ports; stop it after.

    A process of its own: sharing the test's reactor, a server busy with hundreds of
    connections could delay a FIN past a case's silence window."""
    process = subprocess.Popen(
        [sys.executable, str(server), "--matrix"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        ports: dict[str, int] = json.loads(process.stdout.readline())
        assert set(ports) == set(configurations)
        yield ports
    finally:
        process.terminate()
        process.wait(timeout=10)


# -- running and judging a matrix ------------------------------------------------------------


@dataclass(frozen=True)
class Matrix:
    """Every case's verdict against the correct configurations and each single fault."""

    results: Any  # the concurrent run (RunResults: for its transcripts and errors)
    verdicts: dict[str, dict[str, Any]]  # target -> case id -> verdict, after confirmation
    confirmed: dict[str, list[str]]  # target -> case ids whose verdict was run a second time
    ran: Mapping[str, set[str]] | None = None  # fault -> the case ids run (None: every one)

    def merged(self, other: Matrix) -> Matrix:
        """This matrix and ``other`` (more cases, against some of the same targets) as one."""
        extra = {target.name: target.cases for target in other.results.targets}
        results = dataclasses.replace(
            self.results,
            targets=tuple(
                dataclasses.replace(target, cases=target.cases + extra.get(target.name, ()))
                for target in self.results.targets
            ),
        )
        verdicts = {name: {**found, **other.verdicts.get(name, {})} for name, found in self.verdicts.items()}
        confirmed = {
            name: self.confirmed.get(name, []) + other.confirmed.get(name, [])
            for name in self.confirmed.keys() | other.confirmed.keys()
        }
        ran = None
        if self.ran is not None or other.ran is not None:
            mine, theirs = self.ran or {}, other.ran or {}
            ran = {
                fault: mine.get(fault, set()) | theirs.get(fault, set())
                for fault in mine.keys() | theirs.keys()
            }
        return Matrix(results=results, verdicts=verdicts, confirmed=confirmed, ran=ran)


def cover_once(expected: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """Each mapped case under one fault that FAILs it (the fault of fewest cases: the most
    specific), and each fault on at least one of its cases: fault -> the cases it runs."""
    size = {fault: len(case_ids) for fault, case_ids in expected.items()}
    owner: dict[str, str] = {}
    for fault in sorted(expected, key=lambda f: (size[f], f)):
        for case_id in expected[fault]:
            owner.setdefault(case_id, fault)
    runs: dict[str, set[str]] = {fault: set() for fault in expected}
    for case_id, fault in owner.items():
        runs[fault].add(case_id)
    for fault, case_ids in expected.items():
        if case_ids and not runs[fault]:
            runs[fault].add(min(case_ids))
    return runs


class MappedRuns:
    """A reactor thread's ``run`` for a fault matrix: each case runs under one fault that its
    map says FAILs it (:func:`cover_once`), and every fault on at least one case, the other
    pairs SKIPPED unrun, unless the whole matrix is asked for (:data:`FULL_MATRIX`); the
    correct configurations (and any target the map does not name: a new fault, a reference
    client) run every case. ``only`` (fault -> case ids run) says which pairs ran.

    Every case against every fault is tens of thousands of case runs (the WebSocket suite's
    44 faults × 600 cases), most of them PASSing a fault that has nothing to do with them, and
    a client matrix starts a process for each: minutes of every test run. What the matrix is
    for stays: every case FAILs under a fault, every fault FAILs the cases it ran, and the
    correct configurations PASS everything. What only the whole matrix shows is a fault that
    now FAILs a case it did not before, or no longer FAILs one it was not run on: run it when
    changing cases or faults (``CONFORMANCE_FULL_FAULT_MATRIX=1``, or
    ``CONFORMANCE_UPDATE_FAULT_MAP=1``)."""

    def __init__(self, reactor_thread: Any, expected: Mapping[str, set[str]], run_one: Any = None) -> None:
        from conformance.driver.interpreter import run_case

        self.thread = reactor_thread
        self.expected = expected
        self.only = None if FULL_MATRIX else cover_once(expected)
        self.run_one = run_one or run_case

    def plan(self, case_ids: set[str]) -> dict[str, set[str]] | None:
        """Which cases each fault runs in a run of ``case_ids`` (None: all of them)."""
        if FULL_MATRIX:
            return None
        self.only = cover_once({fault: ids & case_ids for fault, ids in self.expected.items()})
        return self.only

    def run(
        self,
        cases: Any,
        targets: Any,
        options: Any,
        *,
        jobs: int | None = None,
        heavy_jobs: int | None = None,
    ) -> Any:
        from conformance.driver.runner import run_suite

        thread = self.thread
        return thread.call(
            run_suite,
            thread.reactor,
            cases,
            targets,
            options,
            jobs=jobs,
            heavy_jobs=heavy_jobs,
            run_one=self._run_one,
        )

    async def _run_one(self, reactor: Any, case: Any, target: Any, options: Any) -> Any:
        from conformance.driver.interpreter import CaseOutcome
        from conformance.verdicts.judge import skipped

        if self.only is not None and target.name in self.only and case.id not in self.only[target.name]:
            return CaseOutcome(
                result=skipped(case, "not run under this fault (fault_matrix.MappedRuns)"),
                connected=False,
                answered=False,
                waited_out=False,
            )
        return await self.run_one(reactor, case, target, options)


def run_confirmed(
    reactor_thread: Any,
    cases: list[Any],
    targets: list[Any],
    options: Any,
    expected: Mapping[str, set[str]],
    *,
    jobs: int = 64,
    heavy_jobs: int | None = None,
    correct: Iterable[str] = ("PASS",),
) -> Matrix:
    """One concurrent run of ``cases`` against ``targets``, then a second look at the suspects.

    With thousands of connections in one run on a busy machine, a starved process can miss a
    deadline; so a verdict that differs from what ``expected`` (fault -> failing case ids)
    says, or an ERROR, is run again at low concurrency, and that second verdict is the one
    judged. Against a correct configuration (named ``correct...``) the suspects are verdicts
    other than those in ``correct``. A real change shows in both runs. ``heavy_jobs``: the
    big-message cases in flight per target in the first run (default: one, as in a user's)."""
    from conformance.verdicts.verdict import Verdict

    settled = {Verdict(value) for value in correct}
    plan = getattr(reactor_thread, "plan", None)  # MappedRuns: fault -> the cases it runs
    ran = None if plan is None else plan({case.id for case in cases})
    if ran is not None:
        expected = {
            fault: set(case_ids) & ran.get(fault, set(case_ids)) for fault, case_ids in expected.items()
        }
    results = reactor_thread.run(cases, targets, options, jobs=jobs, heavy_jobs=heavy_jobs)
    found = verdicts_by_target(results)
    by_id = {case.id: case for case in cases}
    by_name = {target.name: target for target in targets}
    confirmed: dict[str, list[str]] = {}
    for name, case_verdicts in found.items():
        if name.startswith(CORRECT):
            suspects = sorted(case_id for case_id, v in case_verdicts.items() if v not in settled)
        else:
            failing_now = set(failing(case_verdicts))
            errors = {case_id for case_id, v in case_verdicts.items() if v is Verdict.ERROR}
            suspects = sorted((failing_now ^ (set(expected.get(name, ())) & by_id.keys())) | errors)
        if not suspects:
            continue
        rerun = reactor_thread.run([by_id[c] for c in suspects], [by_name[name]], options, jobs=4)
        for case in rerun.targets[0].cases:
            case_verdicts[case.id] = case.verdict
        confirmed[name] = suspects
    return Matrix(results=results, verdicts=found, confirmed=confirmed, ran=ran)


def verdicts_by_target(results: Any) -> dict[str, dict[str, Any]]:
    """target name -> case id -> verdict, from a :class:`~conformance.results.RunResults`."""
    return {target.name: {case.id: case.verdict for case in target.cases} for target in results.targets}


def failing(verdicts: Mapping[str, Any]) -> list[str]:
    """The case ids whose verdict is FAIL, sorted."""
    from conformance.verdicts.verdict import Verdict

    return sorted(case_id for case_id, verdict in verdicts.items() if verdict is Verdict.FAIL)


def harness_errors(
    results: Any, verdicts: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[tuple[str, str], str]:
    """(target, case id) -> what was observed, for every ERROR; ``verdicts`` (target -> case
    id -> verdict) overrides the run's own, e.g. after re-running suspects."""
    from conformance.verdicts.verdict import Verdict

    return {
        (target.name, case.id): case.observed
        for target in results.targets
        for case in target.cases
        if (verdicts[target.name][case.id] if verdicts is not None else case.verdict) is Verdict.ERROR
    }


@dataclass(frozen=True)
class FaultMap:
    """The committed map of a protocol's faults to the cases they make FAIL."""

    path: Path
    protocol: str  # for the file's header: "HTTP/1.1", "HTTP/2", ...

    def expected(self) -> dict[str, set[str]]:
        known = yaml.safe_load(self.path.read_text(encoding="utf-8")) if self.path.exists() else {}
        return {fault: set(case_ids or ()) for fault, case_ids in (known or {}).items()}

    def differences(
        self, observed: Mapping[str, list[str]], ran: Mapping[str, set[str]] | None = None
    ) -> dict[str, Any]:
        """How ``observed`` (fault -> failing case ids) differs from the map, over the cases
        each fault ran (``ran``; None: all); empty when it agrees. With
        ``CONFORMANCE_UPDATE_FAULT_MAP=1`` the map is rewritten first."""
        if UPDATE:
            self.path.write_text(
                f"# fault -> the {self.protocol} cases it makes FAIL (generated by the fault-matrix test;\n"
                "# review every change: CONFORMANCE_UPDATE_FAULT_MAP=1 pytest tests/faulty)\n"
                + yaml.safe_dump(dict(observed), sort_keys=False, width=110),
                encoding="utf-8",
            )
        expected = self.expected()
        if ran is not None:
            expected = {fault: case_ids & ran.get(fault, case_ids) for fault, case_ids in expected.items()}
        found = {
            fault: {
                "unexpected FAIL": sorted(set(cases) - expected.get(fault, set())),
                "no longer FAILs": sorted(expected.get(fault, set()) - set(cases)),
            }
            for fault, cases in observed.items()
            if set(cases) != expected.get(fault, set())
        }
        extra = sorted(expected.keys() - observed.keys())
        return {**found, **({"faults in the map that do not exist": extra} if extra else {})}


def never_failed(
    observed: Mapping[str, list[str]], case_ids: Iterable[str], exempt: Iterable[str] = ()
) -> list[str]:
    """The cases no fault made FAIL (``exempt``: those that cannot FAIL by definition)."""
    caught = {case_id for cases in observed.values() for case_id in cases} | set(exempt)
    return sorted(set(case_ids) - caught)
