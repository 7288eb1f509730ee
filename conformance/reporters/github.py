"""GitHub Actions workflow commands: failure annotations a workflow run shows on its summary.

``::error title=T::MESSAGE`` lines on standard output. GitHub reads them with its own escaping
(actions/toolkit, ``command.ts``): in the message ``%``, CR and LF become ``%25``, ``%0D`` and
``%0A``; in a property value ``:`` and ``,`` too (``%3A``, ``%2C``), since they delimit
properties. A FAIL that gates is an ``error``, one below ``--fail-on`` a ``warning``, FAILs
the baseline expects get none, ERRORs are grouped by reason, and a baseline entry that no
longer FAILs is a ``notice``. At most :data:`ANNOTATION_LIMIT` lines are printed (GitHub shows
only the first few per step anyway); the last says how many more there were.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from conformance.reporters._text import clip, visible
from conformance.results import CaseResult, RunResults
from conformance.verdicts.verdict import Requirement, Verdict

ANNOTATION_LIMIT = 50
MESSAGE_LIMIT = 2000


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, **properties: str) -> str:
    """One workflow command line, e.g. ``::error title=a%3A b::message``."""
    props = ",".join(f"{name}={escape_property(visible(value))}" for name, value in properties.items())
    head = f"::{kind} {props}" if props else f"::{kind}"
    return f"{head}::{escape_data(visible(clip(message, MESSAGE_LIMIT)))}"


def in_github_actions(environ: Mapping[str, str] | None = None) -> bool:
    return (environ if environ is not None else os.environ).get("GITHUB_ACTIONS") == "true"


def _fail_message(case: CaseResult) -> str:
    text = f"{case.requirement.value} FAIL: {case.title}"
    text += f"\nexpected: {case.expected}\nobserved: {case.observed}"
    if case.step is not None or case.step_text:
        step = f"step {case.step}" if case.step is not None else ""
        text += f"\nat: {step}{': ' if step and case.step_text else ''}{case.step_text}"
    return text


def workflow_commands(results: RunResults, fail_on: Requirement = Requirement.MUST) -> list[str]:
    """The workflow commands for ``results``, most important first."""
    errors: list[str] = []
    warnings: list[str] = []
    notices: list[str] = []
    for target in results.targets:
        for case in sorted(target.cases, key=lambda c: -c.requirement.rank):
            if not case.is_new_failure:
                continue
            title = f"{target.name}: {case.id}"
            if case.requirement.rank >= fail_on.rank:
                errors.append(command("error", _fail_message(case), title=title))
            else:
                warnings.append(command("warning", _fail_message(case), title=title))
        by_reason: dict[str, list[CaseResult]] = {}
        for case in target.cases:
            if case.verdict is Verdict.ERROR:
                by_reason.setdefault(case.observed or "the harness could not run the case", []).append(case)
        for reason, cases in by_reason.items():
            which = cases[0].id if len(cases) == 1 else f"{len(cases)} cases"
            title = f"{target.name}: {which}"
            errors.append(command("error", f"ERROR: {reason}", title=title))
        for stale in results.stale_baseline_of(target):
            message = f"baseline entry no longer FAILs, remove it: {stale.describe()}"
            if stale.entry.source:
                message += f" ({stale.entry.source})"
            notices.append(command("notice", message, title=f"{target.name}: baseline"))
    for entry in results.unmatched_baseline:
        message = f"baseline entry for every target matches no case, remove it: {entry.pattern}"
        if entry.source:
            message += f" ({entry.source})"
        notices.append(command("notice", message, title="baseline"))
    lines = errors + warnings + notices
    if len(lines) > ANNOTATION_LIMIT:
        more = len(lines) - (ANNOTATION_LIMIT - 1)
        lines = lines[: ANNOTATION_LIMIT - 1] + [
            command("warning", f"{more} more annotations left out: see the report", title="conformance")
        ]
    return lines
