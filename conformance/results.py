"""The results model: the one immutable object every reporter renders.

``results.json`` is its canonical serialisation (:func:`RunResults.to_json` /
:func:`RunResults.from_json`); the HTML, JUnit, Markdown and terminal reporters read
nothing else.
"""

from __future__ import annotations

import base64
import enum
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from conformance.verdicts.verdict import Requirement, Verdict

SCHEMA_VERSION = 1


class Direction(enum.Enum):
    SENT = "sent"  # bytes the harness wrote
    RECEIVED = "received"  # bytes the target wrote
    EVENT = "event"  # something decoded or happened (a response, a close, a step)


@dataclass(frozen=True, kw_only=True)
class TranscriptEntry:
    """One line of a wire transcript.

    ``t`` is seconds since the case started. For SENT/RECEIVED, ``data`` holds the bytes
    (possibly truncated: ``size`` is the true length). For EVENT, ``text`` is a one-line
    description and ``detail`` a JSON-able dict of the decoded fields.
    """

    t: float
    direction: Direction
    data: bytes = b""
    size: int = 0
    text: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    connection: int = 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"t": round(self.t, 6), "direction": self.direction.value}
        if self.connection:
            out["connection"] = self.connection
        if self.direction is Direction.EVENT:
            out["text"] = self.text
            if self.detail:
                out["detail"] = self.detail
        else:
            out["data"] = base64.b64encode(self.data).decode("ascii")
            out["size"] = self.size
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> TranscriptEntry:
        direction = Direction(raw["direction"])
        data = base64.b64decode(raw.get("data", ""))
        return cls(
            t=raw["t"],
            direction=direction,
            data=data,
            size=raw.get("size", len(data)),
            text=raw.get("text", ""),
            detail=raw.get("detail", {}),
            connection=raw.get("connection", 0),
        )


@dataclass(frozen=True, kw_only=True)
class CaseResult:
    """What happened when one case ran against one target."""

    id: str
    title: str
    protocol: str  # "h1" | "h2" | "ws"
    rfc: str
    section: str
    requirement: Requirement
    verdict: Verdict
    expected: str = ""
    observed: str = ""
    step: int | None = None  # 1-based index of the step where expected and observed diverged
    step_text: str = ""  # that step, described
    reference: str = ""  # the RFC text the case checks, in words
    duration_s: float = 0.0
    aliases: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # findings that did not decide the verdict
    transcript: tuple[TranscriptEntry, ...] = ()
    truncated: bool = False  # the transcript hit its cap
    # WebSocket cases: the closing-handshake verdict beside the behaviour verdict, as in
    # Autobahn: {"verdict": "OK" | "WRONG CODE" | "UNCLEAN" | "OPEN", "text": ..., "clean":
    # bool, "closed_by": "target" | "harness" | "nobody", "target_code", "harness_code"}.
    closing: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out = self._json()
        if self.closing is not None:
            out["closing"] = self.closing
        return out

    def _json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "protocol": self.protocol,
            "rfc": self.rfc,
            "section": self.section,
            "requirement": self.requirement.value,
            "reference": self.reference,
            "aliases": list(self.aliases),
            "verdict": self.verdict.value,
            "expected": self.expected,
            "observed": self.observed,
            "step": self.step,
            "step_text": self.step_text,
            "notes": list(self.notes),
            "duration_s": round(self.duration_s, 6),
            "transcript": [entry.to_json() for entry in self.transcript],
            "truncated": self.truncated,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> CaseResult:
        return cls(
            id=raw["id"],
            title=raw["title"],
            protocol=raw["protocol"],
            rfc=raw.get("rfc", ""),
            section=raw.get("section", ""),
            requirement=Requirement(raw["requirement"]),
            reference=raw.get("reference", ""),
            aliases=tuple(raw.get("aliases", ())),
            verdict=Verdict(raw["verdict"]),
            expected=raw.get("expected", ""),
            observed=raw.get("observed", ""),
            step=raw.get("step"),
            step_text=raw.get("step_text", ""),
            notes=tuple(raw.get("notes", ())),
            duration_s=raw.get("duration_s", 0.0),
            transcript=tuple(TranscriptEntry.from_json(e) for e in raw.get("transcript", ())),
            truncated=raw.get("truncated", False),
            closing=raw.get("closing"),
        )


@dataclass(frozen=True, kw_only=True)
class TargetResults:
    """Every case run against one target."""

    name: str
    url: str
    cases: tuple[CaseResult, ...]
    reachable: bool = True  # False when not one connection could be made

    @property
    def summary(self) -> dict[str, int]:
        counts = Counter(case.verdict for case in self.cases)
        return {verdict.value: counts.get(verdict, 0) for verdict in Verdict}

    def failures(self, at_least: Requirement = Requirement.MUST) -> tuple[CaseResult, ...]:
        """The FAILed cases whose requirement is ``at_least`` or stricter."""
        return tuple(
            case
            for case in self.cases
            if case.verdict is Verdict.FAIL and case.requirement.rank >= at_least.rank
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "reachable": self.reachable,
            "summary": self.summary,
            "cases": [case.to_json() for case in self.cases],
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> TargetResults:
        return cls(
            name=raw["name"],
            url=raw["url"],
            reachable=raw.get("reachable", True),
            cases=tuple(CaseResult.from_json(c) for c in raw.get("cases", ())),
        )


@dataclass(frozen=True, kw_only=True)
class RunResults:
    """One run: several targets, each with its case results."""

    tool_version: str
    started_at: str  # ISO 8601, UTC
    duration_s: float
    targets: tuple[TargetResults, ...]
    schema: int = SCHEMA_VERSION

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "tool": "conformance",
            "tool_version": self.tool_version,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 6),
            "targets": [target.to_json() for target in self.targets],
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> RunResults:
        if raw.get("schema") != SCHEMA_VERSION:
            raise ValueError(f"unsupported results schema {raw.get('schema')!r}")
        return cls(
            schema=raw["schema"],
            tool_version=raw["tool_version"],
            started_at=raw["started_at"],
            duration_s=raw["duration_s"],
            targets=tuple(TargetResults.from_json(t) for t in raw["targets"]),
        )
