"""Every WebSocket client case can fail, and fails for the right reason (client mode).

The faulty client (``ws_client.py``) with no fault must PASS every bundled WebSocket client
case, and so must the reference client (``conformance.clients.ws``). With one fault on, exactly
the cases listed for that fault in ``ws_client_fault_map.yaml`` must FAIL. Regenerate the map
with ``CONFORMANCE_UPDATE_FAULT_MAP=1 pytest tests/faulty/test_ws_client_faults.py``.

The runner, the client targets and the checks are the HTTP/1.1 client matrix's
(``test_h1_client_faults``); only the client, the suite and the map differ.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
import ws_client
from fault_matrix import CORRECT, FaultMap, Matrix, failing, harness_errors, never_failed, run_confirmed
from test_h1_client_faults import REFERENCE, _ClientRuns

from conformance.client_cli import client_cases_dir, reference_command
from conformance.driver import client_process, client_role
from conformance.driver.client_role import ClientTarget, parse_client
from conformance.driver.interpreter import RunOptions
from conformance.scenario.loader import load_cases
from conformance.verdicts.verdict import Requirement, Verdict

MAP = FaultMap(Path(__file__).with_name("ws_client_fault_map.yaml"), "WebSocket client")


def faulty(name: str, faults: tuple[str, ...]) -> ClientTarget:
    switches = " ".join(f"--fault {fault}" for fault in faults)
    command = f"{shlex.quote(sys.executable)} {shlex.quote(ws_client.__file__)} {switches} {{url}}"
    return ClientTarget(name=name, command=command, suites=("ws",))


@pytest.fixture(scope="module")
def cases():  # type: ignore[no-untyped-def]
    return load_cases([client_cases_dir() / "ws"], role="client")


@pytest.fixture(scope="module")
def matrix(reactor_thread, cases) -> Any:  # type: ignore[no-untyped-def]
    saved = client_role.START_GRACE
    client_role.START_GRACE = 3.0  # a hanging client decides nothing more after 3 s than 10
    try:
        targets = [faulty(CORRECT, ()), *(faulty(fault, (fault,)) for fault in ws_client.FAULTS)]
        targets.append(
            parse_client(reference_command("ws").replace("reference-client=", f"{REFERENCE}="), "ws")
        )
        options = RunOptions(timeout=2.0, retry_budget=0)
        expected = MAP.expected()
        return run_confirmed(_ClientRuns(reactor_thread, expected), cases, targets, options, expected, jobs=16)
    finally:
        client_role.START_GRACE = saved


@pytest.fixture(scope="module")
def observed(matrix: Matrix) -> dict[str, list[str]]:
    return {fault: failing(matrix.verdicts[fault]) for fault in ws_client.FAULTS}


def test_the_correct_client_and_the_reference_client_pass_every_case(matrix: Matrix, cases) -> None:  # type: ignore[no-untyped-def]
    info = {case.id for case in cases if case.requirement is Requirement.INFO}
    for name in (CORRECT, REFERENCE):
        not_passed = {
            case_id: v.value
            for case_id, v in matrix.verdicts[name].items()
            if v is not (Verdict.INFORMATIONAL if case_id in info else Verdict.PASS)
        }
        assert not_passed == {}, name


def test_each_fault_fails_exactly_its_mapped_cases(observed) -> None:  # type: ignore[no-untyped-def]
    assert MAP.differences(observed) == {}


def test_every_fault_fails_some_case(observed) -> None:  # type: ignore[no-untyped-def]
    assert [fault for fault, failed in observed.items() if not failed] == []


def test_every_case_fails_under_some_fault(observed, cases) -> None:  # type: ignore[no-untyped-def]
    info = {case.id for case in cases if case.requirement is Requirement.INFO}
    assert never_failed(observed, (case.id for case in cases), info) == []


def test_no_fault_makes_the_harness_error(matrix: Matrix) -> None:
    assert harness_errors(matrix.results, matrix.verdicts) == {}


def test_no_client_process_is_left_behind(matrix: Matrix) -> None:
    assert client_process.live_count() == 0
