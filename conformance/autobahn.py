"""Autobahn's fuzzingserver, as this tool serves it: the catalogue of cases and its records.

WebSocket client libraries test themselves with scripts written for Autobahn TestSuite's
fuzzingserver (``getCaseCount``, then ``runCase?case=N&agent=A`` for N = 1..count, then
``updateReports?agent=A``). ``conformance client --suite ws --serve-autobahn PORT`` speaks that
URL protocol (the endpoint: :mod:`conformance.driver.autobahn_server`); this module owns what
it serves and what it writes, with no I/O of its own:

- **The catalogue** (:func:`served_cases`): the client cases with an ``autobahn:`` alias first,
  in Autobahn's order (its ids sorted as numbers: 1.1.1 … 13.7.18), then the others (the
  opening-handshake checks Autobahn has none of) in id order, numbered from 1. Autobahn numbers
  the cases its configuration selects the same way, so with the whole suite served, ``case=N``
  is Autobahn's case N wherever that id has an alias here.
- **The served form of a case** (:func:`served_form`): a client that comes to the endpoint is no
  process of ours, so it has no exit status. A case's ``exit`` expectations judge what cannot be
  observed: they are left out, and where an ``exit`` was one alternative of a ``one_of``, a
  mismatch of the others is "not exercised" (SKIPPED), never a FAIL. A case judged by its exit
  status alone, or that needs the client to connect twice or to a path of its own, is not served.
- **The records** Autobahn's reports hold (:func:`behavior`, :func:`index_json`,
  :func:`case_report`): its ``index.json`` (agent → case id → behavior, behaviorClose,
  duration, remoteCloseCode, reportfile) and a small report file per case.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from conformance.results import CaseResult
from conformance.scenario import model
from conformance.verdicts.client import ExitPattern
from conformance.verdicts.expectations import (
    AllOf,
    Allowed,
    Cursor,
    Expectation,
    Matched,
    Observation,
    OneOf,
    Outcome,
    Sequence_,
)
from conformance.verdicts.verdict import Verdict

ALIAS_PREFIX = "autobahn:"

#: Our verdicts in Autobahn's words (its ``behavior``). SKIPPED here is a case whose rule the
#: client never reached (a size limit it may enforce): behaviour the RFC leaves to the
#: implementation, Autobahn's INFORMATIONAL. ERROR (the harness could not judge) has no word
#: of Autobahn's: it is reported as such, never as a client's FAILED.
BEHAVIORS = {
    Verdict.PASS: "OK",
    Verdict.NON_STRICT: "NON-STRICT",
    Verdict.FAIL: "FAILED",
    Verdict.UNIMPLEMENTED: "UNIMPLEMENTED",
    Verdict.INFORMATIONAL: "INFORMATIONAL",
    Verdict.SKIPPED: "INFORMATIONAL",
    Verdict.ERROR: "ERROR",
}

#: The note a served case's result carries when its ``exit`` expectations were left out.
EXIT_NOTE = (
    "served over Autobahn's fuzzingserver protocol: the client's exit status is not observed "
    "(the case's exit expectations were left out)"
)


def autobahn_alias(case: model.Case) -> str | None:
    """The case's first Autobahn id (``"1.1.1"``), or None."""
    ids = [alias.removeprefix(ALIAS_PREFIX) for alias in case.aliases if alias.startswith(ALIAS_PREFIX)]
    return min(ids, key=autobahn_order) if ids else None


def autobahn_order(case_id: str) -> tuple[int, ...]:
    """Autobahn's order of its case ids: as numbers, part by part (its ``Cases`` list is in
    this order; tests/unit/test_serve_autobahn.py checks it against the list)."""
    return tuple(int(part) if part.isdigit() else 1 << 30 for part in case_id.split("."))


@dataclass(frozen=True, kw_only=True)
class ServedCase:
    """One case of the catalogue: its number (``case=N``), the id Autobahn's scripts see
    (``getCaseInfo``, ``index.json``), and the case in its served form."""

    number: int
    id: str  # the Autobahn id where the case has an alias, else our case id
    case: model.Case
    exit_left_out: bool = False

    @property
    def description(self) -> str:
        if self.id == self.case.id:
            return self.case.title
        return f"{self.case.title} ({self.case.id})"


@dataclass(frozen=True, kw_only=True)
class Catalogue:
    served: tuple[ServedCase, ...]
    left_out: tuple[tuple[model.Case, str], ...] = ()  # (case, why it is not served)
    by_number: dict[int, ServedCase] = field(default_factory=dict, compare=False, repr=False)
    by_id: dict[str, ServedCase] = field(default_factory=dict, compare=False, repr=False)

    def find(self, number: int | None = None, case_id: str | None = None) -> ServedCase | None:
        if number is not None:
            return self.by_number.get(number)
        if case_id is not None:
            return self.by_id.get(case_id)
        return None


def served_cases(cases: Iterable[model.Case]) -> Catalogue:
    """The catalogue of ``cases`` (the ws client cases, selected): numbered, in served form."""
    from conformance.shards import case_sort_key

    aliased: list[tuple[tuple[int, ...], str, model.Case]] = []
    plain: list[model.Case] = []
    left_out: list[tuple[model.Case, str]] = []
    forms: dict[str, tuple[model.Case, bool]] = {}
    for case in cases:
        served, why, exit_left_out = served_form(case)
        if served is None:
            left_out.append((case, why))
            continue
        forms[case.id] = (served, exit_left_out)
        alias = autobahn_alias(case)
        if alias is not None:
            aliased.append((autobahn_order(alias), alias, case))
        else:
            plain.append(case)
    aliased.sort(key=lambda item: (item[0], item[2].id))
    plain.sort(key=lambda case: case_sort_key(case.id))
    ordered: list[tuple[str, model.Case]] = []
    taken: set[str] = set()
    for _, alias, case in aliased:
        # Two cases with one Autobahn id: the first keeps it, the other is served by its own.
        ordered.append((alias if alias not in taken else case.id, case))
        taken.add(alias)
    ordered += [(case.id, case) for case in plain]
    served_list = tuple(
        ServedCase(number=number, id=shown, case=forms[case.id][0], exit_left_out=forms[case.id][1])
        for number, (shown, case) in enumerate(ordered, start=1)
    )
    return Catalogue(
        served=served_list,
        left_out=tuple(left_out),
        by_number={s.number: s for s in served_list},
        by_id={s.id: s for s in served_list},
    )


# ---------------------------------------------------------------- the served form of a case


@dataclass(frozen=True, kw_only=True)
class Unobservable(Expectation):
    """Stands, last in a ``one_of``, for the alternatives about the client's exit status: when
    every observable alternative has mismatched, the client may still have met the case by
    how it exited, which a served client cannot show: the rule is not exercised."""

    unexercised: bool = True

    def describe(self) -> str:
        return "the client's exit status (not observable: the client is served, not started)"

    def _evaluate(self, obs: Observation, cursor: Cursor) -> Outcome:
        return Matched(end=cursor.index)


def served_form(case: model.Case) -> tuple[model.Case | None, str, bool]:
    """``(case to serve, "", exit_left_out)``, or ``(None, why not, False)``."""
    accepts = [step for step in case.steps if isinstance(step, model.Accept)]
    if len(accepts) != 1 or not isinstance(case.steps[0], model.Accept):
        return None, "the case needs the client to connect more than once", False
    if accepts[0].path not in ("", "/"):
        return None, f"the case hands the client a URL of its own (path {accepts[0].path})", False
    steps: list[model.Step] = []
    changed = False
    for step in case.steps:
        if isinstance(step, model.Expect):
            served = _without_exit(step.expectation)
            if served is not step.expectation:
                changed = True
            if served is None:
                continue
            step = replace(step, expectation=served)
        steps.append(step)
    if not any(isinstance(step, model.Expect) for step in steps):
        return None, "the case is judged by the client's exit status alone", False
    return (replace(case, steps=tuple(steps)) if changed else case), "", changed


def _without_exit(expectation: Expectation) -> Expectation | None:
    """``expectation`` with its exit-status parts left out (the same object when it has none;
    None when it is about the exit alone)."""
    if isinstance(expectation, ExitPattern):
        return None
    if isinstance(expectation, OneOf):
        kept = [_without_exit(alt) for alt in expectation.alternatives]
        present = [alt for alt in kept if alt is not None]
        if not present:
            return None
        if all(new is old for new, old in zip(kept, expectation.alternatives, strict=True)):
            return expectation
        tail: list[Expectation] = [Unobservable()] if len(present) < len(kept) else []
        return replace(expectation, alternatives=(*present, *tail))
    if isinstance(expectation, AllOf | Sequence_):
        items = [_without_exit(item) for item in expectation.items]
        present = [item for item in items if item is not None]
        if not present:
            return None
        if all(new is old for new, old in zip(items, expectation.items, strict=True)):
            return expectation
        return replace(expectation, items=tuple(present))
    if isinstance(expectation, Allowed):
        inner = _without_exit(expectation.inner)
        if inner is None:
            return None
        return expectation if inner is expectation.inner else replace(expectation, inner=inner)
    return expectation


# ---------------------------------------------------------------- Autobahn's records


def behavior(result: CaseResult) -> str:
    """Autobahn's ``behavior`` of a result."""
    return BEHAVIORS[result.verdict]


def behavior_close(result: CaseResult) -> str:
    """Autobahn's ``behaviorClose``: the closing-handshake verdict (OK, NON-STRICT, WRONG CODE,
    UNCLEAN); for a case the client did not implement, or that is informational, that word.
    Where no closing handshake was judged (the client rightly never took the connection as
    open), the case's own verdict says how it ended: OK, or FAILED when it FAILed."""
    if result.verdict in (Verdict.UNIMPLEMENTED, Verdict.INFORMATIONAL):
        return BEHAVIORS[result.verdict]
    if result.closing is None:
        return "FAILED" if result.verdict in (Verdict.FAIL, Verdict.ERROR) else "OK"
    return str(result.closing.get("verdict", "UNCLEAN"))


def remote_close_code(result: CaseResult) -> int | None:
    """The close code in the client's close frame (None: no close frame, or no code in it)."""
    closing = result.closing or {}
    code = closing.get("target_code")
    return code if isinstance(code, int) else None


def clean_for_filename(text: str) -> str:
    """Autobahn's file name form of an agent: lower case letters and digits, others as ``_``."""
    cleaned = "".join(c if c in "abcdefghijklmnopqrstuvwxyz0123456789" else " " for c in text.strip().lower())
    return cleaned.strip().replace(" ", "_")


def report_filename(agent: str, case_id: str) -> str:
    """The report file of one case of one agent, named as Autobahn names it
    (``websockets_sync_case_1_1_1.json``); our ids' ``/`` become ``_`` too."""
    return f"{clean_for_filename(agent)}_case_{re.sub(r'[^A-Za-z0-9_-]', '_', case_id)}.json"


@dataclass(frozen=True, kw_only=True)
class Played:
    """One case one agent played: what Autobahn's reports say of it."""

    agent: str
    served: ServedCase
    result: CaseResult
    started: str  # ISO 8601, UTC

    def index_entry(self) -> dict[str, Any]:
        return {
            "behavior": behavior(self.result),
            "behaviorClose": behavior_close(self.result),
            "duration": int(round(self.result.duration_s * 1000)),
            "remoteCloseCode": remote_close_code(self.result),
            "reportfile": report_filename(self.agent, self.served.id),
        }

    def case_report(self) -> dict[str, Any]:
        """The per-case report file: Autobahn's main fields, then this tool's verdict."""
        closing = self.result.closing or {}
        return {
            "agent": self.agent,
            "case": self.served.number,
            "id": self.served.id,
            "description": self.served.description,
            "started": self.started,
            "duration": int(round(self.result.duration_s * 1000)),
            "behavior": behavior(self.result),
            "behaviorClose": behavior_close(self.result),
            "expectation": self.result.expected,
            "result": self.result.observed,
            "resultClose": closing.get("text", ""),
            "remoteCloseCode": remote_close_code(self.result),
            "localCloseCode": closing.get("harness_code"),
            "conformance": {
                "id": self.result.id,
                "verdict": self.result.verdict.value,
                "requirement": self.result.requirement.value,
                "rule": self.result.rule,
                "notes": list(self.result.notes),
            },
        }


class Scoreboard:
    """What every agent played, the latest run of each case kept (in served order); a bounded
    number of agents (an agent is one target of the reports)."""

    def __init__(self, catalogue: Catalogue, *, max_agents: int = 64) -> None:
        self.catalogue = catalogue
        self.max_agents = max_agents
        self._played: dict[str, dict[int, Played]] = {}

    def admits(self, agent: str) -> bool:
        return agent in self._played or len(self._played) < self.max_agents

    def record(self, played: Played) -> None:
        self._played.setdefault(played.agent, {})[played.served.number] = played

    def get(self, agent: str, number: int) -> Played | None:
        return self._played.get(agent, {}).get(number)

    @property
    def agents(self) -> list[str]:
        return list(self._played)

    def count(self) -> int:
        return sum(len(cases) for cases in self._played.values())

    def all(self) -> list[Played]:
        return [played for cases in self._played.values() for _, played in sorted(cases.items())]

    def of(self, agent: str) -> list[Played]:
        return [played for _, played in sorted(self._played.get(agent, {}).items())]


def index_json(played: Sequence[Played]) -> str:
    """Autobahn's ``index.json``: agent → case id → its record, as Autobahn formats it."""
    out: dict[str, dict[str, Any]] = {}
    for item in played:
        out.setdefault(item.agent, {})[item.served.id] = item.index_entry()
    return json.dumps(out, sort_keys=True, indent=3, separators=(",", ": "))


__all__ = [
    "BEHAVIORS",
    "Catalogue",
    "Played",
    "Scoreboard",
    "ServedCase",
    "autobahn_alias",
    "autobahn_order",
    "behavior",
    "index_json",
    "report_filename",
    "served_cases",
    "served_form",
]
