"""The verdicts a case can end in, and the requirement levels that weigh them."""

from __future__ import annotations

import enum


class Verdict(enum.Enum):
    """Exactly one of these ends every case (DESIGN.md, "Verdicts")."""

    PASS = "PASS"
    NON_STRICT = "NON-STRICT"  # an acceptable but not preferred outcome
    FAIL = "FAIL"
    INFORMATIONAL = "INFORMATIONAL"  # recorded, never fails
    UNIMPLEMENTED = "UNIMPLEMENTED"  # an optional feature the target does not offer
    SKIPPED = "SKIPPED"  # not applicable, or filtered out
    ERROR = "ERROR"  # the harness could not run the case

    @property
    def is_failure(self) -> bool:
        return self is Verdict.FAIL


class Requirement(enum.Enum):
    """The requirement level of the RFC text a case checks (RFC 2119 keywords)."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"
    INFO = "INFO"  # no keyword: recorded as INFORMATIONAL

    @property
    def rank(self) -> int:
        """Higher is stricter; used by ``--fail-on``."""
        return {"MUST": 3, "SHOULD": 2, "MAY": 1, "INFO": 0}[self.value]
