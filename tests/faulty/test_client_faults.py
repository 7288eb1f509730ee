"""Every client case can fail, and fails for the right reason (client mode), for each suite.

For each suite (HTTP/1.1, HTTP/2, WebSocket) the faulty client (``h1_client.py``,
``h2_client.py``, ``ws_client.py``) with no fault must PASS every bundled client case of the
suite, and so must the reference client (``conformance.clients.h1`` ...). With one fault on,
exactly the cases listed for that fault in ``SUITE_client_fault_map.yaml`` must FAIL: a case
that no fault can fail is a defect. After changing cases or faults, review the differences and
regenerate the maps with ``CONFORMANCE_UPDATE_FAULT_MAP=1 pytest tests/faulty/test_client_faults.py``
(``-k h2`` for one suite).

Each case starts one client process per configuration: thousands in all (the WebSocket suite
alone about 6 000). So unless the whole matrix is asked for (``CONFORMANCE_UPDATE_FAULT_MAP=1``,
or ``CONFORMANCE_FULL_FAULT_MATRIX=1``), a faulty client runs only the cases its map says it
FAILs, the others being SKIPPED unrun, while the correct configurations run every case. That
keeps what the matrix is for (every case FAILs under its fault, the correct clients PASS
everything); what it drops is noticing that a fault now fails a case it did not before, which
the full run does.

The clients run through a fork server (``forkserver.py``) that has imported the faulty client
and the reference client once: each case's client is still a process of its own, started by
the harness as any client is, but in a tenth of the time a new interpreter takes. The
reference client's own command (``python -m conformance.clients.SUITE``) is run as it is by
the client CLI's tests.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import forkserver
import h1_client
import h2_client
import pytest
import ws_client
from fault_matrix import (
    CORRECT,
    FaultMap,
    MappedRuns,
    Matrix,
    failing,
    harness_errors,
    never_failed,
    run_confirmed,
)

from conformance.client_cli import client_cases_dir, reference_command
from conformance.driver import client_process, client_role
from conformance.driver.client_role import ClientTarget, run_client_case
from conformance.driver.interpreter import RunOptions
from conformance.scenario.loader import load_cases
from conformance.verdicts.verdict import Requirement, Verdict

REFERENCE = "reference"
#: A module and its arguments -> the command that runs it through the fork server.
Launch = Callable[[str, list[str]], str]
HERE = Path(__file__).parent


@dataclass(frozen=True)
class Suite:
    """One client suite's faulty client, fault map, and what its reference client may get."""

    name: str
    client: ModuleType
    title: str
    #: The reference clients are real libraries' choices: h2 answers some connection errors
    #: with a generic code or a bare close (allowed by RFC 9113 §5.4): NON-STRICT, never FAIL.
    reference_verdicts: frozenset[Verdict] = frozenset({Verdict.PASS})

    @property
    def map(self) -> FaultMap:
        return FaultMap(HERE / f"{self.name}_client_fault_map.yaml", self.title)


SUITES = {
    "h1": Suite("h1", h1_client, "HTTP/1.1 client"),
    "h2": Suite("h2", h2_client, "HTTP/2 client", frozenset({Verdict.PASS, Verdict.NON_STRICT})),
    "ws": Suite("ws", ws_client, "WebSocket client"),
}


def faulty(suite: Suite, launch: Launch, name: str, faults: tuple[str, ...]) -> ClientTarget:
    switches = [word for fault in faults for word in ("--fault", fault)]
    command = launch(suite.client.__name__, [*switches, "{url}"])
    return ClientTarget(name=name, command=command, suites=(suite.name,))


def reference(suite: Suite, launch: Launch) -> ClientTarget:
    """The reference client, as ``conformance client`` runs it (``python -m
    conformance.clients.SUITE {url}``), through the fork server."""
    command = reference_command(suite.name).split("=", 1)[1]
    python, switch, module, *args = shlex.split(command)
    assert (python, switch) == (sys.executable, "-m"), command
    return ClientTarget(name=REFERENCE, command=launch(module, args), suites=(suite.name,))


@pytest.fixture(scope="module", params=sorted(SUITES))
def suite(request: pytest.FixtureRequest) -> Suite:
    return SUITES[request.param]


@pytest.fixture(scope="module")
def cases(suite: Suite) -> Any:
    return load_cases([client_cases_dir() / suite.name], role="client")


@pytest.fixture(scope="module")
def launch(suite: Suite) -> Iterator[Launch]:
    """Commands that run a client module through a fork server with the suite's faulty client
    and reference client imported (``forkserver.py``): a case's client starts in about a
    tenth of the time a new interpreter takes, over thousands of cases."""
    reference_module = f"conformance.clients.{suite.name}"
    with forkserver.running([suite.client.__name__, reference_module], [str(HERE)]) as command:
        yield command


@pytest.fixture(scope="module")
def matrix(reactor_thread: Any, suite: Suite, cases: Any, launch: Launch) -> Matrix:
    # A client that hangs is ended after 3 s here (10 s in a real run): the faults that hang
    # are many, and a process that never exits decides nothing more after 3 s than after 10.
    saved = client_role.START_GRACE
    client_role.START_GRACE = 3.0
    try:
        targets = [
            faulty(suite, launch, CORRECT, ()),
            *(faulty(suite, launch, fault, (fault,)) for fault in suite.client.FAULTS),
            reference(suite, launch),
        ]
        options = RunOptions(timeout=2.0, retry_budget=0)
        expected = suite.map.expected()
        # Big-message cases run one at a time per client in a user's run, to spare the
        # machine; a fault that never echoes a fragmented message waits out each one's 20 s
        # budget, 16 of them in a row: most of the matrix's seven minutes. Eight at a time (a
        # few MiB each) cut it to two and a half.
        return run_confirmed(
            MappedRuns(reactor_thread, expected, run_client_case),
            cases,
            targets,
            options,
            expected,
            jobs=16,
            heavy_jobs=8,
        )
    finally:
        client_role.START_GRACE = saved


@pytest.fixture(scope="module")
def observed(suite: Suite, matrix: Matrix) -> dict[str, list[str]]:
    return {fault: failing(matrix.verdicts[fault]) for fault in suite.client.FAULTS}


def _info(cases: Any) -> set[str]:
    return {case.id for case in cases if case.requirement is Requirement.INFO}


def test_the_correct_client_and_the_reference_client_pass_every_case(
    suite: Suite, matrix: Matrix, cases: Any
) -> None:
    info = _info(cases)
    allowed = {CORRECT: frozenset({Verdict.PASS}), REFERENCE: suite.reference_verdicts}
    for name, verdicts in allowed.items():
        not_passed = {
            case_id: v.value
            for case_id, v in matrix.verdicts[name].items()
            if v not in ({Verdict.INFORMATIONAL} if case_id in info else verdicts)
        }
        assert not_passed == {}, name


def test_each_fault_fails_exactly_its_mapped_cases(
    suite: Suite, observed: dict[str, list[str]], matrix: Matrix
) -> None:
    assert suite.map.differences(observed, matrix.ran) == {}


def test_every_fault_fails_some_case(observed: dict[str, list[str]]) -> None:
    assert [fault for fault, failed in observed.items() if not failed] == []


def test_every_case_fails_under_some_fault(observed: dict[str, list[str]], cases: Any) -> None:
    assert never_failed(observed, (case.id for case in cases), _info(cases)) == []


def test_no_fault_makes_the_harness_error(matrix: Matrix) -> None:
    assert harness_errors(matrix.results, matrix.verdicts) == {}


def test_no_client_process_is_left_behind(matrix: Matrix) -> None:
    assert client_process.live_count() == 0
