"""The bundled HTTP/2 cases: they load, cite their RFC section, carry well-formed h2spec
aliases that select them, and cover every h2spec group."""

from __future__ import annotations

import re
from pathlib import Path

from conformance.scenario.loader import load_cases

CASES = Path(__file__).resolve().parents[3] / "cases" / "h2"
ALIAS = re.compile(r"h2spec:(generic|http2|hpack)/[0-9.]+/[0-9]+")


def h2_cases() -> list:  # type: ignore[type-arg]
    return load_cases(sorted(CASES.rglob("*.yaml")))


def test_every_case_cites_its_rfc_section() -> None:
    cases = h2_cases()
    assert len(cases) >= 240
    for case in cases:
        assert case.protocol == "h2"
        assert re.search(r"RFC (9113|7541|8441|9218|7540|9110) §", case.reference), case.id


def test_aliases_are_h2spec_ids_and_select_their_cases() -> None:
    cases = h2_cases()
    aliases = {alias for case in cases for alias in case.aliases}
    assert all(ALIAS.fullmatch(alias) for alias in aliases), sorted(
        a for a in aliases if not ALIAS.fullmatch(a)
    )
    groups = {alias.split(":")[1].split("/")[0] for alias in aliases}
    assert groups == {"generic", "http2", "hpack"}
    selected = [case.id for case in cases if case.matches("h2spec:http2/6.5")]
    assert "h2/9113/6.5/ack-with-payload" in selected
    assert all(
        case.startswith(("h2/9113/6.5", "h2/9113/5.5", "h2/9113/3.4", "h2/9113/6.9.2")) for case in selected
    )


def test_every_h2spec_http2_case_has_a_counterpart() -> None:
    aliases = {alias for case in h2_cases() for alias in case.aliases}
    # h2spec 2.x, http2 group: section -> number of cases
    expected = {
        "3.5": 2, "4.1": 3, "4.2": 3, "4.3": 3, "5.1": 13, "5.1.1": 2, "5.1.2": 1, "5.3.1": 2,
        "5.4.1": 2, "5.5": 2, "6.1": 3, "6.2": 4, "6.3": 2, "6.4": 3, "6.5": 3, "6.5.2": 5,
        "6.5.3": 2, "6.7": 4, "6.8": 1, "6.9": 3, "6.9.1": 3, "6.9.2": 3, "6.10": 6, "7": 2,
        "8.1": 1, "8.1.2": 1, "8.1.2.1": 4, "8.1.2.2": 2, "8.1.2.3": 7, "8.1.2.6": 2, "8.2": 1,
    }  # fmt: skip
    missing = [
        f"h2spec:http2/{section}/{n}"
        for section, count in expected.items()
        for n in range(1, count + 1)
        if f"h2spec:http2/{section}/{n}" not in aliases
    ]
    assert missing == []
    hpack = {"2.3.3": 2, "4.2": 1, "5.2": 3, "6.1": 1, "6.3": 1}
    assert all(f"h2spec:hpack/{s}/{n}" in aliases for s, c in hpack.items() for n in range(1, c + 1))
