"""results.json and index.html are written a case at a time: the text must be exactly what
rendering the whole results at once gives (the golden files check one run; these check many
targets, a target with no cases, and the HTML's details block)."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from synthetic_results import synthetic_results  # noqa: E402

from conformance.reporters.html import embed_json, iter_html, render_html, write_html  # noqa: E402
from conformance.reporters.html_data import details_data  # noqa: E402
from conformance.reporters.json_report import dumps_json, iter_json, write_json  # noqa: E402


@pytest.mark.parametrize(("cases", "targets"), [(1, 1), (30, 3), (0, 2)])
def test_results_json_streamed_is_the_document_at_once(cases: int, targets: int, tmp_path: Path) -> None:
    results = synthetic_results(cases=cases, targets=targets, seed=5)
    if targets > 1:  # a target that ran nothing, between two that did
        emptied = dataclasses.replace(results.targets[1], cases=())
        results = dataclasses.replace(results, targets=(results.targets[0], emptied, *results.targets[2:]))
    whole = dumps_json(results)
    assert json.loads(whole) == json.loads(json.dumps(results.to_json()))
    assert whole.isascii() and whole.endswith("}\n")
    # One line per case result, holding all of it.
    expected = [json.dumps(case) for target in results.to_json()["targets"] for case in target["cases"]]
    lines = [line.strip().rstrip(",") for line in whole.splitlines()]
    assert [line for line in lines if line.startswith('{"id": ')] == expected
    assert len(list(iter_json(results))) > 1
    write_json(results, tmp_path / "results.json")
    assert (tmp_path / "results.json").read_text(encoding="utf-8") == whole


def test_index_html_streams_the_details_block(tmp_path: Path) -> None:
    results = synthetic_results(cases=30, targets=3, seed=9)
    page = render_html(results)
    assert f'id="details-data">{embed_json(details_data(results))}</script>' in page
    assert "\x00" not in page
    write_html(results, tmp_path / "index.html")
    assert (tmp_path / "index.html").read_text(encoding="utf-8") == page
    assert len(list(iter_html(results))) > 30  # a piece per case row, not one string
