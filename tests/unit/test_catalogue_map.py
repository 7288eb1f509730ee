"""The HTTP/1.1 coverage map (docs/h1-catalogue-map.yaml) is complete and honest.

Every row of the catalogue (276 de-duplicated checks, A1 ... X14) either names the bundled
cases that check it or says in words why it is out of scope for an origin server, never
both; every case id it names exists. Rows that other work is still filling are listed in
:data:`PENDING`; an empty pending row is reported as an expected failure, not hidden.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from conformance.scenario import bundled_cases_dir
from conformance.scenario.loader import load_cases

ROOT = Path(__file__).resolve().parents[2]
MAP = ROOT / "docs" / "h1-catalogue-map.yaml"
CATALOGUE = Path("/work/shared/reference/http1-catalogue.md")
ROW_COUNT = 276
ROW_ID = re.compile(r"[A-Z][0-9]+")

#: Rows, or whole categories (one letter), still being filled; empty them as they land.
PENDING: frozenset[str] = frozenset()


def load_map() -> dict[str, dict[str, object]]:
    rows = yaml.safe_load(MAP.read_text(encoding="utf-8"))
    assert isinstance(rows, dict)
    return rows


ROWS = load_map()
CATEGORIES = sorted({row_id[0] for row_id in ROWS})


def category(row_id: str) -> str:
    return row_id[0]


def cases_of(row: dict[str, object]) -> list[str]:
    cases = row.get("cases") or []
    assert isinstance(cases, list)
    return [str(case_id) for case_id in cases]


@pytest.fixture(scope="module")
def bundled_ids() -> set[str]:
    return {case.id for case in load_cases([bundled_cases_dir()])}


def test_the_map_has_every_catalogue_row() -> None:
    assert all(ROW_ID.fullmatch(row_id) for row_id in ROWS)
    assert len(ROWS) == ROW_COUNT
    if CATALOGUE.exists():
        text = CATALOGUE.read_text(encoding="utf-8")
        catalogue_rows = set(re.findall(r"^\| ([A-Z][0-9]+) \|", text, flags=re.MULTILINE))
        assert set(ROWS) == catalogue_rows


def test_every_row_has_its_fields() -> None:
    missing = {
        row_id: sorted({"check", "rfc", "level", "cases"} - set(row))
        for row_id, row in ROWS.items()
        if {"check", "rfc", "level", "cases"} - set(row)
    }
    assert missing == {}


@pytest.mark.parametrize("letter", CATEGORIES)
def test_every_row_is_covered_or_out_of_scope(letter: str) -> None:
    empty = sorted(
        row_id
        for row_id, row in ROWS.items()
        if category(row_id) == letter and not cases_of(row) and not str(row.get("out_of_scope") or "").strip()
    )
    pending = [row_id for row_id in empty if row_id in PENDING or category(row_id) in PENDING]
    assert [row_id for row_id in empty if row_id not in pending] == []
    if pending:
        pytest.xfail(f"rows pending: {', '.join(pending)}")


def test_no_row_has_both_cases_and_a_reason() -> None:
    both = sorted(row_id for row_id, row in ROWS.items() if cases_of(row) and row.get("out_of_scope"))
    assert both == []


def test_every_mapped_case_is_bundled(bundled_ids: set[str]) -> None:
    unknown = {
        row_id: [case_id for case_id in cases_of(row) if case_id not in bundled_ids]
        for row_id, row in ROWS.items()
        if any(case_id not in bundled_ids for case_id in cases_of(row))
    }
    assert unknown == {}


def test_no_row_lists_a_case_twice() -> None:
    repeated = {
        row_id: [case_id for case_id, n in Counter(cases_of(row)).items() if n > 1]
        for row_id, row in ROWS.items()
        if len(set(cases_of(row))) != len(cases_of(row))
    }
    assert repeated == {}


def test_pending_lists_only_rows_that_are_still_empty() -> None:
    """A pending row that has been filled must leave PENDING, so the list stays true."""
    filled = sorted(
        row_id
        for row_id in PENDING
        if ROW_ID.fullmatch(row_id) and (cases_of(ROWS[row_id]) or ROWS[row_id].get("out_of_scope"))
    )
    assert filled == []
