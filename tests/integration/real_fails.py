"""The reviewed FAILs of the real servers that pin every FAIL (``real_fails.yaml``).

For these servers every FAIL of a suite is listed, grouped by the server behaviour that
causes it, and each group says who is at fault after a reading of the RFC:

- ``judged: server`` — the server breaks a requirement whose subject is the server: the
  FAIL is the right verdict, and ``rfc`` quotes the sentence;
- ``judged: case`` — a false FAIL: the RFC permits what the server did (``rfc`` quotes the
  sentence that permits it); the case is being fixed, and until then its FAIL is expected
  here so that the fix shows up as a change, never silently;
- ``judged: open`` — not settled yet (the RFC reading is arguable, or the review ran out of
  time); neither the server's fault nor the case's until someone settles it.

Each group's ``observed`` is a regular expression every case of the group must show in its
observed text, so that a case that FAILs for another reason is not taken for a pinned one.
:func:`differences` says, one line per case, what changed from the pins: a FAIL nobody
reviewed, a pinned FAIL that now gives another verdict (from what to what), or a FAIL whose
observation no longer matches its group.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from conformance.results import TargetResults

PINS = Path(__file__).with_name("real_fails.yaml")
JUDGEMENTS = ("server", "case", "open")


class _UniqueKeys(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys without a word; a pin file edited by hand
    must not lose a group that way."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        repeated = sorted({str(key) for key in keys if keys.count(key) > 1})
        if repeated:
            raise ValueError(f"{PINS.name}:{node.start_mark.line + 1}: key(s) given twice: {repeated}")
        return super().construct_mapping(node, deep=deep)


def _document() -> dict[str, Any]:
    return yaml.load(PINS.read_text(encoding="utf-8"), Loader=_UniqueKeys) or {}  # noqa: S506


@dataclass(frozen=True)
class Group:
    name: str
    judged: str
    rfc: str
    observed: str
    cases: tuple[str, ...]


def groups(suite: str, server: str) -> dict[str, Group]:
    """The groups pinned for ``server`` under ``suite`` (h1, h2, ws); none if it has none."""
    document = _document()
    found = {}
    for name, group in (document.get(suite, {}).get(server) or {}).items():
        if group["judged"] not in JUDGEMENTS:
            raise ValueError(f"{PINS.name}: {suite}/{server}/{name}: judged must be one of {JUDGEMENTS}")
        found[name] = Group(name, group["judged"], group["rfc"], group["observed"], tuple(group["cases"]))
    return found


def servers(suite: str) -> set[str]:
    """The servers whose every FAIL under ``suite`` is pinned."""
    return set(_document().get(suite, {}))


def differences(suite: str, server: str, results: TargetResults, ignore: Collection[str] = ()) -> list[str]:
    """What ``results`` shows that the pins do not say, one readable line per case. Cases in
    ``ignore`` (those whose verdict races, which the caller checks its own way) are left out."""
    pinned = groups(suite, server)
    where = {case_id: group for group in pinned.values() for case_id in group.cases}
    repeated = sorted(
        case_id for case_id in where if sum(case_id in group.cases for group in pinned.values()) > 1
    )
    lines = [f"{case_id}: pinned in more than one group" for case_id in repeated]
    seen = {case.id for case in results.cases}
    lines += [f"{case_id}: pinned, but no such case ran" for case_id in sorted(set(where) - seen)]
    for case in results.cases:
        if case.id in ignore:
            continue
        verdict = case.verdict.value
        group = where.get(case.id)
        observed = case.observed[:300]
        if group is None:
            if verdict == "FAIL":
                lines.append(f"{case.id}: FAIL, reviewed by nobody (observed: {observed})")
            continue
        if verdict != "FAIL":
            hint = {
                "case": "the case was fixed: drop it from the group",
                "server": "the server or the case changed: judge it again against the RFC",
                "open": "judge it against the RFC, then drop or move it",
            }[group.judged]
            lines.append(
                f"{case.id}: FAIL -> {verdict} (pinned in {group.name}, judged {group.judged}; {hint};"
                f" observed: {observed})"
            )
        elif not re.search(group.observed, case.observed):
            lines.append(
                f"{case.id}: FAIL for another reason than {group.name} expects"
                f" (/{group.observed}/; observed: {observed})"
            )
    return lines
