"""Whatever the target does, every case ends within its deadline with FAIL or ERROR,
and the harness's memory stays bounded."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import hostile
import pytest

from conformance.driver.interpreter import RunOptions
from conformance.scenario.loader import load_cases
from conformance.target import Target
from conformance.verdicts.verdict import Verdict

CASES = """\
protocol: h1
rfc: 9112
section: "2"
cases:
  - id: get
    title: a plain GET
    requirement: MUST
    steps:
      - send: "GET / HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect: {response: {status: 200, violations: none}}
  - id: bad-then-close
    title: 400 or close
    requirement: MUST
    steps:
      - send: "GET / HTTP/1.1\\r\\nHost: {authority}\\r\\nFoo : bar\\r\\n\\r\\n"
      - expect:
          one_of:
            - response: {status: 400}
            - closed: true
              strict: false
  - id: two-pipelined
    title: two pipelined requests
    requirement: MUST
    steps:
      - send: "GET / HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\nGET / HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect: {response: {status: 200}}
      - expect: {response: {status: 200}}
  - id: echo
    title: what the server parsed (whatever it sends back is read as an echo document)
    requirement: MUST
    requires: [echo]
    steps:
      - send: "POST {echo_path} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: 2\r\n\r\nhi"
      - expect: {echo: {method: POST, body: hi}}
"""


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> list:
    path: Path = tmp_path_factory.mktemp("cases") / "hostile.yaml"
    path.write_text(CASES)
    return load_cases([path])


@pytest.mark.parametrize("kind", sorted(hostile.HOSTILE))
def test_every_case_ends_in_time_with_fail_or_error(reactor_thread, cases, kind: str) -> None:  # type: ignore[no-untyped-def]
    port = reactor_thread.call(hostile.listen, reactor_thread.reactor, kind)
    try:
        target = Target.parse(f"http://127.0.0.1:{port.getHost().port}/")
        options = RunOptions(timeout=1.0, case_timeout=4.0, byte_cap=4 * 2**20, echo_path="/echo")
        tracemalloc.start()
        start = time.monotonic()
        results = reactor_thread.run(cases, [target], options)
        elapsed = time.monotonic() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        reactor_thread.call(port.stopListening)
    verdicts = {case.id: case.verdict for case in results.targets[0].cases}
    assert len(verdicts) == len(cases)
    assert set(verdicts.values()) <= {Verdict.FAIL, Verdict.ERROR}, verdicts
    # Cases run concurrently, each within its 4 s budget.
    assert elapsed < 8.0
    # Whatever arrived, the harness kept at most a few MiB (caps: 4 MiB read, 256 KiB kept).
    assert peak < 40 * 2**20, f"peak {peak / 2**20:.1f} MiB"
    for case in results.targets[0].cases:
        assert case.observed, case
        if case.verdict is Verdict.FAIL:
            assert case.expected and case.step is not None


def test_unreachable_target_is_an_error_with_the_reason(reactor_thread, cases) -> None:  # type: ignore[no-untyped-def]
    from servers import free_port

    target = Target.parse(f"http://127.0.0.1:{free_port()}/")
    results = reactor_thread.run(cases, [target], RunOptions(timeout=1.0, echo_path="/echo"))
    [target_results] = results.targets
    assert not target_results.reachable
    for case in target_results.cases:
        assert case.verdict is Verdict.ERROR
        assert "could not connect to 127.0.0.1" in case.observed
        assert "refused" in case.observed.lower()
