"""Reporters: render one immutable :class:`~conformance.results.RunResults`.

``results.json`` (canonical), ``junit.xml`` (for CI) and ``index.html`` (to browse) are written
together by :func:`write_reports`; the terminal reporter lives in
:mod:`conformance.reporters.terminal`. Reporters know nothing of sockets or YAML.
"""

from __future__ import annotations

from pathlib import Path

from conformance.reporters.html import render_html, write_html
from conformance.reporters.json_report import read_json, write_json
from conformance.reporters.junit import render_junit, write_junit
from conformance.results import RunResults

REPORT_FILES = {"json": "results.json", "junit": "junit.xml", "html": "index.html"}


def write_reports(results: RunResults, directory: Path) -> dict[str, Path]:
    """Write results.json, junit.xml and index.html into ``directory`` (created if missing).

    Returns their paths keyed ``"json"``, ``"junit"`` and ``"html"``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {kind: directory / name for kind, name in REPORT_FILES.items()}
    write_json(results, paths["json"])
    write_junit(results, paths["junit"])
    write_html(results, paths["html"])
    return paths


__all__ = [
    "REPORT_FILES",
    "read_json",
    "render_html",
    "render_junit",
    "write_html",
    "write_json",
    "write_junit",
    "write_reports",
]
