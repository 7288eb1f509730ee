"""What the real-client tests share (test_real_clients_h1.py, _h2.py, _ws.py): the pins of
verdicts other than PASS, the commands of the adapters, and one run of a suite with a client.

A client missing from the machine is skipped, except under CI=true, where it fails.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import stability

from conformance.client_cli import client_cases_dir
from conformance.driver.client_role import parse_client, run_client_case
from conformance.driver.endpoints import ListenerTLS
from conformance.driver.interpreter import RunOptions
from conformance.scenario.loader import load_cases

ADAPTERS = Path(__file__).resolve().parent / "clients"


@dataclass(frozen=True)
class Pin:
    """Cases where ``client`` gets ``verdict`` (not PASS), and why, checked against the RFC."""

    client: str
    verdict: str
    reason: str
    cases: tuple[str, ...]


def expected_verdicts(pins: Iterable[Pin], prefix: str) -> dict[str, dict[str, str]]:
    """client -> case id (``prefix`` + the pin's short id) -> verdict other than PASS."""
    expected: dict[str, dict[str, str]] = {}
    for pin in pins:
        expected.setdefault(pin.client, {}).update({prefix + case: pin.verdict for case in pin.cases})
    return expected


def python_adapter(script: str, *modules: str) -> str | None:
    """The COMMAND of an adapter in ``clients/``, or None when a module it needs is missing."""
    if any(importlib.util.find_spec(module) is None for module in modules):
        return None
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(ADAPTERS / script))} {{url}}"


def run(
    reactor_thread: Any,
    suite: str,
    name: str,
    command: str,
    keep: Callable[[str], bool] | None = None,
    tls: ListenerTLS | None = None,
) -> dict[str, str]:
    """One run of the ``suite`` client cases (those ``keep`` keeps) with the client (over TLS
    with ``tls``, as ``--tls`` runs it): case id -> verdict."""
    from conformance.driver.runner import run_suite

    cases = load_cases([client_cases_dir() / suite], role="client")
    if keep is not None:
        cases = [case for case in cases if keep(case.id)]
    client = parse_client(f"{name}={command}", suite)
    options = RunOptions(timeout=2.0, retry_budget=0, serve_tls=tls)
    results = reactor_thread.call(
        run_suite, reactor_thread.reactor, cases, [client], options, jobs=8, run_one=run_client_case
    )
    return {case.id: case.verdict.value for case in results.targets[0].cases}


def check(
    reactor_thread: Any,
    suite: str,
    name: str,
    command: str | None,
    expected: dict[str, str],
    keep: Callable[[str], bool] | None = None,
) -> None:
    """The client's verdicts (as many runs as stability.runs says) are the same in every run,
    and its verdicts other than PASS are ``expected``."""
    if command is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not installed")
        pytest.skip(f"{name} is not installed")
    runs = [run(reactor_thread, suite, name, command, keep) for _ in range(stability.runs(name, frozenset()))]
    assert all(verdicts == runs[0] for verdicts in runs[1:]), "verdicts differ between runs"
    not_passed = {case_id: verdict for case_id, verdict in runs[0].items() if verdict != "PASS"}
    # Said case by case: this module is not a test module, so pytest does not spell out a diff.
    differences = {
        case_id: f"pinned {expected.get(case_id, 'PASS')}, got {not_passed.get(case_id, 'PASS')}"
        for case_id in sorted(not_passed.keys() | expected.keys())
        if not_passed.get(case_id) != expected.get(case_id)
    }
    assert differences == {}, f"{name}: {differences}"
