"""The WebSocket cases' Autobahn aliases: each names one of Autobahn's 517 case ids, and each id
is named by exactly one case (the check of what each alias does is docs/autobahn-aliases.md).

tests/data/autobahn-ids.txt lists the ids as Autobahn TestSuite's case classes define them
(autobahntestsuite/case/__init__.py and the families its case*_x_x.py modules generate).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from conformance.scenario.loader import load_cases

IDS_FILE = Path(__file__).parents[2] / "data" / "autobahn-ids.txt"
PREFIX = "autobahn:"


def _autobahn_ids() -> list[str]:
    lines = IDS_FILE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _aliases() -> dict[str, list[str]]:
    named: dict[str, list[str]] = defaultdict(list)
    for case in load_cases():
        for alias in case.aliases:
            if alias.startswith(PREFIX):
                named[alias[len(PREFIX) :]].append(case.id)
    return named


def test_the_id_list_is_autobahns_517_ids_once_each() -> None:
    ids = _autobahn_ids()
    assert len(ids) == 517
    assert len(set(ids)) == len(ids)


def test_every_autobahn_alias_names_an_autobahn_case() -> None:
    known = set(_autobahn_ids())
    unknown = {alias: cases for alias, cases in _aliases().items() if alias not in known}
    assert not unknown, unknown


def test_every_autobahn_id_is_aliased_exactly_once() -> None:
    named = _aliases()
    missing = [ident for ident in _autobahn_ids() if ident not in named]
    twice = {ident: cases for ident, cases in named.items() if len(cases) > 1}
    assert not missing, missing
    assert not twice, twice


def test_the_documented_check_covers_every_id() -> None:
    table = (Path(__file__).parents[3] / "docs" / "autobahn-aliases.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ") and "|" in line[2:]}
    missing = [ident for ident in _autobahn_ids() if ident not in rows]
    assert not missing, missing
