"""Every WebSocket case can fail, and fails for the right reason.

The faulty server (``ws_server.py``) with no fault switched on must PASS every bundled
WebSocket case. With one fault on, exactly the cases listed for that fault in
``ws_fault_map.yaml`` must FAIL (other cases keep their verdict or become NON-STRICT or
UNIMPLEMENTED): a case that no fault can fail is a defect, and so is a fault whose effect
leaks into unrelated cases without the map saying so. After changing cases or faults, review
the differences and regenerate the map with ``CONFORMANCE_UPDATE_FAULT_MAP=1 pytest
tests/faulty``.

All fault configurations run in one server process, as separate targets of one run. Cases
tagged ``heavy`` (messages of many MiB, run one at a time per target) run only against the
correct configuration and the faults in :data:`HEAVY_FAULTS`, those that bear on large
messages: against every fault they would take minutes and gigabytes and show nothing more.
Likewise cases tagged ``deflate-bulk`` (Autobahn's sections 12 and 13: hundreds of compressed
messages each) run against the correct configuration and the permessage-deflate faults
(:data:`BULK_FAULTS`) only.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import ws_server
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
    single_fault_configurations,
)

from conformance.driver.interpreter import RunOptions
from conformance.scenario import bundled_cases_dir
from conformance.scenario.loader import load_cases
from conformance.target import Target
from conformance.verdicts.verdict import Requirement, Verdict

MAP = FaultMap(Path(__file__).with_name("ws_fault_map.yaml"), "WebSocket")
#: The faults the heavy cases run against (see the module's docstring).
HEAVY_FAULTS = ("masked-replies", "truncate-large", "no-reassembly")
#: The faults the deflate-bulk cases run against: those of permessage-deflate's messages.
BULK_FAULTS = tuple(
    fault
    for fault in ws_server.FAULTS
    if fault.startswith("deflate-") and fault != "deflate-invalid-offer-accepted"
)


@pytest.fixture(scope="module")
def ws_cases():  # type: ignore[no-untyped-def]
    # The RFC 8441 cases (WebSocket over HTTP/2) are SKIPPED against ws:// targets; they are
    # proven by test_ws_h2_faults.py.
    return [
        case
        for case in load_cases([bundled_cases_dir()])
        if case.protocol == "ws" and not case.id.startswith("ws/8441/")
    ]


@pytest.fixture(scope="module")
def confirmed(reactor_thread, ws_cases) -> Matrix:  # type: ignore[no-untyped-def]
    configurations = single_fault_configurations(ws_server.FAULTS)
    with matrix_ports(Path(ws_server.__file__), configurations) as ports:
        targets = [Target.parse(f"{name}=ws://127.0.0.1:{port}/") for name, port in ports.items()]
        options = RunOptions(timeout=2.0, retry_budget=0)
        light = [case for case in ws_cases if not {"heavy", "deflate-bulk"} & set(case.tags)]
        heavy = [case for case in ws_cases if "heavy" in case.tags]
        bulk = [case for case in ws_cases if "deflate-bulk" in case.tags]
        expected = MAP.expected()

        def among(faults: tuple[str, ...]) -> MappedRuns:  # each case under one of these faults
            return MappedRuns(reactor_thread, {fault: expected.get(fault, set()) for fault in faults})

        first = run_confirmed(MappedRuns(reactor_thread, expected), light, targets, options, expected)
        chosen = [t for t in targets if t.name in (CORRECT, *HEAVY_FAULTS)]
        second = run_confirmed(among(HEAVY_FAULTS), heavy, chosen, options, expected, jobs=16)
        chosen = [t for t in targets if t.name in (CORRECT, *BULK_FAULTS)]
        third = run_confirmed(among(BULK_FAULTS), bulk, chosen, options, expected, jobs=32)
        return first.merged(second).merged(third)


@pytest.fixture(scope="module")
def matrix(confirmed) -> dict[str, dict[str, Verdict]]:  # type: ignore[no-untyped-def]
    return confirmed.verdicts


@pytest.fixture(scope="module")
def observed(matrix) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return {fault: failing(matrix[fault]) for fault in ws_server.FAULTS}


def informational(cases) -> set[str]:  # type: ignore[no-untyped-def]
    """Cases at requirement INFO: recorded as INFORMATIONAL whatever the server does."""
    return {case.id for case in cases if case.requirement is Requirement.INFO}


def test_the_correct_server_passes_every_case(matrix, ws_cases):  # type: ignore[no-untyped-def]
    info = informational(ws_cases)
    not_passed = {
        case_id: v.value
        for case_id, v in matrix[CORRECT].items()
        if v is not (Verdict.INFORMATIONAL if case_id in info else Verdict.PASS)
    }
    assert not_passed == {}


def test_each_fault_fails_exactly_its_mapped_cases(observed, confirmed):  # type: ignore[no-untyped-def]
    assert MAP.differences(observed, confirmed.ran) == {}


def test_every_fault_fails_some_case(observed):  # type: ignore[no-untyped-def]
    assert [fault for fault, cases in observed.items() if not cases] == []


def test_every_case_fails_under_some_fault(observed, ws_cases):  # type: ignore[no-untyped-def]
    # INFO cases never FAIL, by definition
    assert never_failed(observed, (case.id for case in ws_cases), informational(ws_cases)) == []


def test_no_fault_makes_the_harness_error(confirmed):  # type: ignore[no-untyped-def]
    assert harness_errors(confirmed.results, confirmed.verdicts) == {}
