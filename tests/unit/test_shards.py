"""Shards split the cases by a stable hash of their id; merging puts runs back together."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.errors import UsageError
from conformance.results import BaselineEntry, CaseResult, RunResults, TargetResults
from conformance.scenario import bundled_cases_dir
from conformance.scenario.loader import load_cases
from conformance.shards import case_sort_key, in_shard, merge_results, parse_shard, shard_index
from conformance.verdicts.verdict import Requirement, Verdict


@pytest.mark.parametrize(("text", "parsed"), [("1/1", (1, 1)), ("2/4", (2, 4)), (" 10/10 ", (10, 10))])
def test_parse_shard(text: str, parsed: tuple[int, int]) -> None:
    assert parse_shard(text) == parsed


@pytest.mark.parametrize("text", ["0/4", "5/4", "1/0", "a/b", "1", "1/2/3", "-1/2", ""])
def test_parse_shard_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="shard"):
        parse_shard(text)


def test_the_split_is_stable_across_processes_and_versions() -> None:
    # SHA-256 of the id, not Python's salted hash(): these never change.
    assert [shard_index("h1/9112/2.2/bare-cr-field-line", n) for n in (2, 3, 4, 7)] == [
        int.from_bytes(__import__("hashlib").sha256(b"h1/9112/2.2/bare-cr-field-line").digest()[:8], "big")
        % n
        for n in (2, 3, 4, 7)
    ]
    assert shard_index("h1/9112/2.2/leading-empty-line", 4) == shard_index(
        "h1/9112/2.2/leading-empty-line", 4
    )


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8])
def test_shards_cover_every_bundled_case_exactly_once(count: int) -> None:
    ids = [case.id for case in load_cases([bundled_cases_dir()])]
    shards = [[i for i in ids if in_shard(i, (k, count))] for k in range(1, count + 1)]
    assert sorted(i for shard in shards for i in shard) == sorted(ids)
    if count > 1:  # the hash spreads them: no shard is empty or holds nearly everything
        assert all(0 < len(shard) < len(ids) * 0.8 for shard in shards), [len(s) for s in shards]


@given(ids=st.lists(st.text(min_size=1, max_size=30), unique=True, max_size=50), count=st.integers(1, 12))
def test_any_ids_fall_in_exactly_one_shard(ids: list[str], count: int) -> None:
    for case_id in ids:
        assert sum(in_shard(case_id, (k, count)) for k in range(1, count + 1)) == 1


def test_shard_membership_does_not_depend_on_other_cases() -> None:
    assert in_shard("h1/9112/3/x", (shard_index("h1/9112/3/x", 5) + 1, 5))


def test_case_sort_key_is_natural() -> None:
    ids = [
        "ws/6455/1/a",
        "h1/9112/6.10/a",
        "h1/9112/6.9/b",
        "h1/9112/6.9/a",
        "h1/9110/13.1.2/a",
        "h2/9113/A.1/x",
        "h2/9113/6.5/y",
        "odd",
    ]
    assert sorted(ids, key=case_sort_key) == [
        "h1/9110/13.1.2/a",
        "h1/9112/6.9/a",
        "h1/9112/6.9/b",
        "h1/9112/6.10/a",
        "h2/9113/6.5/y",
        "h2/9113/A.1/x",
        "ws/6455/1/a",
        "odd",
    ]


def result(case_id: str, verdict: Verdict = Verdict.PASS, **kw: object) -> CaseResult:
    protocol, rfc, section, _ = case_id.split("/")
    return CaseResult(
        id=case_id,
        title="t",
        protocol=protocol,
        rfc=rfc,
        section=section,
        requirement=Requirement.MUST,
        verdict=verdict,
        **kw,  # type: ignore[arg-type]
    )


def run(started: str, duration: float, *targets: TargetResults, shard: str = "") -> RunResults:
    return RunResults(
        tool_version="0.1.0", started_at=started, duration_s=duration, targets=targets, shard=shard
    )


def test_merge_orders_targets_and_cases_and_unions_baselines() -> None:
    entry_a = BaselineEntry(pattern="h1/9112/2/*", reason="r", source="b:3")
    entry_b = BaselineEntry(pattern="h1/9112/3/x", reason="s", source="b:4")
    one = run(
        "2024-05-01T12:00:05Z",
        3.0,
        TargetResults(
            name="b",
            url="u",
            cases=(result("h1/9112/3/x", Verdict.FAIL, known_failure="s"),),
            baseline=(entry_a, entry_b),
        ),
        TargetResults(name="a", url="v", cases=(result("h1/9112/2/z"),), reachable=False),
        shard="1/2",
    )
    two = run(
        "2024-05-01T12:00:00Z",
        5.0,
        TargetResults(name="a", url="v", cases=(result("h1/9112/2/y"),)),
        TargetResults(
            name="b", url="u", cases=(result("h1/9112/10/w"), result("h1/9112/2/x")), baseline=(entry_a,)
        ),
        shard="2/2",
    )
    merged, warnings = merge_results([one, two])
    assert warnings == []
    assert [t.name for t in merged.targets] == ["b", "a"]
    b, a = merged.targets
    assert [c.id for c in b.cases] == ["h1/9112/2/x", "h1/9112/3/x", "h1/9112/10/w"]
    assert b.baseline == (entry_a, entry_b)
    assert b.cases[1].known_failure == "s"
    assert [c.id for c in a.cases] == ["h1/9112/2/y", "h1/9112/2/z"]
    assert a.reachable  # reachable in one of the runs
    assert merged.started_at == "2024-05-01T12:00:00Z" and merged.duration_s == 5.0 and merged.shard == ""


def test_merge_keeps_the_later_duplicate_and_says_so() -> None:
    first = run(
        "s", 1.0, TargetResults(name="t", url="http://a/", cases=(result("h1/9112/2/x", Verdict.FAIL),))
    )
    second = run(
        "s", 1.0, TargetResults(name="t", url="http://b/", cases=(result("h1/9112/2/x", Verdict.PASS),))
    )
    merged, warnings = merge_results([first, second])
    assert [c.verdict for c in merged.targets[0].cases] == [Verdict.PASS]
    assert merged.targets[0].url == "http://a/"
    assert warnings == [
        "target t: http://b/ and http://a/ merged (the report shows http://a/)",
        "target t: 1 case appears in more than one file (h1/9112/2/x); the later file's result is kept",
    ]


def test_merging_two_runs_of_one_target_says_so_once_not_per_case() -> None:
    cases = tuple(result(f"h1/9112/2/c{n}") for n in range(5))
    other = TargetResults(name="u", url="http://u/", cases=cases[:1])
    first = run("s", 1.0, TargetResults(name="t", url="http://a/", cases=cases), other)
    second = run("s", 1.0, TargetResults(name="t", url="http://a/", cases=cases), other)
    merged, warnings = merge_results([first, second, second])
    assert len(merged.targets[0].cases) == 5
    assert warnings == [
        "target t: 5 cases appear in more than one file (h1/9112/2/c0, h1/9112/2/c1, h1/9112/2/c2 "
        "and 2 more); the later file's result is kept",
        "target u: 1 case appears in more than one file (h1/9112/2/c0); the later file's result is kept",
    ]


def test_merging_one_run_only_reorders_it() -> None:
    target = TargetResults(name="t", url="u", cases=(result("h1/9112/3/b"), result("h1/9112/2/a")))
    single = run("s", 1.0, target)
    merged, _ = merge_results([single])
    assert merged == dataclasses.replace(
        single, targets=(dataclasses.replace(target, cases=target.cases[::-1]),)
    )
    with pytest.raises(ValueError):
        merge_results([])
