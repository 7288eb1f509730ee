"""Reporters: render one immutable :class:`~conformance.results.RunResults`.

``results.json`` (canonical), ``junit.xml`` (for CI), ``index.html`` (to browse) and
``summary.md`` (for a CI step summary or a PR comment) are written together by
:func:`write_reports`; the terminal reporter lives in
:mod:`conformance.reporters.terminal`. Reporters know nothing of sockets or YAML.

The writers are imported when used (see :func:`prepare`): the HTML one brings Jinja2, which
a run need not load before its cases are under way.
"""

from __future__ import annotations

from pathlib import Path

from conformance.results import RunResults
from conformance.verdicts.verdict import Requirement

REPORT_FILES = {"json": "results.json", "junit": "junit.xml", "html": "index.html", "markdown": "summary.md"}


def prepare() -> None:
    """Import the writers and compile the HTML template, ahead of :func:`write_reports`: a
    run calls this while it waits on its last cases, so that the reports are written sooner
    once they are done."""
    from conformance.reporters import json_report, junit, markdown  # noqa: F401
    from conformance.reporters.html import prepare_html

    prepare_html()


def write_reports(
    results: RunResults,
    directory: Path,
    *,
    fail_on: Requirement = Requirement.MUST,
    allow_errors: bool = False,
) -> dict[str, Path]:
    """Write results.json, junit.xml, index.html and summary.md into ``directory`` (created if
    missing); ``fail_on`` is the level the summary counts as gating and below which a FAIL is
    no JUnit ``<failure>``, and with ``allow_errors`` ERRORs do not fail the gate (index.html
    states the gate's outcome).

    Returns their paths keyed ``"json"``, ``"junit"``, ``"html"`` and ``"markdown"``.
    """
    from conformance.reporters.html import write_html
    from conformance.reporters.json_report import write_json
    from conformance.reporters.junit import write_junit
    from conformance.reporters.markdown import write_markdown

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {kind: directory / name for kind, name in REPORT_FILES.items()}
    write_json(results, paths["json"])
    write_junit(results, paths["junit"], fail_on)
    write_html(results, paths["html"], fail_on=fail_on, allow_errors=allow_errors)
    write_markdown(results, paths["markdown"], fail_on)
    return paths


__all__ = ["REPORT_FILES", "prepare", "write_reports"]
