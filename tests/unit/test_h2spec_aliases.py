"""The h2spec aliases of the HTTP/2 cases name test cases h2spec really has.

``--select h2spec:http2/6.5`` runs the cases whose aliases start with that id, so an alias of
an id h2spec lacks makes the selection run cases h2spec would not (generic/3.5/2 to 7 once
made ``h2spec:generic/3.5`` run seven cases where h2spec runs one). The list of h2spec's ids
is data: tests/data/h2spec-ids.txt, from ``h2spec --dryrun --strict`` of h2spec 2.6.0 (run
it again, and parse the numbered titles under each section, when h2spec changes). What each
aliased case checks against h2spec's own case is recorded in docs/h2spec-aliases.md.
"""

from __future__ import annotations

from pathlib import Path

from conformance.scenario.loader import load_cases

IDS_FILE = Path(__file__).parents[1] / "data" / "h2spec-ids.txt"


def _h2spec_ids() -> set[str]:
    lines = IDS_FILE.read_text(encoding="utf-8").splitlines()
    return {line.split("\t")[0] for line in lines if line and not line.startswith("#")}


def test_the_list_is_h2spec_2_6s_whole_list() -> None:
    ids = _h2spec_ids()
    assert len(ids) == 147  # 146 by default, and http2/5.4.1/2 with --strict
    assert {"generic/1/1", "http2/3.5/1", "hpack/6.3/1", "http2/5.4.1/2"} <= ids
    assert not any(i.startswith("generic/3.5/") and i != "generic/3.5/1" for i in ids)


def test_every_h2spec_alias_names_an_h2spec_test_case() -> None:
    ids = _h2spec_ids()
    aliases = {
        alias.removeprefix("h2spec:"): case.id
        for case in load_cases()
        for alias in case.aliases
        if alias.startswith("h2spec:")
    }
    assert aliases, "no h2spec alias found: the check would pass vacuously"
    unknown = {alias: case for alias, case in aliases.items() if alias not in ids}
    assert not unknown, f"aliases of ids h2spec does not have: {unknown}"
