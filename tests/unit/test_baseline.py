"""Baseline files: the format, its located errors, applying one, and writing one from a run."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.baseline import (
    BaselineError,
    apply_baseline,
    baseline_from_results,
    load_baseline,
    parse_baseline,
    placeholder_reason,
)
from conformance.reporters._text import visible
from conformance.results import BaselineEntry, CaseResult, RunResults, TargetResults
from conformance.verdicts.verdict import Requirement, Verdict


def result(case_id: str, verdict: Verdict, **kw: object) -> CaseResult:
    protocol, rfc, section, _ = case_id.split("/")
    fields: dict[str, object] = dict(
        id=case_id,
        title="t",
        protocol=protocol,
        rfc=rfc,
        section=section,
        requirement=Requirement.MUST,
        verdict=verdict,
    )
    fields.update(kw)
    return CaseResult(**fields)  # type: ignore[arg-type]


def run(*targets: TargetResults) -> RunResults:
    return RunResults(
        tool_version="0.1.0", started_at="2024-05-01T12:00:00Z", duration_s=1.0, targets=targets
    )


def test_parse_sections_ids_and_prefixes() -> None:
    baseline = parse_baseline(
        'version: 1\ntargets:\n  "*":\n    h1/9112/2.2/*: every bare CR case\n  nginx:\n'
        "    h1/9112/6.3/x: '  padded reason  '\n  empty:\n",
        "b.yaml",
    )
    assert baseline.sections == {
        "*": (BaselineEntry(pattern="h1/9112/2.2/*", reason="every bare CR case", source="b.yaml:4"),),
        "nginx": (
            BaselineEntry(
                pattern="h1/9112/6.3/x", reason="padded reason", source="b.yaml:6", section="nginx"
            ),
        ),
        "empty": (),
    }
    assert [e.pattern for e in baseline.entries_for("nginx")] == ["h1/9112/6.3/x", "h1/9112/2.2/*"]
    assert [e.pattern for e in baseline.entries_for("other")] == ["h1/9112/2.2/*"]
    assert baseline.unknown_targets(["other"]) == ["nginx", "empty"]
    assert parse_baseline("targets:\n", "b").sections == {}
    assert parse_baseline("targets: {}\n", "b").sections == {}


def test_entry_matching_is_exact_or_an_explicit_prefix() -> None:
    exact = BaselineEntry(pattern="h1/9112/2.2/bare-cr", reason="r")
    assert exact.matches("h1/9112/2.2/bare-cr")
    assert not exact.matches("h1/9112/2.2/bare-cr-field-line")  # no accidental prefix
    prefix = BaselineEntry(pattern="h1/9112/2.2/bare-cr*", reason="r")
    assert prefix.matches("h1/9112/2.2/bare-cr-field-line") and prefix.matches("h1/9112/2.2/bare-cr")
    assert BaselineEntry(pattern="*", reason="r").matches("anything")


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        ("", ["b.yaml:1:1: error: empty baseline file"]),
        ("- a\n", ["b.yaml:1:1: error: a baseline is a mapping"]),
        ("targets: [\n", ["b.yaml:2:1: error: YAML syntax"]),
        ("version: 1\n", ["b.yaml:1:1: error: missing 'targets'"]),
        ("version: 2\ntargets:\n", ["b.yaml:1:10: error: unsupported baseline version 2"]),
        ("targets:\nextra: 1\n", ["b.yaml:2:8: error: unknown key 'extra'"]),
        ("targets: [a]\n", ["b.yaml:1:10: error: 'targets' must map"]),
        ("targets:\n  bad name:\n    a/b/c/d: r\n", ["b.yaml:3:5: error: target name 'bad name'"]),
        ("targets:\n  t: [a]\n", ["b.yaml:2:6: error: target 't': expected a mapping"]),
        (
            "targets:\n  t:\n    h1/*/x: r\n    'h1 x': r\n    h1/9112/1/a: ''\n    h1/9112/1/b: 3\n    h1/9112/1/c:\n",
            [
                "b.yaml:3:13: error: 'h1/*/x' is not a case id or an id prefix ending in '*'",
                "b.yaml:4:13: error: 'h1 x' is not a case id",
                "b.yaml:5:18: error: h1/9112/1/a: the reason must be non-empty text",
                "b.yaml:6:18: error: h1/9112/1/b: the reason must be non-empty text",
                "b.yaml:7:17: error: h1/9112/1/c: the reason must be non-empty text",
            ],
        ),
        ("targets:\n  t:\n    a/b/c/d: r\n    a/b/c/d: s\n", ["b.yaml:4:5: error: duplicate key 'a/b/c/d'"]),
    ],
)
def test_every_mistake_is_reported_with_file_line_and_column(text: str, errors: list[str]) -> None:
    with pytest.raises(BaselineError) as info:
        parse_baseline(text, "b.yaml")
    rendered = [error.render() for error in info.value.errors]
    assert len(rendered) == len(errors), rendered
    for got, want in zip(rendered, errors, strict=True):
        assert got.startswith(want), (got, want)


def test_load_baseline_reports_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match=r"missing\.yaml:1:1: error: cannot read"):
        load_baseline(tmp_path / "missing.yaml")
    (tmp_path / "latin1.yaml").write_bytes(b"targets:\n  t:\n    a/b/c/d: caf\xe9\n")
    with pytest.raises(BaselineError, match="not UTF-8"):
        load_baseline(tmp_path / "latin1.yaml")


def test_apply_prefers_the_most_specific_entry_and_marks_only_fails() -> None:
    baseline = parse_baseline(
        "targets:\n"
        "  '*':\n    h1/9112/2.2/*: all of 2.2\n    h1/9112/2.2/a: exactly a, anywhere\n"
        "  t:\n    h1/9112/*: all of 9112 on t\n    h1/9112/2.2/*: 2.2 on t\n",
        "b",
    )
    target = TargetResults(
        name="t",
        url="u",
        cases=(
            result("h1/9112/2.2/a", Verdict.FAIL),
            result("h1/9112/2.2/b", Verdict.FAIL),
            result("h1/9112/3/c", Verdict.FAIL),
            result("h1/9112/2.2/d", Verdict.PASS),
            result("h1/9110/1/e", Verdict.FAIL),
        ),
    )
    (applied,) = apply_baseline(run(target), baseline).targets
    assert [c.known_failure for c in applied.cases] == [
        "exactly a, anywhere",
        "2.2 on t",
        "all of 9112 on t",
        None,
        None,
    ]
    assert [c.id for c in applied.new_failures()] == [
        "h1/9112/2.2/e".replace("2.2/e", "1/e").replace("9112", "9110")
    ]
    assert applied.stale_baseline == ()  # every entry still matches a FAIL
    again = apply_baseline(run(applied), parse_baseline("targets:\n", "b")).targets[0]
    assert all(c.known_failure is None for c in again.cases) and again.baseline == ()


def test_baseline_from_results_round_trips_and_silences_every_fail() -> None:
    hostile = 'quote " backslash \\ newline \n nul \x00 line-sep \u2028 emoji 😀 lone \ud800 # not a comment'
    target = TargetResults(
        name="srv",
        url="u",
        cases=(
            result("h1/9112/2.2/a", Verdict.FAIL, observed=hostile, expected="a 400 response"),
            result("h1/9112/2.2/b", Verdict.PASS),
            result("h1/9112/2.2/c", Verdict.FAIL, requirement=Requirement.SHOULD),
        ),
    )
    clean = TargetResults(name="clean", url="u", cases=(result("h1/9112/2.2/a", Verdict.PASS),))
    text = baseline_from_results(run(target, clean), source="results.json")
    assert text.startswith("# conformance baseline")
    assert '"clean"' not in text
    baseline = parse_baseline(text, "generated.yaml")
    assert list(baseline.sections) == ["srv"]
    entries = baseline.sections["srv"]
    assert [e.pattern for e in entries] == ["h1/9112/2.2/a", "h1/9112/2.2/c"]
    assert entries[0].reason.startswith('MUST FAIL: observed quote " backslash \\ newline nul \\x00 line-sep')
    assert "emoji 😀 lone \\ud800 # not a comment; expected a 400 response" in entries[0].reason
    assert entries[1].reason == "SHOULD FAIL: observed no observation recorded"
    applied = apply_baseline(run(target, clean), baseline)
    assert not any(t.new_failures(Requirement.MAY) for t in applied.targets)
    assert parse_baseline(baseline_from_results(run(clean)), "b").sections == {}


@given(
    observed=st.text(st.characters(codec=None, exclude_categories=()), max_size=60),
    name=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,10}", fullmatch=True),
)
def test_a_generated_baseline_always_parses(observed: str, name: str) -> None:
    target = TargetResults(
        name=name, url="u", cases=(result("h1/9112/2.2/a", Verdict.FAIL, observed=observed),)
    )
    baseline = parse_baseline(baseline_from_results(run(target)), "b")
    (entry,) = baseline.sections[name]
    assert entry.reason == visible(placeholder_reason(target.cases[0])).strip()


def test_rewriting_a_baseline_keeps_the_reasons_already_written() -> None:
    target = TargetResults(
        name="srv",
        url="u",
        cases=(
            result("h1/9112/2.2/a", Verdict.FAIL, observed="x"),
            result("h1/9112/2.2/b", Verdict.FAIL, observed="y"),
        ),
    )
    known = apply_baseline(
        run(target), parse_baseline('targets:\n  "*":\n    h1/9112/2.2/a: "our reason"\n', "b")
    )
    rewritten = parse_baseline(baseline_from_results(known), "b").sections["srv"]
    assert [(e.pattern, e.reason) for e in rewritten] == [
        ("h1/9112/2.2/a", "our reason"),
        ("h1/9112/2.2/b", "MUST FAIL: observed y"),
    ]


def test_star_entries_matching_nothing_anywhere_are_reported_once_for_the_run() -> None:
    baseline = parse_baseline(
        'targets:\n  "*":\n    h1/9112/2.2/a: r\n    ws/6455/1/*: s\n    h9/1/1/x: t\n', "b"
    )
    h1 = TargetResults(name="h1", url="u", cases=(result("h1/9112/2.2/a", Verdict.FAIL),))
    ws = TargetResults(name="ws", url="u", cases=(result("ws/6455/1/b", Verdict.PASS),))
    applied = apply_baseline(run(h1, ws), baseline)
    assert [s.describe() for s in applied.targets[0].stale_baseline] == []
    assert [s.describe() for s in applied.targets[1].stale_baseline] == ["ws/6455/1/*: now PASS"]
    assert [e.pattern for e in applied.unmatched_baseline] == ["h9/1/1/x"]


def test_a_shard_reports_as_stale_only_the_exact_ids_whose_case_it_ran() -> None:
    """A shard ran some cases: an entry matching none of them, or a prefix whose other cases
    ran elsewhere, is not judged there (the merged report judges it)."""
    from conformance.reporters.github import workflow_commands
    from conformance.reporters.html_data import summary_data
    from conformance.reporters.markdown import render_markdown

    baseline = parse_baseline(
        "targets:\n  srv:\n    h1/9112/2.2/passes: a\n    h1/9112/2.2/elsewhere: b\n"
        '    h1/9112/3/*: c\n  "*":\n    h9/1/1/x: d\n',
        "b.yaml",
    )
    cases = (result("h1/9112/2.2/passes", Verdict.PASS), result("h1/9112/3/one", Verdict.PASS))
    whole = apply_baseline(run(TargetResults(name="srv", url="u", cases=cases)), baseline)
    shard = dataclasses.replace(whole, shard="2/4")
    [target] = whole.targets
    everything = ["h1/9112/2.2/passes: now PASS", "h1/9112/2.2/elsewhere: matched no case of this run",
                  "h1/9112/3/*: now PASS"]  # fmt: skip
    assert [s.describe() for s in whole.stale_baseline_of(target)] == everything
    assert [e.pattern for e in whole.unmatched_baseline] == ["h9/1/1/x"]
    assert [s.describe() for s in shard.stale_baseline_of(target)] == ["h1/9112/2.2/passes: now PASS"]
    assert shard.unmatched_baseline == ()
    # Every output of the shard says the same.
    [target_json] = shard.to_json()["targets"]
    assert [s["pattern"] for s in target_json["baseline_stale"]] == ["h1/9112/2.2/passes"]
    assert shard.to_json()["baseline_unmatched"] == []
    assert [s["pattern"] for s in summary_data(shard)["baseline"]["targets"][0]["stale"]] == [
        "h1/9112/2.2/passes"
    ]
    notices = [line for line in workflow_commands(shard, Requirement.MUST) if line.startswith("::notice")]
    assert len(notices) == 1 and "h1/9112/2.2/passes" in notices[0]
    markdown = render_markdown(shard)
    assert "no longer FAIL (1)" in markdown and "elsewhere" not in markdown and "h9/1/1/x" not in markdown
