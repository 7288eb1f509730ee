"""Baselines: the FAILs a project knows about, so CI fails only on new ones.

A baseline file is YAML::

    # conformance baseline
    version: 1
    targets:
      "*":                                   # every target
        h1/9112/6.3/content-length-overflow: "we answer 413, tracked in #12"
      nginx:                                 # the target named nginx only
        h1/9112/2.2/*: "nginx accepts a bare CR everywhere"

Under ``targets``, a section per target name (``*`` for every target) maps a case id, or an
id prefix ending in ``*``, to the reason it is expected to FAIL (non-empty text). Loading
checks everything and reports each mistake with ``file:line:column``.

:func:`apply_baseline` marks the FAILs the baseline expects (``CaseResult.known_failure``) and
records the entries on each target, so the results model alone knows which FAILs gate and which
entries are stale. :func:`baseline_from_results` writes a baseline from a run's FAILs.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path

from conformance.errors import ConformanceError, ScenarioError, SourceLocation
from conformance.reporters._text import visible
from conformance.results import BaselineEntry, CaseResult, RunResults, TargetResults
from conformance.scenario.nodes import Node, read_yaml
from conformance.verdicts.verdict import Verdict

FORMAT_VERSION = 1
ALL_TARGETS = "*"
# A name given with NAME=URL, or the host:port an unnamed target is called by ([::1]:8080).
_TARGET_NAME = re.compile(r"[A-Za-z0-9\[][A-Za-z0-9_.:\[\]-]*")
# protocol/rfc/section/slug, or any prefix of one followed by "*".
_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*\*?|\*")


class BaselineError(ConformanceError):
    """A baseline file is wrong; ``errors`` holds each mistake, located."""

    def __init__(self, errors: list[ScenarioError]) -> None:
        self.errors = errors
        super().__init__("\n".join(error.render() for error in errors))


@dataclass(frozen=True, kw_only=True)
class Baseline:
    """A loaded baseline: per target name (``*`` for all), its entries in file order."""

    sections: dict[str, tuple[BaselineEntry, ...]]
    source: str = ""

    def entries_for(self, target: str) -> tuple[BaselineEntry, ...]:
        """The entries that apply to ``target``: its own section first, then ``*``."""
        return self.sections.get(target, ()) + (
            self.sections.get(ALL_TARGETS, ()) if target != ALL_TARGETS else ()
        )

    def unknown_targets(self, names: list[str]) -> list[str]:
        """Sections that name no target in ``names`` (a typo, or a target not run), but for
        the one that :meth:`paired_section` pairs with the run's only target."""
        paired = self.paired_section(names)
        return [name for name in self.sections if name not in (ALL_TARGETS, paired) and name not in names]

    def paired_section(self, names: list[str]) -> str | None:
        """The section that stands for a run's only target when the names differ: a baseline
        of one target gates the next run of one target whatever it is called (an unnamed
        target is called by its host:port, and a CI job's server may get a new port each run)."""
        named = [name for name in self.sections if name != ALL_TARGETS]
        if len(names) == 1 and names[0] not in self.sections and len(named) == 1:
            return named[0]
        return None


def _error(message: str, node: Node | None = None, location: SourceLocation | None = None) -> ScenarioError:
    return ScenarioError(message, location=location or (node.location if node else None))


def parse_baseline(text: str, source: str) -> Baseline:
    """Parse the text of a baseline file; raise :class:`BaselineError` listing every mistake."""
    try:
        root = read_yaml(text, source)
    except ScenarioError as exc:
        raise BaselineError([exc]) from None
    start = SourceLocation(file=source, line=1, column=1)
    if root is None:
        message = "empty baseline file: expected 'version: 1' and 'targets:'"
        raise BaselineError([_error(message, location=start)])
    if not root.is_mapping:
        raise BaselineError([_error("a baseline is a mapping with 'version' and 'targets'", root)])
    errors: list[ScenarioError] = []
    for key, node in root.value.items():
        if key not in ("version", "targets"):
            errors.append(_error(f"unknown key {key!r} (expected 'version' and 'targets')", node))
    version = root.value.get("version")
    if version is not None and (version.value != FORMAT_VERSION or isinstance(version.value, bool)):
        errors.append(_error(f"unsupported baseline version {version.value!r} (this tool reads 1)", version))
    targets = root.value.get("targets")
    sections: dict[str, tuple[BaselineEntry, ...]] = {}
    if targets is None:
        errors.append(_error("missing 'targets': a mapping of target name (or '*') to entries", root))
    elif targets.value is None:
        pass  # "targets:" with nothing under it: an empty baseline
    elif not targets.is_mapping:
        errors.append(_error("'targets' must map a target name (or '*') to its entries", targets))
    else:
        for name, section in targets.value.items():
            if name != ALL_TARGETS and not _TARGET_NAME.fullmatch(name):
                errors.append(
                    _error(f"target name {name!r}: letters, digits, '.', '_' and '-', or '*'", section)
                )
                continue
            if section.value is None:
                sections[name] = ()
                continue
            if not section.is_mapping:
                errors.append(
                    _error(f"target {name!r}: expected a mapping of case id (or prefix*) to reason", section)
                )
                continue
            entries = []
            for pattern, reason in section.value.items():
                where = f"{reason.location.file}:{reason.location.line}"
                if not _PATTERN.fullmatch(pattern):
                    errors.append(
                        _error(
                            f"{pattern!r} is not a case id or an id prefix ending in '*' "
                            "(e.g. h1/9112/2.2/bare-cr or h1/9112/2.2/*)",
                            reason,
                        )
                    )
                elif not isinstance(reason.value, str) or not reason.value.strip():
                    errors.append(_error(f"{pattern}: the reason must be non-empty text", reason))
                else:
                    entries.append(
                        BaselineEntry(
                            pattern=pattern, reason=reason.value.strip(), source=where, section=name
                        )
                    )
            sections[name] = tuple(entries)
    if errors:
        raise BaselineError(errors)
    return Baseline(sections=sections, source=source)


def load_baseline(path: Path) -> Baseline:
    """Read and parse a baseline file (:class:`BaselineError` when it cannot be used)."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        location = SourceLocation(file=str(path), line=1, column=1)
        raise BaselineError([_error(f"cannot read: {exc.strerror or exc}", location=location)]) from None
    except UnicodeDecodeError as exc:
        location = SourceLocation(file=str(path), line=1, column=1)
        raise BaselineError([_error(f"not UTF-8 ({exc})", location=location)]) from None
    return parse_baseline(text, str(path))


def _entry_for(entries: tuple[BaselineEntry, ...], case: CaseResult) -> BaselineEntry | None:
    # An exact id beats a prefix, a longer prefix a shorter one; on a tie the target's own
    # section (first in ``entries``) beats "*".
    matching = [(index, entry) for index, entry in enumerate(entries) if entry.matches(case.id)]
    if not matching:
        return None
    _, best = min(matching, key=lambda m: (m[1].pattern.endswith("*"), -len(m[1].pattern), m[0]))
    return best


def apply_to_target(target: TargetResults, entries: tuple[BaselineEntry, ...]) -> TargetResults:
    """``target`` with ``entries`` recorded and each FAIL they name marked a known failure."""
    cases = []
    for case in target.cases:
        entry = _entry_for(entries, case) if case.verdict is Verdict.FAIL else None
        cases.append(dataclasses.replace(case, known_failure=entry.reason if entry else None))
    return dataclasses.replace(target, cases=tuple(cases), baseline=entries)


def apply_baseline(results: RunResults, baseline: Baseline) -> RunResults:
    """``results`` judged against ``baseline`` (any earlier baseline on them is replaced)."""
    paired = baseline.paired_section([t.name for t in results.targets])
    return dataclasses.replace(
        results,
        targets=tuple(apply_to_target(t, baseline.entries_for(paired or t.name)) for t in results.targets),
    )


def _quoted(text: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar once nothing in it needs a \u escape
    # beyond the Basic Multilingual Plane (visible() has already escaped what is unsafe).
    # U+2028 and U+2029 would be line breaks to YAML, so they are escaped too.
    quoted = json.dumps(visible(text), ensure_ascii=False)
    return quoted.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def placeholder_reason(case: CaseResult) -> str:
    """What the baseline says about a FAIL until someone writes why: what was observed (or,
    for a FAIL an earlier baseline already expected, that baseline's reason)."""
    if case.known_failure:
        return case.known_failure
    observed = " ".join(case.observed.split()) or "no observation recorded"
    expected = " ".join(case.expected.split())
    text = f"{case.requirement.value} FAIL: observed {observed}"
    if expected:
        text += f"; expected {expected}"
    if len(text) > 300:
        text = text[:299] + "…"
    return text


def baseline_from_results(results: RunResults, *, source: str = "") -> str:
    """The text of a baseline listing every FAIL of ``results``, per target, in case order.

    FAILs an applied baseline expected keep its reason; the others get a placeholder."""
    lines = [
        "# conformance baseline: FAILs expected per target; only FAILs not listed here fail the run.",
        f"# Written by `conformance baseline`{f' from {source}' if source else ''}.",
        "# Replace each reason with why the case fails; delete entries once their case passes.",
        "# Keys are case ids, or id prefixes ending in '*'; the section \"*\" applies to every target.",
        f"version: {FORMAT_VERSION}",
    ]
    sections = []
    for target in results.targets:
        fails = [case for case in target.cases if case.verdict is Verdict.FAIL]
        if not fails:
            continue
        sections.append(f"  {_quoted(target.name)}:")
        sections.extend(f"    {_quoted(case.id)}: {_quoted(placeholder_reason(case))}" for case in fails)
    lines.append("targets:" if sections else "targets: {}")
    lines.extend(sections)
    return "\n".join(lines) + "\n"
