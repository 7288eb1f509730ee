"""The data behind ``index.html``: what the page's script reads, built from one RunResults.

Two JSON documents are embedded in the page (see :mod:`conformance.reporters.html`):

- the **summary** (:func:`summary_data`), parsed when the page opens: the run, the targets
  with their counts, every case once (id, title, requirement, section, RFC link) with its
  verdict per target (and, for a FAIL the baseline expects, the baseline's reason), the
  per-section tallies, and the baseline: its stale and unmatched entries. Small: a few
  hundred bytes per case.
- the **details** (:func:`details_data`), parsed only when a case is first opened: per case
  and target the expected and observed text, the step where they diverged, notes, and the
  transcript. Wire bytes are base64 (the page decodes, escapes and hex-dumps them on
  demand); each entry shows at most :data:`ENTRY_LIMIT` bytes and each case at most
  :data:`CASE_LIMIT` over all its entries, and what is left out is named by its size and
  SHA-256. Strings in decoded fields are cut at :data:`DETAIL_STRING_LIMIT` the same way.

Every string that came from a target goes through :func:`~conformance.reporters._text.visible`
here, so the page never holds a control character, a bidi override or a lone surrogate.
Building the data is pure: the same results give the same data.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

from conformance.gate import judge_gate
from conformance.reporters._text import rfc_url, visible
from conformance.results import (
    ELIDED,
    BaselineEntry,
    CaseResult,
    Direction,
    RunResults,
    StaleEntry,
    TargetResults,
    TranscriptEntry,
    cap_detail,
)
from conformance.verdicts.verdict import Requirement, Verdict

ENTRY_LIMIT = 4096  # bytes of one transcript entry shown as text and hex
CASE_LIMIT = 64 * 1024  # bytes shown over all the entries of one case
ENTRIES_LIMIT = 1000  # transcript entries shown per case
DETAIL_STRING_LIMIT = 2048  # characters of one string in an event's decoded fields

# Failures first, then what needs a look, then the rest.
VERDICT_ORDER = (
    Verdict.FAIL,
    Verdict.ERROR,
    Verdict.NON_STRICT,
    Verdict.UNIMPLEMENTED,
    Verdict.INFORMATIONAL,
    Verdict.SKIPPED,
    Verdict.PASS,
)
REQUIREMENT_ORDER = (Requirement.MUST, Requirement.SHOULD, Requirement.MAY, Requirement.INFO)

#: The titles of the RFCs the suites cite, so that the page's search finds a case by its RFC's
#: name ("deflate", "HPACK") as well as by its number. RFC 7692 defines one extension,
#: permessage-deflate, and is known by its name.
RFC_TITLES = {
    "6455": "The WebSocket Protocol",
    "7541": "HPACK: Header Compression for HTTP/2",
    "7692": "Compression Extensions for WebSocket (permessage-deflate)",
    "8441": "Bootstrapping WebSockets with HTTP/2",
    "9110": "HTTP Semantics",
    "9111": "HTTP Caching",
    "9112": "HTTP/1.1",
    "9113": "HTTP/2",
    "9218": "Extensible Prioritization Scheme for HTTP",
}


def _severity(case: CaseResult) -> float:
    """Where a result sorts, worst first: a new FAIL, then ERROR, then a FAIL the baseline
    expects (accepted, but still a failure), then the other verdicts in :data:`VERDICT_ORDER`."""
    if case.known_failure is not None and case.verdict is Verdict.FAIL:
        return VERDICT_ORDER.index(Verdict.ERROR) + 0.5
    return VERDICT_ORDER.index(case.verdict)


def is_known(case: CaseResult | None) -> bool:
    """A FAIL the baseline expects (a known failure, not a regression)."""
    return case is not None and case.verdict is Verdict.FAIL and case.known_failure is not None


def has_baseline(results: RunResults) -> bool:
    """Whether the run was judged against a baseline (any entry applied, or a FAIL expected)."""
    return any(target.baseline or target.known_failures() for target in results.targets)


def _visible(text: str) -> str:
    # Printable ASCII (keys, base64, most ids and headers) has nothing to escape: no regex.
    return text if text.isascii() and text.isprintable() else visible(text)


def _clean(value: Any) -> Any:
    """A JSON-able value with every string (keys too) made visible."""
    if isinstance(value, str):
        return _visible(value)
    if isinstance(value, dict):
        return {_visible(str(key)): _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    return value


def section_key(case: CaseResult) -> str:
    """``protocol/rfc/section``: the group a case is counted in (``h1/9112/6.1``)."""
    return "/".join(part for part in (case.protocol, case.rfc, case.section) if part)


def section_sort_key(key: str) -> tuple[Any, ...]:
    """Natural order: h1/9112/6.10 after h1/9112/6.9, numbers before letters (appendices)."""
    parts: list[Any] = []
    for piece in key.replace(".", "/").split("/"):
        parts.append((0, int(piece), "") if piece.isdigit() else (1, 0, piece))
    return tuple(parts)


def _label(case: CaseResult) -> str:
    if not case.rfc:
        return ""
    return f"RFC {case.rfc} §{case.section}" if case.section else f"RFC {case.rfc}"


def duration_text(seconds: float) -> str:
    """A case's duration, short: ``"12 ms"``, ``"3.4 ms"`` (a tenth of a ms below 10 ms)."""
    ms = seconds * 1000
    return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms"


def wire_text(case: CaseResult | None) -> str | None:
    """What a WebSocket case's matrix cell shows under its verdict, as Autobahn's matrix does:
    the close code the target sent and the case's duration (``"1000 · 12 ms"``); ``"no code"``
    for a close frame without one, ``"no close"`` when the target sent none, only the duration
    when neither side began to close. None for other protocols and for a case that did not
    run (SKIPPED)."""
    if case is None or case.protocol != "ws" or case.verdict is Verdict.SKIPPED:
        return None
    duration = duration_text(case.duration_s)
    if not case.closing:
        return duration
    code = case.closing.get("target_code")
    if not isinstance(code, int):
        sent = case.closing.get("target_closed")  # absent from results written before it was kept
        code = "no close" if sent is False else "no code" if sent else "–"
    return f"{code} · {duration}"


def _counts(cases: list[CaseResult | None]) -> dict[str, int]:
    tally = Counter(case.verdict.value for case in cases if case is not None)
    return {verdict.value: tally[verdict.value] for verdict in Verdict if tally[verdict.value]}


def _case_rows(results: RunResults) -> list[tuple[str, list[CaseResult | None]]]:
    """Every case id once, in first-seen order, with its result in each target (or None)."""
    by_target = [{case.id: case for case in target.cases} for target in results.targets]
    ids: dict[str, None] = {}
    for target in results.targets:
        for case in target.cases:
            ids.setdefault(case.id)
    return [(case_id, [cases.get(case_id) for cases in by_target]) for case_id in ids]


def _row_sort_key(item: tuple[int, tuple[str, list[CaseResult | None]]]) -> tuple[float, int, int]:
    """Worst verdict over the targets first (new FAILs before known ones), then stricter
    requirements, then run order."""
    position, (_, results) = item
    present = [case for case in results if case is not None]
    worst = min(_severity(case) for case in present)
    return worst, -present[0].requirement.rank, position


def gate_data(results: RunResults, fail_on: Requirement, allow_errors: bool) -> dict[str, Any]:
    """The gate's outcome as the banner says it: passed or not, at which level, and why
    (:func:`conformance.gate.judge_gate`, the logic of the command line's exit status)."""
    outcome = judge_gate(results, fail_on, allow_errors=allow_errors)
    return {"passed": outcome.passed, "level": outcome.level, "reasons": outcome.reasons()}


def summary_data(
    results: RunResults, *, fail_on: Requirement = Requirement.MUST, allow_errors: bool = False
) -> dict[str, Any]:
    """What the page needs to draw the overview, the gate's banner, the filters and the
    matrix; ``fail_on`` and ``allow_errors`` are the run's gate (``--fail-on``,
    ``--allow-errors``)."""
    rows = [row for _, row in sorted(enumerate(_case_rows(results)), key=_row_sort_key)]
    cases = []
    for case_id, per_target in rows:
        first = next(case for case in per_target if case is not None)
        row: dict[str, Any] = {
            "id": case_id,
            "title": first.title,
            "protocol": first.protocol,
            "section": section_key(first),
            "rfc": first.rfc,
            "label": _label(first),
            "url": rfc_url(first.rfc, first.section) if first.rfc else "",
            "requirement": first.requirement.value,
            "aliases": list(first.aliases),
            "tags": list(first.tags),
            "verdicts": [case.verdict.value if case else None for case in per_target],
            # Per target: the baseline's reason for a FAIL it expects, else None.
            "known": [case.known_failure if case and is_known(case) else None for case in per_target],
        }
        if first.protocol == "ws":
            # Per target: the close code and the duration (wire_text), under the verdict.
            row["wire"] = [wire_text(case) for case in per_target]
        cases.append(row)
    sections: dict[str, list[list[CaseResult | None]]] = {}
    protocols: dict[str, list[list[CaseResult | None]]] = {}
    for _, per_target in rows:
        first = next(case for case in per_target if case is not None)
        for groups, key in ((sections, section_key(first)), (protocols, first.protocol)):
            columns = groups.setdefault(key, [[] for _ in results.targets])
            for column, case in zip(columns, per_target, strict=True):
                column.append(case)

    def groups_data(groups: dict[str, list[list[CaseResult | None]]]) -> list[dict[str, Any]]:
        out = []
        for key, columns in groups.items():
            counts = [_counts(column) for column in columns]
            known = [sum(1 for case in column if is_known(case)) for column in columns]
            # New FAILs and ERRORs rank a group; known FAILs only after them.
            bad = sum(count.get("FAIL", 0) + count.get("ERROR", 0) for count in counts) - sum(known)
            entry: dict[str, Any] = {"key": key, "counts": counts, "known": known, "bad": bad}
            first = next(case for column in columns for case in column if case is not None)
            is_section = groups is sections and first.rfc
            entry["label"] = _label(first) if is_section else ""
            entry["url"] = rfc_url(first.rfc, first.section) if is_section else ""
            out.append(entry)
        # Failures first (most FAIL and ERROR at the top), then natural order.
        out.sort(key=lambda entry: (-entry["bad"], -sum(entry["known"]), section_sort_key(entry["key"])))
        return out

    targets = []
    for target in results.targets:
        by_requirement: dict[str, dict[str, int]] = {}
        known_by_requirement: dict[str, int] = {}
        for requirement in REQUIREMENT_ORDER:
            of_level: list[CaseResult | None] = [
                case for case in target.cases if case.requirement is requirement
            ]
            if of_level:
                by_requirement[requirement.value] = _counts(of_level)
                known_by_requirement[requirement.value] = sum(1 for case in of_level if is_known(case))
        targets.append(
            {
                "name": target.name,
                "url": target.url,
                "reachable": target.reachable,
                "total": len(target.cases),
                "counts": _counts(list(target.cases)),
                "known": sum(1 for case in target.cases if is_known(case)),
                "by_requirement": by_requirement,
                "known_by_requirement": known_by_requirement,
            }
        )
    summary: dict[str, Any] = _clean(
        {
            "tool_version": results.tool_version,
            "started_at": results.started_at,
            "duration_s": round(results.duration_s, 3),
            "schema": results.schema,
            "profile": results.profile,
            "echo_path": results.echo_path,
            "verdicts": [verdict.value for verdict in VERDICT_ORDER],
            "requirements": [requirement.value for requirement in REQUIREMENT_ORDER],
            "targets": targets,
            "cases": cases,
            "protocols": groups_data(protocols),
            "sections": groups_data(sections),
            "baseline": baseline_data(results),
            "rfc_titles": {
                rfc: RFC_TITLES[rfc] for rfc in sorted({case["rfc"] for case in cases}) if rfc in RFC_TITLES
            },
            "gate": gate_data(results, fail_on, allow_errors),
        }
    )
    if results.interrupted:
        summary["interrupted"] = results.interrupted
    return summary


def _entry_data(entry: BaselineEntry) -> dict[str, Any]:
    return {
        "pattern": entry.pattern,
        "reason": entry.reason,
        "source": entry.source,
        "section": entry.section,
    }


def _stale_data(stale: StaleEntry) -> dict[str, Any]:
    return {
        **_entry_data(stale.entry),
        # "now PASS", "now 2 PASS, 1 ERROR", or "matched no case of this run"
        "now": stale.describe().removeprefix(stale.entry.pattern + ": "),
        # A stale entry naming one case links to it (the page opens it).
        "case": stale.cases[0][0] if len(stale.cases) == 1 and not stale.entry.pattern.endswith("*") else "",
    }


def baseline_data(results: RunResults) -> dict[str, Any]:
    """The baseline as the overview shows it: per target how many entries applied and how
    many FAILs they expect, the entries that no longer FAIL (stale: the baseline can shrink),
    and the ``*`` entries that match no case of the run. ``{"present": False}`` without one."""
    if not has_baseline(results):
        return {"present": False, "targets": [], "unmatched": []}
    return {
        "present": True,
        "targets": [
            {
                "name": target.name,
                "entries": len(target.baseline),
                "known": len(target.known_failures()),
                "stale": [_stale_data(stale) for stale in results.stale_baseline_of(target)],
            }
            for target in results.targets
        ],
        "unmatched": [_entry_data(entry) for entry in results.unmatched_baseline],
    }


def _baseline_entry_of(target: TargetResults, case: CaseResult) -> BaselineEntry | None:
    """The entry of ``target``'s baseline that made ``case`` a known failure (the first one
    that matches it with the same reason), if the results still have it."""
    for entry in target.baseline:
        if entry.matches(case.id) and entry.reason == case.known_failure:
            return entry
    return None


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def entry_data(entry: TranscriptEntry, budget: int) -> tuple[dict[str, Any], int]:
    """One transcript entry for the page, showing at most ``budget`` bytes; and the bytes shown.

    SENT/RECEIVED: ``b64`` (the bytes shown), ``size`` (what went over the wire), and when
    bytes are left out ``elided`` (``{"bytes", "sha256"}`` of the bytes the harness kept but
    the page does not show) and/or ``kept`` (how many the harness kept at all). EVENT:
    ``text`` and ``detail``, the event's decoded fields with long strings elided.
    """
    out: dict[str, Any] = {"t": _ms(entry.t), "d": entry.direction.value}
    if entry.connection:
        out["c"] = entry.connection
    if entry.direction is Direction.EVENT:
        out["text"] = entry.text
        if entry.detail:
            out["detail"] = cap_detail(entry.detail, DETAIL_STRING_LIMIT, keep=DETAIL_STRING_LIMIT // 4)
        return out, 0
    data = entry.data
    shown = data[: max(0, min(ENTRY_LIMIT, budget))]
    out["b64"] = base64.b64encode(shown).decode("ascii")
    out["size"] = entry.size
    if len(shown) < len(data):
        out["elided"] = {"bytes": len(data) - len(shown), "sha256": hashlib.sha256(data).hexdigest()}
    if entry.size > len(data):
        out["kept"] = len(data)
    return out, len(shown)


def case_details(case: CaseResult, target: TargetResults | None = None) -> dict[str, Any]:
    """What the page shows of ``case`` (a result of ``target``, whose baseline it looks in)."""
    budget = CASE_LIMIT
    entries = []
    for entry in case.transcript[:ENTRIES_LIMIT]:
        data, used = entry_data(entry, budget)
        budget -= used
        entries.append(data)
    out: dict[str, Any] = {
        "verdict": case.verdict.value,
        "reference": case.reference,
        "rule": case.rule,
        "expected": case.expected,
        "observed": case.observed,
        "step": case.step,
        "step_text": case.step_text,
        "notes": list(case.notes),
        "duration_ms": _ms(case.duration_s),
        "transcript": entries,
        "entries": len(case.transcript),
        "truncated": case.truncated,
        "omitted": case.transcript_omitted,
    }
    if case.closing:
        # WebSocket cases: the closing-handshake verdict beside the behaviour verdict.
        out["closing"] = {
            "verdict": str(case.closing.get("verdict", "")),
            "text": str(case.closing.get("text", "")),
        }
    if is_known(case):
        listed = _baseline_entry_of(target, case) if target is not None else None
        out["known"] = {
            "reason": case.known_failure,
            "pattern": listed.pattern if listed else "",
            "source": listed.source if listed else "",
        }
    return out


def details_data(results: RunResults) -> list[list[dict[str, Any] | None]]:
    """Per case (in the summary's order) and target: the details, or None where it did not run."""
    return list(iter_details(results))


def iter_details(results: RunResults) -> Iterator[list[dict[str, Any] | None]]:
    """The rows of :func:`details_data` one at a time (a writer streams them)."""
    rows = [row for _, row in sorted(enumerate(_case_rows(results)), key=_row_sort_key)]
    for _, per_target in rows:
        yield _clean(
            [
                case_details(case, target) if case else None
                for case, target in zip(per_target, results.targets, strict=True)
            ]
        )


__all__ = [
    "CASE_LIMIT",
    "DETAIL_STRING_LIMIT",
    "ELIDED",
    "ENTRIES_LIMIT",
    "ENTRY_LIMIT",
    "RFC_TITLES",
    "VERDICT_ORDER",
    "baseline_data",
    "case_details",
    "details_data",
    "duration_text",
    "iter_details",
    "entry_data",
    "has_baseline",
    "is_known",
    "section_key",
    "section_sort_key",
    "summary_data",
    "wire_text",
]
