"""Unit tests of the pins of real_fails.yaml and of how a change from them is reported.

No server is started: the file is checked against the bundled cases, and
:func:`real_fails.differences` is fed made-up results.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import real_fails
import yaml

from conformance.scenario import bundled_cases_dir
from conformance.scenario.loader import load_cases

SUITES = ("h1", "h2", "ws")


def results(**verdicts: tuple[str, str]) -> Any:
    """A stand-in for TargetResults: case id (``__`` for ``/``) -> (verdict, observed)."""
    cases = [
        SimpleNamespace(id=key.replace("__", "/"), verdict=SimpleNamespace(value=verdict), observed=observed)
        for key, (verdict, observed) in verdicts.items()
    ]
    return SimpleNamespace(cases=cases)


@pytest.fixture()
def pins(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    document = {
        "h1": {
            "server-x": {
                "its-fault": {
                    "judged": "server",
                    "rfc": "a MUST",
                    "observed": "status 200",
                    "cases": ["a/1"],
                },
                "our-fault": {"judged": "case", "rfc": "a MAY", "observed": "closed", "cases": ["a/2"]},
            }
        }
    }
    path = tmp_path / "real_fails.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    monkeypatch.setattr(real_fails, "PINS", path)


def test_every_pinned_case_exists_once_and_every_group_is_judged() -> None:
    ids = {case.id for case in load_cases([bundled_cases_dir()])}
    document = real_fails._document()
    assert set(document) <= set(SUITES)
    for suite in document:
        for server in real_fails.servers(suite):
            groups = real_fails.groups(suite, server)  # raises on an unknown judgement
            assert groups, (suite, server)
            pinned = [case_id for group in groups.values() for case_id in group.cases]
            assert sorted(set(pinned) - ids) == [], (suite, server)
            assert len(pinned) == len(set(pinned)), (suite, server)
            assert all(group.rfc.strip() and group.cases for group in groups.values()), (suite, server)


@pytest.mark.usefixtures("pins")
def test_pins_as_observed_say_nothing() -> None:
    observed = results(a__1=("FAIL", "status 200"), a__2=("FAIL", "connection closed"), a__3=("PASS", ""))
    assert real_fails.differences("h1", "server-x", observed) == []


@pytest.mark.usefixtures("pins")
def test_a_fixed_case_is_named_with_both_verdicts() -> None:
    observed = results(a__1=("FAIL", "status 200"), a__2=("NON-STRICT", "connection closed"))
    (line,) = real_fails.differences("h1", "server-x", observed)
    assert line.startswith("a/2: FAIL -> NON-STRICT (pinned in our-fault, judged case; the case was fixed")


@pytest.mark.usefixtures("pins")
def test_a_new_fail_and_a_fail_for_another_reason_are_named() -> None:
    observed = results(a__1=("FAIL", "status 404"), a__2=("FAIL", "closed"), a__3=("FAIL", "oops"))
    lines = real_fails.differences("h1", "server-x", observed)
    assert lines == [
        "a/1: FAIL for another reason than its-fault expects (/status 200/; observed: status 404)",
        "a/3: FAIL, reviewed by nobody (observed: oops)",
    ]


@pytest.mark.usefixtures("pins")
def test_ignored_cases_and_missing_cases() -> None:
    observed = results(a__1=("NON-STRICT", "reset"))
    assert real_fails.differences("h1", "server-x", observed, ignore={"a/1"}) == [
        "a/2: pinned, but no such case ran"
    ]


def test_a_key_given_twice_is_refused(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A group written over another (as a slip of the indentation does) must not pass."""
    path = tmp_path / "real_fails.yaml"
    path.write_text("h1:\n  x:\n    g:\n      judged: case\n      judged: server\n", encoding="utf-8")
    monkeypatch.setattr(real_fails, "PINS", path)
    with pytest.raises(ValueError, match="given twice"):
        real_fails.servers("h1")
