"""Comparing two runs: which cases regressed, which were fixed, which are new or gone.

Targets are matched by name and cases by id; when each run has one target, those two are
compared whatever their names (an unnamed target is called by its host:port, which a CI job's
server may change every run). A change is

- a **regression** when the new verdict is FAIL and the old one was not, or the new verdict is
  ERROR and the old one was neither FAIL nor ERROR (the case stopped running);
- a **fix** when the old verdict was FAIL or ERROR and the new one is neither;
- **changed** otherwise (PASS -> NON-STRICT, FAIL -> ERROR, SKIPPED -> PASS, ...).

A FAIL the new run's baseline expects is still listed as a regression, marked known, but does
not count for the exit status; nor does a FAIL below ``fail_on``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from conformance.reporters._text import visible
from conformance.reporters.markdown import md_id, md_text
from conformance.results import CaseResult, RunResults
from conformance.shards import case_sort_key
from conformance.verdicts.verdict import Requirement, Verdict

_BAD = (Verdict.FAIL, Verdict.ERROR)
KINDS = ("regression", "fix", "changed", "new", "removed")


@dataclass(frozen=True, kw_only=True)
class CaseChange:
    """One case of one target whose verdict differs between the runs (or that exists in one)."""

    target: str
    case_id: str
    kind: str  # one of KINDS
    old: Verdict | None
    new: Verdict | None
    requirement: Requirement
    title: str = ""
    observed: str = ""  # what the new run observed (the old one for a removed case)
    known_failure: str | None = None  # the new run's baseline expects this FAIL

    def gates(self, fail_on: Requirement) -> bool:
        """Does this change fail a CI gate at ``fail_on``?"""
        if self.kind != "regression" or self.known_failure is not None:
            return False
        return self.new is Verdict.ERROR or self.requirement.rank >= fail_on.rank

    def describe(self) -> str:
        old = self.old.value if self.old else "absent"
        new = self.new.value if self.new else "absent"
        known = " (known: in the baseline)" if self.known_failure is not None else ""
        return f"{self.case_id}: {old} -> {new}{known}"

    def to_json(self) -> dict[str, object]:
        return {
            "target": self.target,
            "id": self.case_id,
            "kind": self.kind,
            "old": self.old.value if self.old else None,
            "new": self.new.value if self.new else None,
            "requirement": self.requirement.value,
            "title": self.title,
            "observed": self.observed,
            "known_failure": self.known_failure,
        }


def classify(old: Verdict, new: Verdict) -> str | None:
    if old is new:
        return None
    if new is Verdict.FAIL or (new is Verdict.ERROR and old not in _BAD):
        return "regression"
    if old in _BAD and new not in _BAD:
        return "fix"
    return "changed"


def _change(target: str, kind: str, old: CaseResult | None, new: CaseResult | None) -> CaseChange:
    current = new or old
    assert current is not None
    return CaseChange(
        target=target,
        case_id=current.id,
        kind=kind,
        old=old.verdict if old else None,
        new=new.verdict if new else None,
        requirement=current.requirement,
        title=current.title,
        observed=current.observed,
        known_failure=new.known_failure if new else None,
    )


@dataclass(frozen=True, kw_only=True)
class RunDiff:
    changes: tuple[CaseChange, ...]
    targets_added: tuple[str, ...] = ()
    targets_removed: tuple[str, ...] = ()
    unchanged: int = 0
    paired: tuple[str, str] | None = None  # (old name, new name): the only targets, compared

    def of_kind(self, kind: str) -> tuple[CaseChange, ...]:
        return tuple(change for change in self.changes if change.kind == kind)

    def gating(self, fail_on: Requirement = Requirement.MUST) -> tuple[CaseChange, ...]:
        return tuple(change for change in self.changes if change.gates(fail_on))


def diff_runs(old: RunResults, new: RunResults) -> RunDiff:
    """Every difference between ``old`` and ``new``, per target, per case in canonical order."""
    old_targets = {t.name: t for t in old.targets}
    new_targets = {t.name: t for t in new.targets}
    paired = None
    if len(old.targets) == 1 and len(new.targets) == 1 and old.targets[0].name != new.targets[0].name:
        paired = (old.targets[0].name, new.targets[0].name)
        old_targets = {new.targets[0].name: old.targets[0]}
    names = [t.name for t in new.targets] + [t.name for t in old.targets if t.name not in new_targets]
    changes: list[CaseChange] = []
    unchanged = 0
    for name in names:
        before = {c.id: c for c in old_targets[name].cases} if name in old_targets else {}
        after = {c.id: c for c in new_targets[name].cases} if name in new_targets else {}
        for case_id in sorted(before.keys() | after.keys(), key=case_sort_key):
            was, now = before.get(case_id), after.get(case_id)
            if was is None:
                changes.append(_change(name, "new", None, now))
            elif now is None:
                changes.append(_change(name, "removed", was, None))
            elif (kind := classify(was.verdict, now.verdict)) is not None:
                changes.append(_change(name, kind, was, now))
            else:
                unchanged += 1
    return RunDiff(
        changes=tuple(changes),
        targets_added=tuple(n for n in new_targets if n not in old_targets),
        targets_removed=tuple(n for n in old_targets if n not in new_targets),
        unchanged=unchanged,
        paired=paired,
    )


_HEADINGS = {
    "regression": "Regressions",
    "fix": "Fixes",
    "changed": "Other changes",
    "new": "New cases",
    "removed": "Removed cases",
}


def _counts_line(diff: RunDiff, fail_on: Requirement) -> str:
    parts = [f"{len(diff.of_kind(kind))} {_HEADINGS[kind].lower()}" for kind in KINDS]
    gating = len(diff.gating(fail_on))
    return ", ".join(parts) + f", {diff.unchanged} unchanged; {gating} gating at {fail_on.value}"


def render_text(diff: RunDiff, fail_on: Requirement = Requirement.MUST) -> str:
    lines: list[str] = []
    if diff.paired:
        old_name, new_name = (visible(name) for name in diff.paired)
        lines.append(
            f"target {old_name} (old run) compared with {new_name} (new run): each run has one target"
        )
    for name in diff.targets_added:
        lines.append(f"target {visible(name)}: only in the new run")
    for name in diff.targets_removed:
        lines.append(f"target {visible(name)}: only in the old run")
    for kind in KINDS:
        changes = diff.of_kind(kind)
        if not changes:
            continue
        lines.append(f"{_HEADINGS[kind]} ({len(changes)}):")
        for change in changes:
            level = f"{change.requirement.value:<6}"
            lines.append(f"  {visible(change.target)}  {level} {visible(change.describe())}")
    lines.append(_counts_line(diff, fail_on))
    return "\n".join(lines) + "\n"


def render_markdown_diff(diff: RunDiff, fail_on: Requirement = Requirement.MUST) -> str:
    lines = ["# Conformance diff", "", _counts_line(diff, fail_on)]
    if diff.paired:
        old_name, new_name = (md_text(name) for name in diff.paired)
        lines += [
            "",
            f"- target {old_name} (old run) compared with {new_name} (new run): each run has one target",
        ]
    for name in diff.targets_added:
        lines += ["", f"- target {md_text(name)}: only in the new run"]
    for name in diff.targets_removed:
        lines += ["", f"- target {md_text(name)}: only in the old run"]
    for kind in KINDS:
        changes = diff.of_kind(kind)
        if not changes:
            continue
        lines += ["", f"## {_HEADINGS[kind]} ({len(changes)})", ""]
        lines += ["| target | case | requirement | old | new |", "|---|---|---|---|---|"]
        for change in changes:
            old = change.old.value if change.old else "–"
            new = change.new.value if change.new else "–"
            if change.known_failure is not None:
                new += " (known)"
            lines.append(
                f"| {md_text(change.target)} | {md_id(change.case_id)} | {change.requirement.value} "
                f"| {old} | {new} |"
            )
    return "\n".join(lines) + "\n"


def render_json_diff(diff: RunDiff, fail_on: Requirement = Requirement.MUST) -> str:
    document = {
        "fail_on": fail_on.value,
        "gating": len(diff.gating(fail_on)),
        "counts": {kind: len(diff.of_kind(kind)) for kind in KINDS} | {"unchanged": diff.unchanged},
        "targets_added": list(diff.targets_added),
        "targets_removed": list(diff.targets_removed),
        "paired": list(diff.paired) if diff.paired else None,
        "changes": [change.to_json() for change in diff.changes],
    }
    return json.dumps(document, indent=1, ensure_ascii=True) + "\n"
