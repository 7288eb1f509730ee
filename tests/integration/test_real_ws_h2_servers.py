"""The WebSocket suite over HTTP/2 (RFC 8441) against a real server started by the test:
hypercorn with an ASGI echo application, by prior knowledge (h2c) and over TLS (ALPN h2).

Every FAIL is pinned in ``ws_h2_real_fails.yaml``, grouped by the server behaviour that
causes it, each group with the RFC text that decides it and a pattern the observed text
must match (so that a FAIL for another reason is caught). A FAIL not listed fails the test,
and so does a listed one that no longer FAILs. The suite runs three times per server: no
ERROR, the same verdicts every time. A missing hypercorn skips outside CI, never under
``CI=true``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import stability
import yaml
from servers_h2 import certificate
from servers_ws import hypercorn_server

from conformance.driver.endpoints import TLSSettings
from conformance.driver.interpreter import RunOptions
from conformance.results import TargetResults
from conformance.scenario import bundled_cases_dir
from conformance.scenario.loader import load_cases
from conformance.target import Target

FAILS = Path(__file__).with_name("ws_h2_real_fails.yaml")


@contextlib.contextmanager
def hypercorn(tls: bool) -> Iterator[tuple[str, Path | None]]:
    """hypercorn with the suite's ASGI echo (``ws_apps.asgi_echo``) on a free port: (the
    target URL, the CA file to trust over TLS)."""
    if not tls:
        with hypercorn_server(scheme="h2c") as url:
            yield url, None
        return
    with certificate() as made:
        tls_args = ["--certfile", str(made.cert_file), "--keyfile", str(made.key_file)]
        with hypercorn_server(args=tls_args, scheme="https") as url:
            yield url, made.ca_file


@pytest.fixture(scope="module")
def ws_cases():  # type: ignore[no-untyped-def]
    return [case for case in load_cases([bundled_cases_dir()]) if case.protocol == "ws"]


def run(reactor_thread, cases, name: str, url: str, ca_file: Path | None) -> TargetResults:  # type: ignore[no-untyped-def]
    target = Target.parse(f"{name}={url}", requested=("ws",))
    assert target.suites == ("ws",)
    options = RunOptions(tls=TLSSettings(ca_file=ca_file))
    return reactor_thread.run(cases, [target], options).targets[0]


@pytest.mark.realserver
@pytest.mark.slow
@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "tls"])
def test_ws_suite_over_h2_against_hypercorn(tls, reactor_thread, ws_cases):  # type: ignore[no-untyped-def]
    with hypercorn(tls) as (url, ca_file):
        count = stability.runs("hypercorn-tls" if tls else "hypercorn", frozenset({"hypercorn"}))
        runs = [run(reactor_thread, ws_cases, "hypercorn", url, ca_file) for _ in range(count)]
    first = {case.id: case for case in runs[0].cases}
    assert len(first) == len(ws_cases)
    errors = {
        case.id: case.observed for target in runs for case in target.cases if case.verdict.value == "ERROR"
    }
    assert errors == {}
    # HTTP/1.1 opening-handshake cases are SKIPPED over HTTP/2, with the reason; none other is,
    # but for a case whose rule the server never reached (a size limit, RFC 6455 §10.4).
    skipped = {case.id for case in first.values() if case.verdict.value == "SKIPPED"}
    assert skipped and all(
        "HTTP/1.1" in first[case_id].observed or "not exercised" in first[case_id].observed
        for case_id in skipped
    )
    assert not any(case_id.startswith("ws/8441/") for case_id in skipped)
    pinned = yaml.safe_load(FAILS.read_text(encoding="utf-8"))["hypercorn"]
    expected = {case_id: reason for reason, group in pinned.items() for case_id in group["cases"]}
    failed = {case_id for case_id, case in first.items() if case.verdict.value == "FAIL"}
    unreviewed = {case_id: first[case_id].observed[:200] for case_id in sorted(failed - set(expected))}
    assert unreviewed == {}, "FAILs nobody reviewed"
    # A group's ``may_also``: verdicts the server's own timing gives these cases instead.
    timing = {
        case_id: (first[case_id].verdict.value, first[case_id].observed[:200])
        for case_id, reason in expected.items()
        if case_id not in failed and first[case_id].verdict.value in pinned[reason].get("may_also", [])
    }
    gone = {
        case_id: (first[case_id].verdict.value, first[case_id].observed[:200])
        for case_id in sorted(set(expected) - failed - set(timing))
    }
    assert gone == {}, "pinned FAILs that no longer FAIL"
    wrong_reason = {
        case_id: first[case_id].observed
        for case_id, reason in expected.items()
        if case_id in failed and not re.search(pinned[reason]["observed"], first[case_id].observed)
    }
    assert wrong_reason == {}
    for again in runs[1:]:
        changed = {
            case.id: (first[case.id].verdict.value, case.verdict.value)
            for case in again.cases
            if case.verdict is not first[case.id].verdict
        }
        assert changed == {}
