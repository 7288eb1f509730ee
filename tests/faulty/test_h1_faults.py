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

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import h1_server
import pytest
import yaml

from conformance.driver.interpreter import RunOptions
from conformance.results import RunResults
from conformance.scenario import bundled_cases_dir
from conformance.scenario.loader import load_cases
from conformance.target import Target
from conformance.verdicts.verdict import Verdict

MAP = Path(__file__).with_name("h1_fault_map.yaml")
UPDATE = os.environ.get("CONFORMANCE_UPDATE_FAULT_MAP") == "1"
CORRECT = "correct"


@pytest.fixture(scope="module")
def h1_cases():  # type: ignore[no-untyped-def]
    return [case for case in load_cases([bundled_cases_dir()]) if case.protocol == "h1"]


@pytest.fixture(scope="module")
def matrix(reactor_thread, h1_cases) -> Iterator[RunResults]:  # type: ignore[no-untyped-def]
    """One run of every case against the correct server and against each single fault.

    The servers run in a process of their own: sharing the test's reactor, a server busy
    with hundreds of connections could delay a FIN past a case's silence window."""
    process = subprocess.Popen(
        [sys.executable, str(Path(h1_server.__file__)), "--matrix"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        ports = json.loads(process.stdout.readline())
        assert set(ports) == {CORRECT, *h1_server.FAULTS}
        targets = [Target.parse(f"{name}=http://127.0.0.1:{port}/") for name, port in ports.items()]
        options = RunOptions(timeout=1.5, retry_budget=0)
        results = reactor_thread.run(h1_cases, targets, options, jobs=64)
        yield second_opinion(reactor_thread, results, h1_cases, targets, options)
    finally:
        process.terminate()
        process.wait(timeout=10)


def second_opinion(  # type: ignore[no-untyped-def]
    reactor_thread, results: RunResults, cases, targets: list[Target], options: RunOptions
) -> RunResults:
    """Run again, a few at a time, every case whose verdict disagrees with the map, ended in
    ERROR, or is not PASS against the correct server, and keep the second verdict.

    Thousands of connections at once on a shared 2-core machine can delay a response or a
    FIN past a 1.5 s deadline through no fault of the server. A fault that really breaks a
    case breaks it on the quiet second run too, so this loosens nothing; it only keeps the
    map from recording (or the test from reporting) the load of the moment."""
    expected = yaml.safe_load(MAP.read_text(encoding="utf-8")) or {}
    by_id = {case.id: case for case in cases}
    again: dict[str, list[str]] = {}
    for target in results.targets:
        mapped = set(expected.get(target.name) or [])
        for case in target.cases:
            if target.name == CORRECT:
                odd = case.verdict is not Verdict.PASS
            else:
                odd = (case.verdict is Verdict.FAIL) != (case.id in mapped) or case.verdict is Verdict.ERROR
            if odd:
                again.setdefault(target.name, []).append(case.id)
    if not again:
        return results
    chosen = [target for target in targets if target.name in again]
    retried = {
        target.name: {
            case.id: case
            for case in reactor_thread.run(
                [by_id[case_id] for case_id in again[target.name]], [target], options, jobs=4
            )
            .targets[0]
            .cases
        }
        for target in chosen
    }
    return dataclasses.replace(
        results,
        targets=tuple(
            dataclasses.replace(
                target,
                cases=tuple(retried.get(target.name, {}).get(case.id, case) for case in target.cases),
            )
            for target in results.targets
        ),
    )


def verdicts(results: RunResults, target: str) -> dict[str, Verdict]:
    (found,) = [t for t in results.targets if t.name == target]
    return {case.id: case.verdict for case in found.cases}


def failing(results: RunResults, target: str) -> list[str]:
    return sorted(
        case_id for case_id, verdict in verdicts(results, target).items() if verdict is Verdict.FAIL
    )


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
        for target in matrix.targets
        for case in target.cases
        if case.verdict is Verdict.ERROR
    }
    assert errors == {}
