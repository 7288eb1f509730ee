"""Splitting a run into CI shards, and merging results (shards, runs, targets) back into one.

A case belongs to shard ``K/N`` when a stable hash of its id (SHA-256, not Python's salted
``hash``) modulo N is K-1: the split does not depend on the order or number of the cases, so
adding a case moves no other case, and N shards cover every case exactly once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from conformance.errors import UsageError
from conformance.results import BaselineEntry, CaseResult, RunResults, TargetResults

_SHARD = re.compile(r"([0-9]+)/([0-9]+)")
PROTOCOL_ORDER = {"h1": 0, "h2": 1, "ws": 2}


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/4"`` -> ``(2, 4)``; K counts from 1."""
    match = _SHARD.fullmatch(text.strip())
    if not match:
        raise UsageError(f"shard {text!r}: expected K/N, e.g. 1/4")
    k, n = int(match.group(1)), int(match.group(2))
    if not 1 <= k <= n:
        raise UsageError(f"shard {text!r}: K must be between 1 and N")
    return k, n


def shard_index(case_id: str, count: int) -> int:
    """Which of ``count`` shards (0-based) the case ``case_id`` belongs to."""
    digest = hashlib.sha256(case_id.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % count


def in_shard(case_id: str, shard: tuple[int, int]) -> bool:
    k, n = shard
    return shard_index(case_id, n) == k - 1


def _natural(text: str) -> tuple[tuple[int, int | str], ...]:
    # "6.10" after "6.9"; letters (appendices) after numbers.
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"[.-]", text))


def case_sort_key(case_id: str) -> tuple[object, ...]:
    """A canonical order of case ids: protocol, RFC number, section (numerically), slug."""
    parts = case_id.split("/", 3)
    if len(parts) != 4:
        return (9, (), (), case_id)
    protocol, rfc, section, slug = parts
    return (PROTOCOL_ORDER.get(protocol, 9), _natural(rfc), _natural(section), slug)


def merge_results(runs: Sequence[RunResults]) -> tuple[RunResults, list[str]]:
    """One run from several: targets by name (in order of first appearance), each target's
    cases in canonical order (:func:`case_sort_key`), the union of their baseline entries.

    A case present twice for one target keeps the later input's result (one warning per
    target says how many did, not one per case: two runs of a whole suite repeat them all).
    The merged run starts when the first input started and lasts as long as the longest.
    """
    if not runs:
        raise ValueError("nothing to merge")
    warnings: list[str] = []
    order: list[str] = []
    urls: dict[str, str] = {}
    reachable: dict[str, bool] = {}
    cases: dict[str, dict[str, CaseResult]] = {}
    baselines: dict[str, dict[BaselineEntry, None]] = {}
    repeated: dict[str, list[str]] = {}
    resources: dict[str, tuple[tuple[str, str], ...]] = {}  # the first input's, per target
    for run in runs:
        for target in run.targets:
            if target.name not in cases:
                order.append(target.name)
                urls[target.name] = target.url
                reachable[target.name] = target.reachable
                cases[target.name] = {}
                baselines[target.name] = {}
                resources[target.name] = target.resources
            else:
                reachable[target.name] = reachable[target.name] or target.reachable
                if target.url != urls[target.name]:
                    warnings.append(
                        f"target {target.name}: {target.url} and {urls[target.name]} merged "
                        f"(the report shows {urls[target.name]})"
                    )
            for case in target.cases:
                if case.id in cases[target.name]:
                    repeated.setdefault(target.name, []).append(case.id)
                cases[target.name][case.id] = case
            for entry in target.baseline:
                baselines[target.name][entry] = None
    for name, case_ids in repeated.items():
        unique = list(dict.fromkeys(case_ids))
        shown = ", ".join(unique[:3]) + (f" and {len(unique) - 3} more" if len(unique) > 3 else "")
        count = f"{len(unique)} cases appear" if len(unique) != 1 else "1 case appears"
        warnings.append(
            f"target {name}: {count} in more than one file ({shown}); the later file's result is kept"
        )
    targets = tuple(
        TargetResults(
            name=name,
            url=urls[name],
            reachable=reachable[name],
            baseline=tuple(baselines[name]),
            resources=resources[name],
            cases=tuple(cases[name][i] for i in sorted(cases[name], key=case_sort_key)),
        )
        for name in order
    )
    versions = sorted({run.tool_version for run in runs})
    merged = RunResults(
        tool_version=versions[-1] if len(versions) == 1 else " + ".join(versions),
        started_at=min(run.started_at for run in runs),
        duration_s=max(run.duration_s for run in runs),
        targets=targets,
    )
    return merged, warnings
