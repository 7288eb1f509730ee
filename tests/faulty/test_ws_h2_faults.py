"""Every WebSocket-over-HTTP/2 case (RFC 8441, ``cases/ws/8441``) can fail, and fails for the
right reason.

The faulty server (``ws_h2_server.py``) with no fault switched on must PASS every case of
``cases/ws/8441``. With one fault on, exactly the cases listed for that fault in
``ws_h2_fault_map.yaml`` must FAIL. After changing cases or faults, review the differences
and regenerate the map with ``CONFORMANCE_UPDATE_FAULT_MAP=1 pytest tests/faulty``.

(The rest of the WebSocket suite runs over HTTP/2 against the reference target and real
servers; its faults are proven over HTTP/1.1 by ``test_ws_faults.py``, since the WebSocket
framing cases do not depend on what carries the frames.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
import ws_h2_server
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

MAP = FaultMap(Path(__file__).with_name("ws_h2_fault_map.yaml"), "RFC 8441")


@pytest.fixture(scope="module")
def h2_cases():  # type: ignore[no-untyped-def]
    return [case for case in load_cases([bundled_cases_dir()]) if case.id.startswith("ws/8441/")]


@pytest.fixture(scope="module")
def confirmed(reactor_thread, h2_cases) -> Matrix:  # type: ignore[no-untyped-def]
    configurations = single_fault_configurations(ws_h2_server.FAULTS)
    with matrix_ports(Path(ws_h2_server.__file__), configurations) as ports:
        targets = [
            Target.parse(f"{name}=h2c://127.0.0.1:{port}/", requested=("ws",)) for name, port in ports.items()
        ]
        assert all(target.suites == ("ws",) for target in targets)
        options = RunOptions(timeout=2.0, retry_budget=0)
        expected = MAP.expected()
        return run_confirmed(
            MappedRuns(reactor_thread, expected), h2_cases, targets, options, expected, jobs=32
        )


@pytest.fixture(scope="module")
def observed(confirmed) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return {fault: failing(confirmed.verdicts[fault]) for fault in ws_h2_server.FAULTS}


def test_there_are_enough_cases(h2_cases):  # type: ignore[no-untyped-def]
    assert len(h2_cases) >= 12


def _informational(h2_cases) -> set[str]:  # type: ignore[no-untyped-def]
    """The INFO cases: they record what a server does where no sentence decides (an unknown
    :protocol, a Sec-WebSocket-Accept over HTTP/2), and never FAIL."""
    return {case.id for case in h2_cases if case.requirement is Requirement.INFO}


def test_the_correct_server_passes_every_case(confirmed, h2_cases):  # type: ignore[no-untyped-def]
    found = confirmed.verdicts[CORRECT]
    assert set(found) == {case.id for case in h2_cases}
    expected = {case_id: Verdict.INFORMATIONAL for case_id in _informational(h2_cases)}
    assert {case_id: v for case_id, v in found.items() if v is not Verdict.PASS} == expected


def test_each_fault_fails_exactly_its_mapped_cases(observed, confirmed):  # type: ignore[no-untyped-def]
    assert MAP.differences(observed, confirmed.ran) == {}


def test_every_fault_fails_some_case(observed):  # type: ignore[no-untyped-def]
    assert [fault for fault, cases in observed.items() if not cases] == []


def test_every_case_fails_under_some_fault(observed, h2_cases):  # type: ignore[no-untyped-def]
    assert never_failed(observed, (case.id for case in h2_cases), exempt=_informational(h2_cases)) == []


def test_no_fault_makes_the_harness_error(confirmed):  # type: ignore[no-untyped-def]
    assert harness_errors(confirmed.results, confirmed.verdicts) == {}
