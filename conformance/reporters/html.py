"""``index.html``: one self-contained page to browse a run, offline.

The page comes from ``templates/report.html.j2`` with autoescaping on, and every value that
reaches it is first made visible by :func:`conformance.reporters._text.visible` (the
environment's ``finalize``). It loads nothing: the styles are inline, there is no script
(``<details>`` elements do the folding), and the Content-Security-Policy says so.

Wire data is capped: each transcript entry shows at most :data:`ENTRY_LIMIT` bytes (then the
count and SHA-256 of the rest), and each case at most :data:`CASE_LIMIT` bytes over all its
entries, so a 16 MiB payload does not make a 16 MiB page.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from conformance.reporters._text import escape_bytes, hex_dump, rfc_url, visible
from conformance.results import CaseResult, Direction, RunResults, TargetResults, TranscriptEntry
from conformance.verdicts.verdict import Verdict

ENTRY_LIMIT = 4096  # bytes of one entry shown as text and hex
CASE_LIMIT = 64 * 1024  # bytes shown over all the entries of one case
ENTRIES_LIMIT = 1000  # transcript entries rendered per case
DETAIL_LIMIT = 4096  # characters of an event's decoded fields

# The only thing on the page that is not markup: the inline <style>. No script at all.
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

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

ARROWS = {Direction.SENT: "→", Direction.RECEIVED: "←", Direction.EVENT: "•"}


@dataclasses.dataclass(frozen=True, kw_only=True)
class EntryView:
    time_ms: str
    direction: str
    arrow: str
    connection: int
    text: str = ""  # the escaped bytes, or the event's description
    hex: str = ""
    omitted: str = ""  # "… N more bytes (sha256 …)"
    detail: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class CaseView:
    anchor: str
    case: CaseResult
    css: str
    rfc_url: str
    rfc_label: str
    entries: tuple[EntryView, ...]
    show_connection: bool
    omitted_entries: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class TargetView:
    anchor: str
    target: TargetResults
    counts: dict[str, int]
    cases: tuple[CaseView, ...]


def verdict_css(verdict: Verdict) -> str:
    return "v-" + verdict.value.lower()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _entry_view(entry: TranscriptEntry, budget: int) -> tuple[EntryView, int]:
    """The view of one entry, showing at most ``budget`` bytes; and the bytes it showed."""
    base = EntryView(
        time_ms=_ms(entry.t),
        direction=entry.direction.value,
        arrow=ARROWS[entry.direction],
        connection=entry.connection,
    )
    if entry.direction is Direction.EVENT:
        detail = ""
        if entry.detail:
            detail = json.dumps(entry.detail, sort_keys=True, ensure_ascii=False, default=repr)
            if len(detail) > DETAIL_LIMIT:
                detail = f"{detail[:DETAIL_LIMIT]}… ({len(detail) - DETAIL_LIMIT} more characters)"
        return dataclasses.replace(base, text=entry.text, detail=detail), 0
    data = entry.data
    shown = data[: min(ENTRY_LIMIT, budget)]
    omitted = []
    if len(shown) < len(data):
        digest = hashlib.sha256(data).hexdigest()
        omitted.append(f"… {len(data) - len(shown)} more bytes (sha256 {digest})")
    if entry.size > len(data):
        omitted.append(f"the transcript kept {len(data)} of {entry.size} bytes")
    view = dataclasses.replace(
        base,
        text=escape_bytes(shown).removesuffix("\n"),  # the visible "\n" stays; no blank last line
        hex=hex_dump(shown),
        omitted="; ".join(omitted),
    )
    return view, len(shown)


def _case_view(anchor: str, case: CaseResult) -> CaseView:
    budget = CASE_LIMIT
    entries = []
    for entry in case.transcript[:ENTRIES_LIMIT]:
        view, used = _entry_view(entry, budget)
        budget -= used
        entries.append(view)
    return CaseView(
        anchor=anchor,
        case=case,
        css=verdict_css(case.verdict),
        rfc_url=rfc_url(case.rfc, case.section) if case.rfc else "",
        rfc_label=f"RFC {case.rfc} §{case.section}" if case.section else f"RFC {case.rfc}",
        entries=tuple(entries),
        show_connection=any(entry.connection for entry in case.transcript),
        omitted_entries=max(0, len(case.transcript) - ENTRIES_LIMIT),
    )


def _sort_key(case: CaseResult) -> tuple[int, int]:
    return VERDICT_ORDER.index(case.verdict), -case.requirement.rank


def _target_view(index: int, target: TargetResults) -> TargetView:
    ordered = sorted(target.cases, key=_sort_key)  # stable: the run's order within a group
    return TargetView(
        anchor=f"t{index}",
        target=target,
        counts=target.summary,
        cases=tuple(_case_view(f"t{index}-c{n}", case) for n, case in enumerate(ordered)),
    )


def _matrix(targets: tuple[TargetView, ...]) -> list[tuple[str, list[CaseView | None]]]:
    """Rows of (case id, the case's view in each target or None), in first-seen order."""
    by_target = [{view.case.id: view for view in target.cases} for target in targets]
    ids: dict[str, None] = {}
    for target in targets:
        for case in target.target.cases:
            ids.setdefault(case.id)
    return [(case_id, [views.get(case_id) for views in by_target]) for case_id in ids]


def _finalize(value: Any) -> Any:
    """Applied to every ``{{ … }}``: strings become visible (escaping happens after)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible(value)
    if value is None:
        return ""
    return value


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("conformance.reporters", "templates"),
        autoescape=True,
        finalize=_finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["verdict_css"] = verdict_css
    env.filters["ms"] = _ms
    return env


_ENV: jinja2.Environment | None = None


def render_html(results: RunResults) -> str:
    """``results`` as one self-contained HTML5 page."""
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    targets = tuple(_target_view(n, target) for n, target in enumerate(results.targets))
    totals = Counter[str]()
    for target in targets:
        totals.update(target.counts)
    return _ENV.get_template("report.html.j2").render(
        results=results,
        targets=targets,
        verdicts=[verdict.value for verdict in Verdict],
        totals=totals,
        matrix=_matrix(targets) if len(targets) > 1 else [],
        csp=CONTENT_SECURITY_POLICY,
    )


def write_html(results: RunResults, path: Path) -> None:
    """Write ``render_html(results)`` to ``path`` in UTF-8."""
    Path(path).write_text(render_html(results), encoding="utf-8", newline="\n")
