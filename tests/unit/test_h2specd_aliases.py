"""Every one of h2specd's 57 case ids is the alias of exactly one HTTP/2 client case.

``--select h2specd:client/6.5`` runs the client cases whose aliases start with that id, as
``h2spec:`` does for the server suite; tests/data/h2specd-ids.txt lists h2specd's ids (from
h2spec's ``client/`` test groups) and docs/h2spec-aliases.md says which case each became.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from conformance.client_cli import client_cases_dir
from conformance.scenario.loader import load_cases

IDS = Path(__file__).resolve().parents[1] / "data" / "h2specd-ids.txt"


def _ids() -> list[str]:
    lines = IDS.read_text(encoding="utf-8").splitlines()
    return [line.split("\t")[0] for line in lines if line and not line.startswith("#")]


def test_every_h2specd_id_is_aliased_once() -> None:
    aliases = Counter(
        alias.removeprefix("h2specd:")
        for case in load_cases([client_cases_dir() / "h2"], role="client")
        for alias in case.aliases
        if alias.startswith("h2specd:")
    )
    ids = _ids()
    assert len(ids) == 57
    assert sorted(aliases) == sorted(ids)
    assert [alias for alias, count in aliases.items() if count > 1] == []
