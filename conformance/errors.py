"""The exception tree, split by who is at fault.

- :class:`ScenarioError` — the case author wrote something wrong (carries a location).
- :class:`TargetError` — the target could not be reached or set up (becomes an ERROR verdict).
- :class:`HarnessError` — we did something wrong.

Protocol violations by the target are *not* exceptions: they are findings, recorded as values.
"""

from __future__ import annotations

from dataclasses import dataclass


class ConformanceError(Exception):
    """Root of every exception this package raises on purpose."""


@dataclass(frozen=True, kw_only=True)
class SourceLocation:
    """Where a piece of a case file comes from (1-based line and column)."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class ScenarioError(ConformanceError):
    """A case file is wrong: the message names file, line, column and case id."""

    def __init__(
        self,
        message: str,
        *,
        location: SourceLocation | None = None,
        case_id: str | None = None,
        snippet: str | None = None,
    ) -> None:
        self.message = message
        self.location = location
        self.case_id = case_id
        self.snippet = snippet
        super().__init__(self.render())

    def render(self) -> str:
        where = f"{self.location}: " if self.location else ""
        case = f" (case {self.case_id})" if self.case_id else ""
        text = f"{where}error{case}: {self.message}"
        if self.snippet:
            text += "\n" + self.snippet
        return text


class UsageError(ConformanceError):
    """The command line or an argument is wrong."""


class TargetError(ConformanceError):
    """The target could not be reached or a connection could not be set up."""


class HarnessError(ConformanceError):
    """A bug or an impossible state inside the harness itself."""


class NotApplicable(ConformanceError):
    """What a step would send cannot be built against this target (a frame one octet over
    the target's SETTINGS_MAX_FRAME_SIZE when that is already the largest a frame can be):
    the case ends UNIMPLEMENTED with the reason."""
