"""Every HTTP/1.1 case can fail, and fails for the right reason.

The faulty server (``h1_server.py``) with no fault switched on must PASS every bundled
HTTP/1.1 case. With one fault on, exactly the cases listed for that fault in
``h1_fault_map.yaml`` must FAIL and every other case must keep its verdict: a case that no
fault can fail is a defect, and so is a fault whose effect leaks into unrelated cases without
the map saying so (the latter only in the whole matrix, ``CONFORMANCE_FULL_FAULT_MATRIX=1``:
otherwise a fault runs only its mapped cases, see ``fault_matrix.MappedRuns``). After changing
cases or faults, review the differences and regenerate the map with
``CONFORMANCE_UPDATE_FAULT_MAP=1 pytest tests/faulty``.

All fault configurations run in one server process, as separate targets of one concurrent
run, so the whole matrix takes seconds, not minutes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import h1_server
import pytest
from fault_matrix import (
    CORRECT,
    FaultMap,
    MappedRuns,
    Matrix,
    failing,
    harness_errors,
    matrix_ports,
    never_failed,
    run_confirmed,
)

from conformance.driver.interpreter import RunOptions
from conformance.scenario import bundled_cases_dir
from conformance.scenario.loader import load_cases
from conformance.target import Target
from conformance.verdicts.profiles import GENERIC_400
from conformance.verdicts.verdict import Requirement, Verdict

MAP = FaultMap(Path(__file__).with_name("h1_fault_map.yaml"), "HTTP/1.1")


@pytest.fixture(scope="module")
def h1_cases():  # type: ignore[no-untyped-def]
    return [case for case in load_cases([bundled_cases_dir()]) if case.protocol == "h1"]


@pytest.fixture(scope="module")
def ports() -> Iterator[dict[str, int]]:
    """The correct server and each single fault, listening in a process of their own."""
    with matrix_ports(Path(h1_server.__file__), {CORRECT, *h1_server.FAULTS}) as listening:
        yield listening


@pytest.fixture(scope="module")
def matrix(reactor_thread, h1_cases, ports) -> Matrix:  # type: ignore[no-untyped-def]
    """Every case against the correct server and against each single fault. Every target
    serves the echo contract at /echo, so the echo cases run too."""
    options = RunOptions(timeout=1.5, retry_budget=0, echo_path="/echo")
    settled = ("PASS", "INFORMATIONAL")
    expected = MAP.expected()
    runs = MappedRuns(reactor_thread, expected)
    return run_confirmed(runs, h1_cases, http_targets(ports), options, expected, correct=settled)


def http_targets(ports: dict[str, int]) -> list[Target]:
    return [Target.parse(f"{name}=http://127.0.0.1:{port}/") for name, port in ports.items()]


def verdicts(matrix: Matrix, target: str) -> dict[str, Verdict]:
    return matrix.verdicts[target]


@pytest.fixture(scope="module")
def observed(matrix) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return {fault: failing(matrix.verdicts[fault]) for fault in h1_server.FAULTS}


def informational(cases) -> set[str]:  # type: ignore[no-untyped-def]
    """Cases at requirement INFO (the RFC leaves the server free): recorded as
    INFORMATIONAL whatever the server does, so they never FAIL."""
    return {case.id for case in cases if case.requirement is Requirement.INFO}


def test_the_correct_server_passes_every_case(matrix, h1_cases):  # type: ignore[no-untyped-def]
    info = informational(h1_cases)
    not_passed = {
        case_id: v.value
        for case_id, v in verdicts(matrix, CORRECT).items()
        if v is not (Verdict.INFORMATIONAL if case_id in info else Verdict.PASS)
    }
    assert not_passed == {}


def test_each_fault_fails_exactly_its_mapped_cases(observed, matrix):  # type: ignore[no-untyped-def]
    assert MAP.differences(observed, matrix.ran) == {}


def test_every_fault_fails_some_case(observed):  # type: ignore[no-untyped-def]
    assert [fault for fault, cases in observed.items() if not cases] == []


def test_every_case_fails_under_some_fault(observed, h1_cases):  # type: ignore[no-untyped-def]
    # INFO cases never FAIL, by definition
    assert never_failed(observed, (case.id for case in h1_cases), informational(h1_cases)) == []


def test_no_fault_makes_the_harness_error(matrix):  # type: ignore[no-untyped-def]
    assert harness_errors(matrix.results, matrix.verdicts) == {}


def test_the_strict_profile_fails_a_close_where_400_is_asked(reactor_thread, h1_cases, ports):  # type: ignore[no-untyped-def]
    """A server that drops the connection instead of answering 400 is NON-STRICT on the
    generic-400 cases under the default profile, and FAILs exactly those under strict (the
    few it answers otherwise, e.g. by decoding a bare LF as the RFC allows, keep their
    verdict); the correct server still passes them. That strict leaves every other case as
    it is, the unit tests of the profiles show."""
    generic = [case for case in h1_cases if GENERIC_400 in case.tags]
    ids = sorted(case.id for case in generic)
    # The matrix runs a fault only on its mapped cases (FAILs); these are NON-STRICT there.
    pair = {name: ports[name] for name in (CORRECT, "reject-by-closing")}
    default = RunOptions(timeout=1.5, retry_budget=0, echo_path="/echo")
    lenient = run_confirmed(
        reactor_thread, generic, http_targets(pair), default, {"reject-by-closing": set()}
    )
    closing = {case_id: verdicts(lenient, "reject-by-closing")[case_id] for case_id in ids}
    assert set(closing.values()) <= {Verdict.NON_STRICT, Verdict.PASS}
    closed = {case_id for case_id, verdict in closing.items() if verdict is Verdict.NON_STRICT}
    assert len(closed) > 0.9 * len(ids), "the fault closes where almost every generic-400 case asks 400"
    options = RunOptions(timeout=1.5, retry_budget=0, echo_path="/echo", profile="strict")
    strict = run_confirmed(
        reactor_thread, generic, http_targets(pair), options, {"reject-by-closing": closed}
    )
    assert strict.results.profile == "strict"
    assert {k: v for k, v in verdicts(strict, CORRECT).items() if v is not Verdict.PASS} == {}
    expected = {case_id: Verdict.FAIL if case_id in closed else Verdict.PASS for case_id in ids}
    assert verdicts(strict, "reject-by-closing") == expected
    (target,) = [t for t in strict.results.targets if t.name == "reject-by-closing"]
    raised = {(c.requirement, c.declared_requirement) for c in target.cases}
    assert raised == {(Requirement.MUST, Requirement.SHOULD)}
