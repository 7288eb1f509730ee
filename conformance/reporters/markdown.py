"""``summary.md``: the results in GitHub-flavoured Markdown, for a CI step summary or a PR comment.

What matters, not every case: the verdict of the run, per target the counts per verdict, then
the FAILs that gate (with expected, observed and the step) — the regressions, when a baseline
was given —, the ERRORs, the FAILs the baseline expects and the baseline entries that no longer
FAIL; with several targets, a matrix of the cases that FAIL, end in ERROR or are NON-STRICT
somewhere, or on which the targets that ran them disagree (a case that PASSes wherever it ran
is only counted: the default run's targets each run their own suite).

GitHub renders HTML inside Markdown, so everything from the results goes through
:func:`md_text`: visible, clipped, with ``& < >`` as entities and Markdown punctuation
backslash-escaped. The page is capped (GitHub takes 1 MiB per step summary): lists and the
matrix stop after :data:`LIST_LIMIT` entries and point at the full report.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from conformance.reporters._text import clip, visible
from conformance.results import CaseResult, RunResults, TargetResults
from conformance.verdicts.verdict import Requirement, Verdict

TEXT_LIMIT = 500
LIST_LIMIT = 50
MATRIX_LIMIT = LIST_LIMIT
_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")
_SAFE_ID = re.compile(r"[A-Za-z0-9._/-]+")


def md_text(text: str, limit: int = TEXT_LIMIT) -> str:
    """``text`` as inert Markdown: shown as it is, never as markup, links or HTML."""
    text = visible(clip(text, limit))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _PUNCTUATION.sub(r"\\\1", text)
    return "<br>".join(line for line in text.split("\n"))


def md_id(case_id: str) -> str:
    """A case id as code when it is plain (ids from case files are), as text otherwise."""
    return f"`{case_id}`" if _SAFE_ID.fullmatch(case_id) else md_text(case_id)


def verdict_label(case: CaseResult) -> str:
    """``FAIL``, or ``FAIL (known)`` for a FAIL the baseline expects."""
    if case.known_failure is not None:
        return "FAIL (known)"
    return case.verdict.value


def _step(case: CaseResult) -> str:
    if case.step is None:
        return case.step_text
    return f"step {case.step}: {case.step_text}" if case.step_text else f"step {case.step}"


def _counts_table(results: RunResults) -> list[str]:
    head = ["target", *(v.value for v in Verdict), "total"]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|--:" * (len(head) - 1) + "|"]
    for target in results.targets:
        counts = Counter(case.verdict for case in target.cases)
        known = len(target.known_failures())
        cells = [md_text(target.name) + ("" if target.reachable else " **(unreachable)**")]
        for verdict in Verdict:
            cell = str(counts[verdict])
            if verdict is Verdict.FAIL and known:
                cell += f" ({known} known)"
            cells.append(cell)
        cells.append(str(len(target.cases)))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _failure(case: CaseResult) -> list[str]:
    section = f" — RFC {md_text(case.rfc)} §{md_text(case.section)}" if case.rfc else ""
    lines = [f"- **FAIL** {case.requirement.value} {md_id(case.id)} {md_text(case.title)}{section}"]
    lines.append(f"  - expected: {md_text(case.expected)}")
    lines.append(f"  - observed: {md_text(case.observed)}")
    if step := _step(case):
        lines.append(f"  - at: {md_text(step)}")
    return lines


def _limited(items: list[CaseResult], render: Callable[[CaseResult], list[str]], what: str) -> list[str]:
    lines: list[str] = []
    for case in items[:LIST_LIMIT]:
        lines.extend(render(case))
    if len(items) > LIST_LIMIT:
        lines.append(f"- … and {len(items) - LIST_LIMIT} more {what}: see the full report")
    return lines


def _target_section(results: RunResults, target: TargetResults, fail_on: Requirement) -> list[str]:
    lines = ["", f"## {md_text(target.name)}", "", md_text(target.url)]
    if not target.reachable:
        lines += ["", "**Unreachable:** not one connection could be made."]
    fails = sorted((c for c in target.cases if c.is_new_failure), key=lambda c: (-c.requirement.rank, c.id))
    gating = [c for c in fails if c.requirement.rank >= fail_on.rank]
    below = [c for c in fails if c.requirement.rank < fail_on.rank]
    if gating:
        new = "New FAIL" if target.baseline or target.known_failures() else "FAIL"
        regressions = ", not in the baseline: regressions" if new != "FAIL" else ""
        lines += ["", f"### {new} at {_level(fail_on)}{regressions} ({len(gating)})", ""]
        lines += _limited(gating, _failure, "failures")
    if below:
        lines += ["", f"### FAIL below {fail_on.value} ({len(below)}, not gating)", ""]
        lines += _limited(below, _failure, "failures")
    errors = [c for c in target.cases if c.verdict is Verdict.ERROR]
    if errors:
        lines += ["", f"### ERROR ({len(errors)})", ""]
        by_reason: dict[str, list[CaseResult]] = {}
        for case in errors:
            by_reason.setdefault(case.observed or "the harness could not run the case", []).append(case)
        for reason, cases in list(by_reason.items())[:LIST_LIMIT]:
            if len(cases) == 1:
                lines.append(f"- {md_id(cases[0].id)}: {md_text(reason)}")
            else:
                lines.append(f"- {len(cases)} cases: {md_text(reason)}")
    known = target.known_failures()
    if known:
        lines += ["", f"### Known failures, expected by the baseline ({len(known)})", ""]
        lines += _limited(
            list(known),
            lambda c: [f"- {md_id(c.id)}: {md_text(c.known_failure or '')}"],
            "known failures",
        )
    stale = results.stale_baseline_of(target)
    if stale:
        lines += ["", f"### Baseline entries that no longer FAIL ({len(stale)}): remove them", ""]
        for entry in stale[:LIST_LIMIT]:
            where = f" ({md_text(entry.entry.source)})" if entry.entry.source else ""
            lines.append(f"- {md_text(entry.describe())}{where}")
    return lines


def _level(fail_on: Requirement) -> str:
    return fail_on.value if fail_on is Requirement.MUST else f"{fail_on.value} or stricter"


_NOTABLE = (Verdict.FAIL, Verdict.ERROR, Verdict.NON_STRICT)


def _matrix(results: RunResults) -> list[str]:
    """The cases that FAIL, ERROR or are NON-STRICT on some target, or whose verdicts differ
    between the targets that ran them: FAILs and ERRORs first, at most :data:`MATRIX_LIMIT`.
    A target that did not run a case (another suite's) is a dash, not a difference; nor is a
    SKIPPED (a case that does not apply there: the opening handshake over HTTP/2)."""
    names = [t.name for t in results.targets]
    verdicts: dict[str, dict[int, CaseResult]] = {}
    for index, target in enumerate(results.targets):
        for case in target.cases:
            verdicts.setdefault(case.id, {})[index] = case
    rows = []
    for case_id, cells in verdicts.items():
        seen = {cell.verdict for cell in cells.values()}
        applied = seen - {Verdict.SKIPPED}
        if len(applied) <= 1 and not seen & set(_NOTABLE):
            continue
        worst = 0 if any(c.is_new_failure or c.verdict is Verdict.ERROR for c in cells.values()) else 1
        rows.append((worst, case_id, cells))
    rows.sort(key=lambda row: row[0])  # stable: the canonical order within each group
    lines = ["", "## Matrix", ""]
    if not rows:
        return [
            *lines,
            f"No case FAILs, ends in ERROR or is NON-STRICT, and the targets agree on each of the "
            f"{len(verdicts)} cases.",
        ]
    lines.append(
        f"{len(rows)} of {len(verdicts)} cases FAIL, end in ERROR or are NON-STRICT on some target, "
        "or the targets that ran them disagree (–: not run against that target):"
    )
    lines += ["", "| case | " + " | ".join(md_text(n) for n in names) + " |", "|---" * (len(names) + 1) + "|"]
    for _, case_id, cells in rows[:MATRIX_LIMIT]:
        shown = [verdict_label(cells[i]) if i in cells else "–" for i in range(len(names))]
        lines.append(f"| {md_id(case_id)} | " + " | ".join(shown) + " |")
    if len(rows) > MATRIX_LIMIT:
        lines.append(f"\n… and {len(rows) - MATRIX_LIMIT} more rows: see the full report")
    return lines


def render_markdown(results: RunResults, fail_on: Requirement = Requirement.MUST) -> str:
    """``results`` as a Markdown summary, ending with a newline."""
    gating = sum(len(t.new_failures(fail_on)) for t in results.targets)
    known = sum(len(t.known_failures()) for t in results.targets)
    plural = "s" if len(results.targets) != 1 else ""
    lines = ["# Conformance results", ""]
    shard = f" · shard {md_text(results.shard)}" if results.shard else ""
    lines.append(
        f"conformance {md_text(results.tool_version)} · started {md_text(results.started_at)} · "
        f"{len(results.targets)} target{plural}{shard}"
    )
    lines.append("")
    if results.interrupted:
        lines += [
            f"**Interrupted run ({md_text(results.interrupted)})**: only the cases that finished "
            "before it are reported.",
            "",
        ]
    verdict = f"**{gating} new FAIL at {_level(fail_on)}**" if gating else f"No new FAIL at {_level(fail_on)}"
    if known:
        verdict += f" ({known} known, expected by the baseline)"
    lines += [verdict, ""]
    lines += _counts_table(results)
    for target in results.targets:
        lines += _target_section(results, target, fail_on)
    unmatched = results.unmatched_baseline
    if unmatched:
        lines += [
            "",
            f'## Baseline entries for every target ("\\*") that match no case ({len(unmatched)})',
            "",
        ]
        for entry in unmatched[:LIST_LIMIT]:
            where = f" ({md_text(entry.source)})" if entry.source else ""
            lines.append(f"- {md_text(entry.pattern)}{where}")
    if len(results.targets) > 1:
        lines += _matrix(results)
    return "\n".join(lines) + "\n"


def write_markdown(results: RunResults, path: Path, fail_on: Requirement = Requirement.MUST) -> None:
    Path(path).write_text(render_markdown(results, fail_on), encoding="utf-8", newline="\n")


def append_markdown(results: RunResults, path: Path, fail_on: Requirement = Requirement.MUST) -> None:
    """Append the summary to ``path`` (``$GITHUB_STEP_SUMMARY`` collects several steps' output)."""
    with Path(path).open("a", encoding="utf-8", newline="\n") as out:
        out.write(render_markdown(results, fail_on))


_SHORT = {
    Verdict.PASS: "PASS",
    Verdict.NON_STRICT: "non-strict",
    Verdict.FAIL: "**FAIL**",
    Verdict.INFORMATIONAL: "info",
    Verdict.UNIMPLEMENTED: "unimpl.",
    Verdict.SKIPPED: "skip",
    Verdict.ERROR: "**ERROR**",
}


def render_verdict_matrix(results: RunResults, title: str = "Verdict matrix") -> str:
    """Every case against every target, grouped by RFC section: the side-by-side table for
    documentation (no cap, unlike the summary's matrix of differences)."""
    names = [t.name for t in results.targets]
    by_case: dict[str, dict[int, CaseResult]] = {}
    for index, target in enumerate(results.targets):
        for case in target.cases:
            by_case.setdefault(case.id, {})[index] = case
    lines = [f"# {md_text(title)}", ""]
    lines.append(
        f"Generated by conformance {md_text(results.tool_version)} on {md_text(results.started_at)}: "
        f"{len(by_case)} cases × {len(names)} targets. FAIL means the target did what the cited RFC "
        "text does not allow; non-strict, an allowed but not preferred behaviour; skip, a case "
        "that needs what the target does not offer (the echo endpoint)."
    )
    lines += ["", *_counts_table(results)]
    sections: dict[str, list[str]] = {}
    for case_id in by_case:
        protocol, rfc, section, _ = case_id.split("/", 3) if case_id.count("/") >= 3 else ("", "", "", "")
        sections.setdefault(f"{protocol} · RFC {rfc} §{section}", []).append(case_id)
    header = "| case | " + " | ".join(md_text(n) for n in names) + " |"
    rule = "|---" * (len(names) + 1) + "|"
    for heading, case_ids in sections.items():
        lines += ["", f"## {md_text(heading)}", "", header, rule]
        for case_id in case_ids:
            cells = by_case[case_id]
            shown = [_SHORT[cells[i].verdict] if i in cells else "–" for i in range(len(names))]
            slug = case_id.rsplit("/", 1)[-1]
            lines.append(f"| {md_id(slug)} | " + " | ".join(shown) + " |")
    return "\n".join(lines) + "\n"
