"""Scenario files: the YAML case language, its loader and the typed case model."""

from __future__ import annotations

from pathlib import Path


def bundled_cases_dir() -> Path:
    """The ``cases/`` directory shipped with the tool.

    In a source checkout (or an editable install) it sits beside the package; in a built
    wheel it is packaged as ``conformance/_cases``.
    """
    package = Path(__file__).resolve().parent.parent
    packaged = package / "_cases"
    if packaged.is_dir():
        return packaged
    return package.parent / "cases"


def load_cases(paths=None):  # type: ignore[no-untyped-def]
    """Load cases (default: the bundled ones); raises ``ScenarioErrors`` when any is broken."""
    from conformance.scenario.loader import load_cases as _load

    return _load(paths)
