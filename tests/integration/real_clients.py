"""What the real-client tests share (test_real_clients_h1.py, _h2.py, _ws.py): the pins of
verdicts other than PASS, the commands of the adapters, and one run of a suite with a client.

A client missing from the machine is skipped, except under CI=true, where it fails.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shlex
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import stability

from conformance.client_cli import client_cases_dir
from conformance.driver.client_role import parse_client, run_client_case
from conformance.driver.endpoints import ListenerTLS
from conformance.driver.interpreter import RunOptions
from conformance.scenario.loader import load_cases

ADAPTERS = Path(__file__).resolve().parent / "clients"


class Seen(NamedTuple):
    """A case's verdict in one run, and what was observed: what a pin failure shows."""

    verdict: str
    observed: str


@dataclass(frozen=True)
class Pin:
    """Cases where ``client`` gets ``verdict``, and why, checked against the RFC; ``also``: the
    verdicts the client's own timing may give them instead (the reason says why the RFC
    allows each), from run to run."""

    client: str
    verdict: str
    reason: str
    cases: tuple[str, ...]
    also: tuple[str, ...] = ()


def expected_verdicts(pins: Iterable[Pin], prefix: str) -> dict[str, dict[str, str]]:
    """client -> case id (``prefix`` + the pin's short id) -> its pinned verdict."""
    expected: dict[str, dict[str, str]] = {}
    for pin in pins:
        expected.setdefault(pin.client, {}).update({prefix + case: pin.verdict for case in pin.cases})
    return expected


def timing_alternatives(pins: Iterable[Pin], prefix: str) -> dict[str, dict[str, tuple[str, ...]]]:
    """client -> case id -> the verdicts its timing may give instead of the pinned one."""
    also: dict[str, dict[str, tuple[str, ...]]] = {}
    for pin in pins:
        if pin.also:
            also.setdefault(pin.client, {}).update({prefix + case: pin.also for case in pin.cases})
    return also


#: While :func:`forked_adapters` runs: the command of an adapter script run through the fork
#: server (tests/forkserver.py). None: an adapter starts as a new interpreter, as a user's does.
_launch: Callable[[str, list[str]], str] | None = None


def python_adapter(script: str, *modules: str) -> str | None:
    """The COMMAND of an adapter in ``clients/``, or None when a module it needs is missing;
    through the fork server while :func:`forked_adapters` runs."""
    if any(importlib.util.find_spec(module) is None for module in modules):
        return None
    if _launch is not None:
        return _launch(str(ADAPTERS / script), ["{url}"])
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(ADAPTERS / script))} {{url}}"


@contextlib.contextmanager
def forked_adapters() -> Iterator[None]:
    """Run the Python adapters through a fork server that has imported what they import: a
    case's client then starts in about 10 ms, where a new interpreter importing aiohttp takes
    0.6 s of CPU, most of a pin test's time (153 cases). The adapter itself runs in the child
    as it would as a script; ``test_real_clients_tls.py`` and the README adapter test start
    adapters the user's way."""
    global _launch
    import forkserver

    scripts = sorted(str(path) for path in ADAPTERS.glob("*.py"))
    imported = {
        match.group(1)
        for script in scripts
        for match in re.finditer(r"^(?:import|from) ([\w.]+)", Path(script).read_text(encoding="utf-8"), re.M)
    }
    installed = sorted(module for module in imported if _installed(module))
    with forkserver.running(scripts, [], preload=installed) as launch:
        _launch = launch
        try:
            yield
        finally:
            _launch = None


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a submodule of a package that is not installed
        return False


def run(
    reactor_thread: Any,
    suite: str,
    name: str,
    command: str,
    keep: Callable[[str], bool] | None = None,
    tls: ListenerTLS | None = None,
) -> dict[str, Seen]:
    """One run of the ``suite`` client cases (those ``keep`` keeps) with the client (over TLS
    with ``tls``, as ``--tls`` runs it): case id -> its verdict, and what was observed."""
    from conformance.driver.runner import run_suite

    cases = load_cases([client_cases_dir() / suite], role="client")
    if keep is not None:
        cases = [case for case in cases if keep(case.id)]
    client = parse_client(f"{name}={command}", suite)
    options = RunOptions(timeout=2.0, retry_budget=0, serve_tls=tls)
    results = reactor_thread.call(
        run_suite, reactor_thread.reactor, cases, [client], options, jobs=8, run_one=run_client_case
    )
    return {case.id: Seen(case.verdict.value, case.observed) for case in results.targets[0].cases}


def check(
    reactor_thread: Any,
    suite: str,
    name: str,
    command: str | None,
    expected: dict[str, str],
    keep: Callable[[str], bool] | None = None,
    also: dict[str, tuple[str, ...]] | None = None,
) -> None:
    """The client's verdicts (as many runs as stability.runs says) are the same in every run,
    and are ``expected`` (PASS where it says nothing), or one of the case's ``also``."""
    if command is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not installed")
        pytest.skip(f"{name} is not installed")
    also = also or {}
    runs = [run(reactor_thread, suite, name, command, keep) for _ in range(stability.runs(name, frozenset()))]

    def allowed(case_id: str, verdict: str) -> bool:
        return verdict == expected.get(case_id, "PASS") or verdict in also.get(case_id, ())

    # Said case by case, with what was observed: this module is not a test module, so pytest
    # does not spell out a diff.
    changed = {
        case_id: [seen[case_id] for seen in runs]
        for case_id in runs[0]
        if any(seen[case_id].verdict != runs[0][case_id].verdict for seen in runs[1:])
        and not all(allowed(case_id, seen[case_id].verdict) for seen in runs)
    }
    assert changed == {}, f"{name}: verdicts differ between runs: {changed}"
    first = runs[0]
    differences = {
        case_id: f"pinned {expected.get(case_id, 'PASS')}, got {first[case_id].verdict}: {first[case_id].observed[:400]}"
        if case_id in first
        else f"pinned {expected[case_id]}, not run"
        for case_id in sorted(first.keys() | expected.keys())
        if case_id not in first or not allowed(case_id, first[case_id].verdict)
    }
    assert differences == {}, f"{name}: {differences}"
