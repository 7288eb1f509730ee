"""The results model: the one immutable object every reporter renders.

``results.json`` is its canonical serialisation (:func:`RunResults.to_json` /
:func:`RunResults.from_json`); the HTML, JUnit, Markdown and terminal reporters read
nothing else.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conformance.verdicts.verdict import Requirement, Verdict

#: The version written. 2 added the baseline (``known_failure`` per case, ``baseline`` per
#: target) and ``shard``; a schema 1 file reads as a run without a baseline, unsharded.
SCHEMA_VERSION = 2
READABLE_SCHEMAS = (1, 2)

#: The key of the object that stands for a string cut short by :func:`cap_detail`.
ELIDED = "$elided"


def _elided(text: str, keep: int) -> dict[str, Any]:
    raw = text.encode("utf-8", "surrogatepass")
    return {
        ELIDED: {
            "head": text[:keep],
            "length": len(text),
            "sha256": hashlib.sha256(raw).hexdigest(),
        }
    }


def cap_detail(value: Any, limit: int, *, keep: int | None = None) -> Any:
    """``value`` (an event's ``detail()``) made JSON-able, with every string longer than
    ``limit`` characters replaced by ``{"$elided": {"head", "length", "sha256"}}``.

    ``head`` holds the first ``keep`` characters (default: ``limit``); ``sha256`` is the hash
    of the whole string's UTF-8 text, so two reports can tell whether payloads were equal.
    Bytes become Latin-1 text first (one character per byte), tuples lists, dict keys
    strings, non-finite floats strings; anything else its ``repr``. Already elided strings
    pass through unchanged, so capping twice with a smaller limit only cuts the head.
    """
    head = limit if keep is None else keep
    if isinstance(value, str):
        return _elided(value, head) if len(value) > limit else value
    if isinstance(value, bool | int) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return cap_detail(bytes(value).decode("latin-1"), limit, keep=keep)
    if isinstance(value, dict):
        if set(value) == {ELIDED} and isinstance(value[ELIDED], dict):
            inner = dict(value[ELIDED])
            if isinstance(inner.get("head"), str):
                inner["head"] = inner["head"][:head]
            return {ELIDED: inner}
        return {str(key): cap_detail(item, limit, keep=keep) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [cap_detail(item, limit, keep=keep) for item in value]
    return cap_detail(repr(value), limit, keep=keep)


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
    # The RFC sentence that decides the case, quoted ('RFC 9112 §6.3: "..."'), so that a
    # reader can argue with a verdict by the text; empty for cases that quote none.
    rule: str = ""
    duration_s: float = 0.0
    aliases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # the case file's tags ("deflate", "smuggling"): the report searches them
    notes: tuple[str, ...] = ()  # findings that did not decide the verdict
    transcript: tuple[TranscriptEntry, ...] = ()
    truncated: bool = False  # the transcript hit its cap
    # Entries of a PASS case's transcript that the run did not keep (``--transcripts failures``).
    transcript_omitted: int = 0
    # The baseline's reason when this FAIL was expected (a known failure, not a regression).
    known_failure: str | None = None

    def __repr__(self) -> str:
        # Short: what pytest prints of a failed ``assert not target.new_failures()``. The
        # generated repr (every field, the transcript too) runs to pages and is cut at 240
        # characters, inside the first case.
        return f"<CaseResult {self.id} {self.requirement.value} {self.verdict.value}>"

    @property
    def is_new_failure(self) -> bool:
        """A FAIL the baseline did not expect."""
        return self.verdict is Verdict.FAIL and self.known_failure is None

    # The case file's level when the run's profile raised ``requirement`` (the effective one).
    declared_requirement: Requirement | None = None

    # WebSocket cases: the closing-handshake verdict beside the behaviour verdict, as in
    # Autobahn: {"verdict": "OK" | "NON-STRICT" | "WRONG CODE" | "UNCLEAN", "text": ..., "clean":
    # bool, "closed_by": "target" | "harness" | "nobody", "target_code", "harness_code"}.
    closing: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out = self._fields()
        if self.declared_requirement is not None:
            out["declared_requirement"] = self.declared_requirement.value
        if self.rule:
            out["rule"] = self.rule
        if self.tags:
            out["tags"] = list(self.tags)
        if self.transcript_omitted:
            out["transcript_omitted"] = self.transcript_omitted
        if self.closing is not None:
            out["closing"] = self.closing
        return out

    def _fields(self) -> dict[str, Any]:
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
            "known_failure": self.known_failure,
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
            rule=raw.get("rule", ""),
            aliases=tuple(raw.get("aliases", ())),
            tags=tuple(raw.get("tags", ())),
            verdict=Verdict(raw["verdict"]),
            expected=raw.get("expected", ""),
            observed=raw.get("observed", ""),
            step=raw.get("step"),
            step_text=raw.get("step_text", ""),
            notes=tuple(raw.get("notes", ())),
            duration_s=raw.get("duration_s", 0.0),
            transcript=tuple(TranscriptEntry.from_json(e) for e in raw.get("transcript", ())),
            truncated=raw.get("truncated", False),
            transcript_omitted=raw.get("transcript_omitted", 0),
            known_failure=raw.get("known_failure"),
            declared_requirement=(
                Requirement(raw["declared_requirement"]) if raw.get("declared_requirement") else None
            ),
            closing=raw.get("closing"),
        )


@dataclass(frozen=True, kw_only=True)
class BaselineEntry:
    """One line of a baseline file as it applies to a target: the cases it names (an id, or a
    prefix ending in ``*``), why they are expected to FAIL, and where it was written."""

    pattern: str
    reason: str
    source: str = ""  # "file:line"
    section: str = "*"  # the baseline section it came from: a target name, or "*" for all

    @property
    def for_all_targets(self) -> bool:
        return self.section == "*"

    def matches(self, case_id: str) -> bool:
        if self.pattern.endswith("*"):
            return case_id.startswith(self.pattern[:-1])
        return case_id == self.pattern

    def to_json(self) -> dict[str, Any]:
        return {
            "pattern": self.pattern,
            "reason": self.reason,
            "source": self.source,
            "section": self.section,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> BaselineEntry:
        return cls(
            pattern=raw["pattern"],
            reason=raw.get("reason", ""),
            source=raw.get("source", ""),
            section=raw.get("section", "*"),
        )


@dataclass(frozen=True, kw_only=True)
class StaleEntry:
    """A baseline entry none of whose cases FAILed: it can go (``cases`` holds the cases it
    matched and their verdicts now; empty when it matched no case of the run)."""

    entry: BaselineEntry
    cases: tuple[tuple[str, Verdict], ...]

    def describe(self) -> str:
        if not self.cases:
            return f"{self.entry.pattern}: matched no case of this run"
        verdicts = Counter(verdict for _, verdict in self.cases)
        if len(self.cases) == 1:
            return f"{self.entry.pattern}: now {self.cases[0][1].value}"
        return f"{self.entry.pattern}: now " + ", ".join(
            f"{n} {verdict.value}" for verdict, n in sorted(verdicts.items(), key=lambda kv: kv[0].value)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            **self.entry.to_json(),
            "cases": [{"id": case_id, "verdict": verdict.value} for case_id, verdict in self.cases],
        }


@dataclass(frozen=True, kw_only=True)
class TargetResults:
    """Every case run against one target."""

    name: str
    url: str
    cases: tuple[CaseResult, ...]
    reachable: bool = True  # False when not one connection could be made
    baseline: tuple[BaselineEntry, ...] = ()  # the baseline entries that applied to this target
    # (capability, path): the resources the target's cases were given (conformance.target),
    # its own or the run's --echo-path
    resources: tuple[tuple[str, str], ...] = ()

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

    def new_failures(self, at_least: Requirement = Requirement.MUST) -> tuple[CaseResult, ...]:
        """The FAILs at ``at_least`` or stricter that the baseline did not expect: these gate."""
        return tuple(case for case in self.failures(at_least) if case.known_failure is None)

    def known_failures(self) -> tuple[CaseResult, ...]:
        """The FAILs the baseline expected."""
        return tuple(case for case in self.cases if case.known_failure is not None)

    @property
    def stale_baseline(self) -> tuple[StaleEntry, ...]:
        """Baseline entries of this target none of whose cases FAILed: the baseline can shrink.

        An entry of the ``*`` section that matches no case of this target is not stale here
        (it may be about another target's protocol); see :attr:`RunResults.unmatched_baseline`.
        """
        stale = []
        for entry in self.baseline:
            matched = tuple((case.id, case.verdict) for case in self.cases if entry.matches(case.id))
            if not matched and entry.for_all_targets:
                continue
            if not any(verdict is Verdict.FAIL for _, verdict in matched):
                stale.append(StaleEntry(entry=entry, cases=matched))
        return tuple(stale)

    def to_json(self, *, cases: Any = None) -> dict[str, Any]:
        """The target as JSON; ``cases``, when given, stands in for the list of case results
        (a writer that streams them one at a time puts a placeholder there)."""
        return {
            "name": self.name,
            "url": self.url,
            "reachable": self.reachable,
            **({"resources": dict(self.resources)} if self.resources else {}),
            "summary": self.summary,
            "baseline": [entry.to_json() for entry in self.baseline],
            "baseline_stale": [stale.to_json() for stale in self.stale_baseline],  # derived
            "cases": [case.to_json() for case in self.cases] if cases is None else cases,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> TargetResults:
        return cls(
            name=raw["name"],
            url=raw["url"],
            reachable=raw.get("reachable", True),
            resources=tuple(sorted((raw.get("resources") or {}).items())),
            baseline=tuple(BaselineEntry.from_json(e) for e in raw.get("baseline", ())),
            cases=tuple(CaseResult.from_json(c) for c in raw.get("cases", ())),
        )


@dataclass(frozen=True, kw_only=True)
class RunResults:
    """One run: several targets, each with its case results."""

    tool_version: str
    started_at: str  # ISO 8601, UTC
    duration_s: float
    targets: tuple[TargetResults, ...]
    shard: str = ""  # "K/N" when this run ran one shard of the cases
    schema: int = SCHEMA_VERSION
    profile: str = "default"  # how strictly the run read the RFC's SHOULDs (--profile)
    echo_path: str | None = None  # the targets' echo endpoint, when the run had one
    # The signal that stopped the run early ("SIGINT", "SIGTERM"), or "" for a whole run: an
    # interrupted run holds the cases that finished before it, and not the others.
    interrupted: str = ""

    def stale_baseline_of(self, target: TargetResults) -> tuple[StaleEntry, ...]:
        """``target.stale_baseline`` as far as this run can judge it.

        A shard ran only some of the cases: an entry that matched none of them, or an id
        prefix whose other cases may have FAILed in another shard, cannot be judged from it.
        A sharded run reports only exact ids whose case it ran; the report merged from all
        the shards judges every entry."""
        stale = target.stale_baseline
        if not self.shard:
            return stale
        return tuple(s for s in stale if s.cases and not s.entry.pattern.endswith("*"))

    @property
    def unmatched_baseline(self) -> tuple[BaselineEntry, ...]:
        """Entries of the baseline's ``*`` section that match no case of any target (none for
        a shard: their cases may have run in another shard)."""
        if self.shard:
            return ()
        unmatched: dict[BaselineEntry, None] = {}
        for target in self.targets:
            for entry in target.baseline:
                if entry.for_all_targets:
                    unmatched[entry] = None
        for target in self.targets:
            for case in target.cases:
                for entry in [e for e in unmatched if e.matches(case.id)]:
                    del unmatched[entry]
        return tuple(unmatched)

    def to_json(self, *, cases_of: Callable[[int], Any] | None = None) -> dict[str, Any]:
        """The run as JSON; ``cases_of(i)``, when given, stands in for the case results of the
        i-th target (see :meth:`TargetResults.to_json`)."""
        return {
            "schema": self.schema,
            "tool": "conformance",
            "tool_version": self.tool_version,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 6),
            "shard": self.shard or None,
            "baseline_unmatched": [entry.to_json() for entry in self.unmatched_baseline],  # derived
            "profile": self.profile,
            "echo_path": self.echo_path,
            **({"interrupted": self.interrupted} if self.interrupted else {}),
            "targets": [
                self._target_json(target, None if cases_of is None else cases_of(index))
                for index, target in enumerate(self.targets)
            ],
        }

    def _target_json(self, target: TargetResults, cases: Any = None) -> dict[str, Any]:
        out = target.to_json(cases=cases)
        if self.shard:
            out["baseline_stale"] = [stale.to_json() for stale in self.stale_baseline_of(target)]
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> RunResults:
        if raw.get("schema") not in READABLE_SCHEMAS:
            raise ValueError(f"unsupported results schema {raw.get('schema')!r}")
        return cls(
            # Read into the current model: written back, it is a current-schema document.
            schema=SCHEMA_VERSION,
            shard=raw.get("shard") or "",
            tool_version=raw["tool_version"],
            started_at=raw["started_at"],
            duration_s=raw["duration_s"],
            profile=raw.get("profile", "default"),
            echo_path=raw.get("echo_path"),
            interrupted=raw.get("interrupted") or "",
            targets=tuple(TargetResults.from_json(t) for t in raw["targets"]),
        )
