"""Every HTTP/2 case can fail, and fails for the right reason.

The faulty server (``h2_server.py``) with no fault switched on must PASS every bundled
HTTP/2 case — or, for a case about an optional feature, PASS in the correct configuration
that has the feature and be UNIMPLEMENTED in the one without it. With one fault on, exactly the cases listed for that fault in
``h2_fault_map.yaml`` must FAIL and every other case must keep its verdict: a case that no
fault can fail is a defect, and so is a fault whose effect leaks into unrelated cases without
the map saying so (the latter only in the whole matrix, ``CONFORMANCE_FULL_FAULT_MATRIX=1``:
otherwise a fault runs only its mapped cases, see ``fault_matrix.MappedRuns``). After changing
cases or faults, review the differences and regenerate the map with
``CONFORMANCE_UPDATE_FAULT_MAP=1 pytest tests/faulty``.

All fault configurations run in one server process, as separate targets of one concurrent
run, so the whole matrix takes seconds, not minutes.
"""

from __future__ import annotations

from pathlib import Path

import h2_server
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
from conformance.verdicts.verdict import Requirement, Verdict

pytestmark = pytest.mark.slow  # about 250 cases against 100 configurations: a minute or two

MAP = FaultMap(Path(__file__).with_name("h2_fault_map.yaml"), "HTTP/2")
CORRECT_CONFIGURATIONS = [name for name in h2_server.CONFIGURATIONS if name.startswith(CORRECT)]


@pytest.fixture(scope="module")
def h2_cases():  # type: ignore[no-untyped-def]
    return [case for case in load_cases([bundled_cases_dir()]) if case.protocol == "h2"]


@pytest.fixture(scope="module")
def confirmed(reactor_thread, h2_cases) -> Matrix:  # type: ignore[no-untyped-def]
    """One run of every case against the correct configurations and each single fault."""
    with matrix_ports(Path(h2_server.__file__), h2_server.CONFIGURATIONS) as ports:
        targets = [Target.parse(f"{name}=h2c://127.0.0.1:{port}/") for name, port in ports.items()]
        # Every configuration serves the echo contract (the flow-control and frame-size
        # cases need it); a verdict that disagrees with the map is confirmed by a second run.
        options = RunOptions(timeout=3.0, retry_budget=0, echo_path="/echo")
        settled = ("PASS", "UNIMPLEMENTED", "INFORMATIONAL")
        expected = MAP.expected()
        return run_confirmed(
            MappedRuns(reactor_thread, expected), h2_cases, targets, options, expected, correct=settled
        )


@pytest.fixture(scope="module")
def matrix(confirmed) -> dict[str, dict[str, Verdict]]:  # type: ignore[no-untyped-def]
    return confirmed.verdicts


@pytest.fixture(scope="module")
def observed(matrix) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return {fault: failing(matrix[fault]) for fault in h2_server.FAULTS}


def informational(cases) -> set[str]:  # type: ignore[no-untyped-def]
    """Cases at requirement INFO: recorded as INFORMATIONAL whatever the server does."""
    return {case.id for case in cases if case.requirement is Requirement.INFO}


def test_the_correct_server_passes_every_case(matrix, h2_cases):  # type: ignore[no-untyped-def]
    """Every case PASSes in some correct configuration, and in the others it PASSes or finds
    the optional feature it is about missing (UNIMPLEMENTED); INFO cases are INFORMATIONAL."""
    info = informational(h2_cases)
    wrong = {}
    for case in h2_cases:
        seen = {name: matrix[name][case.id] for name in CORRECT_CONFIGURATIONS}
        if case.id in info:
            ok = all(v is Verdict.INFORMATIONAL for v in seen.values())
        else:
            ok = Verdict.PASS in seen.values() and set(seen.values()) <= {Verdict.PASS, Verdict.UNIMPLEMENTED}
        if not ok:
            wrong[case.id] = {name: v.value for name, v in seen.items()}
    assert wrong == {}


def test_each_fault_fails_exactly_its_mapped_cases(observed, confirmed):  # type: ignore[no-untyped-def]
    assert MAP.differences(observed, confirmed.ran) == {}


def test_every_fault_fails_some_case(observed):  # type: ignore[no-untyped-def]
    assert [fault for fault, cases in observed.items() if not cases] == []


def test_every_case_fails_under_some_fault(observed, h2_cases):  # type: ignore[no-untyped-def]
    # INFO cases never FAIL, by definition
    assert never_failed(observed, (case.id for case in h2_cases), informational(h2_cases)) == []


def test_no_fault_makes_the_harness_error(confirmed):  # type: ignore[no-untyped-def]
    assert harness_errors(confirmed.results, confirmed.verdicts) == {}
