"""Judging: expectation matching (pure functions) and the verdicts they produce."""

from __future__ import annotations

from conformance.verdicts.verdict import Requirement, Verdict

__all__ = ["Requirement", "Verdict"]
