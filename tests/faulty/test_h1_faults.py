"""Every HTTP/1.1 case can fail, and fails for the right reason.

The faulty server (``h1_server.py``) with no fault switched on must PASS every bundled
HTTP/1.1 case. With one fault on, exactly the cases listed for that fault in
``h1_fault_map.yaml`` must FAIL and every other case must keep its verdict: a case that no
fault can fail is a defect, and so is a fault whose effect leaks into unrelated cases without
the map saying so. After changing cases or faults, review the differences and regenerate the
map with ``CONFORMANCE_UPDATE_FAULT_MAP=1 pytest tests/faulty``.

All fault configurations run in one server process, as separate targets of one concurrent
run, so the whole matrix takes seconds, not minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h1_server
import pytest
import yaml

from conformance.driver.interpreter import RunOptions
from conformance.results import RunResults
from conformance.scenario import bundled_cases_dir
from conformance.scenario.loader import load_cases
from conformance.scenario.model import Case
from conformance.target import Target
from conformance.verdicts.profiles import GENERIC_400
from conformance.verdicts.verdict import Requirement, Verdict

MAP = Path(__file__).with_name("h1_fault_map.yaml")
UPDATE = os.environ.get("CONFORMANCE_UPDATE_FAULT_MAP") == "1"
CORRECT = "correct"


@pytest.fixture(scope="module")
def h1_cases():  # type: ignore[no-untyped-def]
    return [case for case in load_cases([bundled_cases_dir()]) if case.protocol == "h1"]


@pytest.fixture(scope="module")
def ports() -> Iterator[dict[str, int]]:
    """The correct server and each single fault, listening in a process of their own: sharing
    the test's reactor, a server busy with hundreds of connections could delay a FIN past a
    case's silence window."""
    process = subprocess.Popen(
        [sys.executable, str(Path(h1_server.__file__)), "--matrix"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        listening = json.loads(process.stdout.readline())
        assert set(listening) == {CORRECT, *h1_server.FAULTS}
        yield listening
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass(frozen=True)
class Matrix:
    """Every case's verdict against the correct server and each single fault."""

    results: RunResults  # the concurrent run (for its transcripts and errors)
    verdicts: dict[str, dict[str, Verdict]]  # target -> case id -> verdict, after confirmation
    confirmed: dict[str, list[str]]  # target -> case ids whose verdict was re-run alone


def expected_failures() -> dict[str, set[str]]:
    known = yaml.safe_load(MAP.read_text(encoding="utf-8")) if MAP.exists() else {}
    return {fault: set(case_ids or ()) for fault, case_ids in (known or {}).items()}


def run_confirmed(
    reactor_thread,  # type: ignore[no-untyped-def]
    cases: list[Case],
    ports: dict[str, int],
    options: RunOptions,
    expected: dict[str, set[str]],
) -> Matrix:
    """One concurrent run of ``cases`` against each target in ``ports``, then a second look at
    the suspects.

    With tens of thousands of connections in one run, a starved process can miss a deadline;
    so a verdict that differs from what ``expected`` says (for the correct server: anything
    but PASS), or an ERROR, is run again at low concurrency, and that second verdict is the
    one judged. A real change shows in both runs."""
    targets = {name: Target.parse(f"{name}=http://127.0.0.1:{port}/") for name, port in ports.items()}
    results = reactor_thread.run(cases, list(targets.values()), options, jobs=64)
    found = {target.name: {case.id: case.verdict for case in target.cases} for target in results.targets}
    by_id = {case.id: case for case in cases}
    confirmed: dict[str, list[str]] = {}
    for name, case_verdicts in found.items():
        if name == CORRECT:
            suspects = [case_id for case_id, v in case_verdicts.items() if v is not Verdict.PASS]
        else:
            failing_now = {case_id for case_id, v in case_verdicts.items() if v is Verdict.FAIL}
            errors = {case_id for case_id, v in case_verdicts.items() if v is Verdict.ERROR}
            suspects = sorted((failing_now ^ (expected.get(name, set()) & set(by_id))) | errors)
        if not suspects:
            continue
        rerun = reactor_thread.run([by_id[c] for c in suspects], [targets[name]], options, jobs=4)
        for case in rerun.targets[0].cases:
            case_verdicts[case.id] = case.verdict
        confirmed[name] = suspects
    return Matrix(results=results, verdicts=found, confirmed=confirmed)


@pytest.fixture(scope="module")
def matrix(reactor_thread, h1_cases, ports) -> Matrix:  # type: ignore[no-untyped-def]
    """Every case against the correct server and against each single fault. Every target
    serves the echo contract at /echo, so the echo cases run too."""
    options = RunOptions(timeout=1.5, retry_budget=0, echo_path="/echo")
    return run_confirmed(reactor_thread, h1_cases, ports, options, expected_failures())


def verdicts(matrix: Matrix, target: str) -> dict[str, Verdict]:
    return matrix.verdicts[target]


def failing(matrix: Matrix, target: str) -> list[str]:
    return sorted(case_id for case_id, verdict in verdicts(matrix, target).items() if verdict is Verdict.FAIL)


def test_the_correct_server_passes_every_case(matrix):  # type: ignore[no-untyped-def]
    not_passed = {
        case_id: v.value for case_id, v in verdicts(matrix, CORRECT).items() if v is not Verdict.PASS
    }
    assert not_passed == {}


def test_each_fault_fails_exactly_its_mapped_cases(matrix):  # type: ignore[no-untyped-def]
    observed = {fault: failing(matrix, fault) for fault in h1_server.FAULTS}
    if UPDATE:
        MAP.write_text(
            "# fault -> the HTTP/1.1 cases it makes FAIL (generated by tests/faulty/test_h1_faults.py;\n"
            "# review every change: CONFORMANCE_UPDATE_FAULT_MAP=1 pytest tests/faulty)\n"
            + yaml.safe_dump(observed, sort_keys=False, width=110),
            encoding="utf-8",
        )
    expected = yaml.safe_load(MAP.read_text(encoding="utf-8"))
    assert set(expected) == set(h1_server.FAULTS), "every fault is in the map, and only faults are"
    differences = {
        fault: {
            "unexpected FAIL": sorted(set(observed[fault]) - set(expected[fault])),
            "no longer FAILs": sorted(set(expected[fault]) - set(observed[fault])),
        }
        for fault in h1_server.FAULTS
        if set(observed[fault]) != set(expected[fault])
    }
    assert differences == {}


def test_every_fault_fails_some_case(matrix):  # type: ignore[no-untyped-def]
    assert [fault for fault in h1_server.FAULTS if not failing(matrix, fault)] == []


def test_every_case_fails_under_some_fault(matrix, h1_cases):  # type: ignore[no-untyped-def]
    caught = {case_id for fault in h1_server.FAULTS for case_id in failing(matrix, fault)}
    assert sorted(case.id for case in h1_cases if case.id not in caught) == []


def test_no_fault_makes_the_harness_error(matrix):  # type: ignore[no-untyped-def]
    errors = {
        (target.name, case.id): case.observed
        for target in matrix.results.targets
        for case in target.cases
        if matrix.verdicts[target.name][case.id] is Verdict.ERROR
    }
    assert errors == {}


def test_the_strict_profile_fails_a_close_where_400_is_asked(reactor_thread, h1_cases, ports, matrix):  # type: ignore[no-untyped-def]
    """A server that drops the connection instead of answering 400 is NON-STRICT on the
    generic-400 cases under the default profile, and FAILs exactly those under strict (the
    few it answers otherwise, e.g. by decoding a bare LF as the RFC allows, keep their
    verdict); the correct server still passes them. That strict leaves every other case as
    it is, the unit tests of the profiles show."""
    generic = [case for case in h1_cases if GENERIC_400 in case.tags]
    ids = sorted(case.id for case in generic)
    closing = {case_id: verdicts(matrix, "reject-by-closing")[case_id] for case_id in ids}
    assert set(closing.values()) <= {Verdict.NON_STRICT, Verdict.PASS}
    closed = {case_id for case_id, verdict in closing.items() if verdict is Verdict.NON_STRICT}
    assert len(closed) > 0.9 * len(ids), "the fault closes where almost every generic-400 case asks 400"
    options = RunOptions(timeout=1.5, retry_budget=0, echo_path="/echo", profile="strict")
    pair = {name: ports[name] for name in (CORRECT, "reject-by-closing")}
    strict = run_confirmed(reactor_thread, generic, pair, options, {"reject-by-closing": closed})
    assert strict.results.profile == "strict"
    assert {k: v for k, v in verdicts(strict, CORRECT).items() if v is not Verdict.PASS} == {}
    expected = {case_id: Verdict.FAIL if case_id in closed else Verdict.PASS for case_id in ids}
    assert verdicts(strict, "reject-by-closing") == expected
    (target,) = [t for t in strict.results.targets if t.name == "reject-by-closing"]
    raised = {(c.requirement, c.declared_requirement) for c in target.cases}
    assert raised == {(Requirement.MUST, Requirement.SHOULD)}
