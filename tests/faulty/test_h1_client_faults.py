"""Every HTTP/1.1 client case can fail, and fails for the right reason (client mode).

The faulty client (``h1_client.py``) with no fault must PASS every bundled client case, and so
must the reference client (``conformance.clients.h1``). With one fault on, exactly the cases
listed for that fault in ``h1_client_fault_map.yaml`` must FAIL: a case that no fault can
fail is a defect. After changing cases or faults, review the differences and regenerate the
map with ``CONFORMANCE_UPDATE_FAULT_MAP=1 pytest tests/faulty/test_h1_client_faults.py``.

Every configuration is a client of one concurrent run: each case starts one client process
per configuration (about 2 300 short processes), a few minutes on a busy machine.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Any

import h1_client
import pytest
from fault_matrix import (
    CORRECT,
    UPDATE,
    FaultMap,
    Matrix,
    failing,
    harness_errors,
    never_failed,
    run_confirmed,
)

from conformance.client_cli import client_cases_dir, reference_command
from conformance.driver import client_process, client_role
from conformance.driver.client_role import ClientTarget, parse_client, run_client_case
from conformance.driver.interpreter import CaseOutcome, RunOptions
from conformance.scenario.loader import load_cases
from conformance.verdicts.judge import skipped
from conformance.verdicts.verdict import Requirement, Verdict

MAP = FaultMap(Path(__file__).with_name("h1_client_fault_map.yaml"), "HTTP/1.1 client")
#: Run every case against every faulty client (see _ClientRuns).
FULL_MATRIX = UPDATE or os.environ.get("CONFORMANCE_FULL_FAULT_MATRIX") == "1"
REFERENCE = "reference"


class _ClientRuns:
    """``run_confirmed``'s runner, with clients for targets.

    Every case starts a client process per configuration, thousands in all: so unless the
    whole matrix is asked for (``CONFORMANCE_UPDATE_FAULT_MAP=1``, or ``FULL_FAULT_MATRIX``),
    a faulty client runs only the cases its map says it FAILs (``expected``), the others
    being SKIPPED unrun; the correct configurations run every case. What that keeps: every
    case still FAILs under its fault, and the correct clients still PASS everything; what it
    drops is noticing that a fault now fails a case it did not before (the full run does)."""

    def __init__(self, reactor_thread: Any, expected: dict[str, set[str]] | None = None) -> None:
        self.thread = reactor_thread
        self.only = None if FULL_MATRIX else expected

    def run(self, cases: Any, targets: Any, options: Any, *, jobs: int | None = None) -> Any:
        from conformance.driver.runner import run_suite

        thread = self.thread
        return thread.call(
            run_suite, thread.reactor, cases, targets, options, jobs=jobs, run_one=self._run_one
        )

    async def _run_one(self, reactor: Any, case: Any, target: Any, options: Any) -> CaseOutcome:
        if self.only is not None and target.name in self.only and case.id not in self.only[target.name]:
            return CaseOutcome(
                result=skipped(case, "not in this fault's map: not run"),
                connected=False,
                answered=False,
                waited_out=False,
            )
        return await run_client_case(reactor, case, target, options)


def faulty(name: str, faults: tuple[str, ...]) -> ClientTarget:
    switches = " ".join(f"--fault {fault}" for fault in faults)
    command = f"{shlex.quote(sys.executable)} {shlex.quote(h1_client.__file__)} {switches} {{url}}"
    return ClientTarget(name=name, command=command, suites=("h1",))


@pytest.fixture(scope="module")
def cases():  # type: ignore[no-untyped-def]
    return load_cases([client_cases_dir() / "h1"], role="client")


@pytest.fixture(scope="module")
def matrix(reactor_thread, cases) -> Any:  # type: ignore[no-untyped-def]
    # A client that hangs is ended after 3 s here (10 s in a real run): the faults that hang
    # are many, and a process that never exits decides nothing more after 3 s than after 10.
    saved = client_role.START_GRACE
    client_role.START_GRACE = 3.0
    try:
        targets = [faulty(CORRECT, ()), *(faulty(fault, (fault,)) for fault in h1_client.FAULTS)]
        targets.append(
            parse_client(reference_command("h1").replace("reference-client=", f"{REFERENCE}="), "h1")
        )
        options = RunOptions(timeout=2.0, retry_budget=0)
        expected = MAP.expected()
        return run_confirmed(_ClientRuns(reactor_thread, expected), cases, targets, options, expected, jobs=16)
    finally:
        client_role.START_GRACE = saved


@pytest.fixture(scope="module")
def observed(matrix: Matrix) -> dict[str, list[str]]:
    return {fault: failing(matrix.verdicts[fault]) for fault in h1_client.FAULTS}


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
