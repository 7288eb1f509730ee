"""The WebSocket cases' Autobahn aliases: each names one of Autobahn's 517 case ids, and each id
is named by exactly one case (the check of what each alias does is docs/autobahn-aliases.md);
the same holds of the client suite (``cases/client/ws``: Autobahn's cases from the client's
side, as its fuzzingserver plays them).

tests/data/autobahn-ids.txt lists the ids as Autobahn TestSuite's case classes define them
(autobahntestsuite/case/__init__.py and the families its case*_x_x.py modules generate).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from conformance.scenario.loader import load_cases

IDS_FILE = Path(__file__).parents[2] / "data" / "autobahn-ids.txt"
PREFIX = "autobahn:"


def _autobahn_ids() -> list[str]:
    lines = IDS_FILE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _aliases(role: str = "server") -> dict[str, list[str]]:
    named: dict[str, list[str]] = defaultdict(list)
    cases = load_cases() if role == "server" else load_cases(role="client")
    for case in cases:
        if case.protocol != "ws":
            continue
        for alias in case.aliases:
            if alias.startswith(PREFIX):
                named[alias[len(PREFIX) :]].append(case.id)
    return named


def test_the_id_list_is_autobahns_517_ids_once_each() -> None:
    ids = _autobahn_ids()
    assert len(ids) == 517
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("role", ["server", "client"])
def test_every_autobahn_alias_names_an_autobahn_case(role: str) -> None:
    known = set(_autobahn_ids())
    unknown = {alias: cases for alias, cases in _aliases(role).items() if alias not in known}
    assert not unknown, unknown


@pytest.mark.parametrize("role", ["server", "client"])
def test_every_autobahn_id_is_aliased_exactly_once(role: str) -> None:
    named = _aliases(role)
    missing = [ident for ident in _autobahn_ids() if ident not in named]
    twice = {ident: cases for ident, cases in named.items() if len(cases) > 1}
    assert not missing, missing
    assert not twice, twice


def test_the_documented_check_covers_every_id() -> None:
    table = (Path(__file__).parents[3] / "docs" / "autobahn-aliases.md").read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ") and "|" in line[2:]
    }
    missing = [ident for ident in _autobahn_ids() if ident not in rows]
    assert not missing, missing
