"""``junit.xml``: the results in the JUnit XML dialect that CI systems read.

One ``<testsuite>`` per target inside ``<testsuites>``, one ``<testcase>`` per case:

- FAIL at or above the run's ``--fail-on`` level becomes ``<failure type="{requirement}">``
  with the requirement, expected, observed and the step where they diverged: the FAILs that
  set the exit status are the ones CI shows as failed tests;
- FAIL below ``--fail-on`` (a SHOULD FAIL in a run that gates on MUST) is reported, not
  failed, as the exit status treats it: a plain test case whose ``<system-out>`` starts
  "FAIL (SHOULD, below --fail-on MUST)" followed by the same details. Not ``<skipped>``: the
  case ran, and CI systems count skipped tests as not run. Not a testcase ``<properties>``
  either: the Ant/Jenkins schema CI systems read has none there, but every one of them shows
  a passed test's ``<system-out>``;
- a FAIL the baseline expects (a known failure) is not a regression, so it becomes
  ``<skipped>`` saying so, as pytest reports an expected failure;
- ERROR becomes ``<error>`` with the reason the harness could not run the case;
- SKIPPED and UNIMPLEMENTED become ``<skipped>``;
- PASS, NON-STRICT and INFORMATIONAL are plain test cases (the last two with what was observed
  in ``<system-out>``).

Each ``<testsuite>`` records the level it was judged at as its ``fail_on`` property.

Every string goes through :func:`conformance.reporters._text.visible`, so the document is
well-formed XML 1.0 whatever the target sent.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from conformance.reporters._text import clip, visible
from conformance.results import CaseResult, RunResults, TargetResults
from conformance.verdicts.verdict import Requirement, Verdict

# A failure's message attribute is a one-line summary shown in CI listings; the full text
# is in the element's body.
MESSAGE_LIMIT = 1000


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _step(case: CaseResult) -> str:
    if case.step is None:
        return case.step_text
    return f"step {case.step}: {case.step_text}" if case.step_text else f"step {case.step}"


def _section(case: CaseResult) -> str:
    return f"RFC {case.rfc} §{case.section}" if case.rfc else ""


def _failure_message(case: CaseResult) -> str:
    parts = [f"{case.requirement.value}: expected {case.expected}; observed {case.observed}"]
    if step := _step(case):
        parts.append(f" (at {step})")
    return visible(clip("".join(parts), MESSAGE_LIMIT))


def _details(case: CaseResult) -> str:
    lines = [f"{case.title}", f"Requirement: {case.requirement.value}"]
    if section := _section(case):
        lines.append(f"Section: {section}")
    if case.reference:
        lines.append(f"Reference: {case.reference}")
    if case.rule:
        lines.append(f"Rule: {case.rule}")
    if case.expected:
        lines.append(f"Expected: {case.expected}")
    if case.observed:
        lines.append(f"Observed: {case.observed}")
    if step := _step(case):
        lines.append(f"Diverged at {step}")
    lines.extend(f"Note: {note}" for note in case.notes)
    return visible("\n".join(lines))


def _gating(case: CaseResult, fail_on: Requirement) -> bool:
    """A FAIL the gate counts: at ``fail_on`` or stricter, as ``TargetResults.failures`` ranks."""
    return case.requirement.rank >= fail_on.rank


def _below_gate(case: CaseResult, fail_on: Requirement) -> str:
    """The ``<system-out>`` of a FAIL below ``fail_on``: what it is, then its details."""
    headline = f"FAIL ({case.requirement.value}, below --fail-on {fail_on.value}): reported, not failed"
    return f"{visible(headline)}\n{_details(case)}"


def _testcase(parent: ET.Element, target: TargetResults, case: CaseResult, fail_on: Requirement) -> None:
    classname = ".".join([target.name, case.protocol, case.rfc, case.section])
    element = ET.SubElement(
        parent,
        "testcase",
        {"name": visible(case.id), "classname": visible(classname), "time": _seconds(case.duration_s)},
    )
    verdict = case.verdict
    if case.known_failure is not None:
        message = f"known failure (baseline): {case.known_failure}"
        skipped = ET.SubElement(element, "skipped", {"message": visible(clip(message, MESSAGE_LIMIT))})
        skipped.text = _details(case)
    elif verdict is Verdict.FAIL and not _gating(case, fail_on):
        out = ET.SubElement(element, "system-out")
        out.text = _below_gate(case, fail_on)
    elif verdict is Verdict.FAIL:
        failure = ET.SubElement(
            element, "failure", {"message": _failure_message(case), "type": case.requirement.value}
        )
        failure.text = _details(case)
    elif verdict is Verdict.ERROR:
        reason = case.observed or "the harness could not run the case"
        message = visible(clip(reason, MESSAGE_LIMIT))
        error = ET.SubElement(element, "error", {"message": message, "type": "ERROR"})
        error.text = _details(case)
    elif verdict in (Verdict.SKIPPED, Verdict.UNIMPLEMENTED):
        reason = case.observed or "; ".join(case.notes) or verdict.value.lower()
        message = f"{verdict.value}: {reason}"
        ET.SubElement(element, "skipped", {"message": visible(clip(message, MESSAGE_LIMIT))})
    elif verdict in (Verdict.NON_STRICT, Verdict.INFORMATIONAL):
        out = ET.SubElement(element, "system-out")
        out.text = visible(f"{verdict.value}: {case.observed}")


def _counts(cases: tuple[CaseResult, ...], fail_on: Requirement) -> dict[str, str]:
    verdicts = [case.verdict for case in cases]
    known = sum(1 for case in cases if case.known_failure is not None)
    failures = sum(1 for case in cases if case.is_new_failure and _gating(case, fail_on))
    return {
        "tests": str(len(verdicts)),
        "failures": str(failures),
        "errors": str(verdicts.count(Verdict.ERROR)),
        "skipped": str(verdicts.count(Verdict.SKIPPED) + verdicts.count(Verdict.UNIMPLEMENTED) + known),
    }


def build_junit(results: RunResults, fail_on: Requirement = Requirement.MUST) -> ET.Element:
    """The ``<testsuites>`` element for ``results``; a FAIL below ``fail_on`` is no failure."""
    all_cases = tuple(case for target in results.targets for case in target.cases)
    counts = _counts(all_cases, fail_on)
    root = ET.Element("testsuites", {"name": "conformance", **counts, "time": _seconds(results.duration_s)})
    for target in results.targets:
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": visible(target.name),
                **_counts(target.cases, fail_on),
                "time": _seconds(sum(case.duration_s for case in target.cases)),
                "timestamp": visible(results.started_at),
            },
        )
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", {"name": "url", "value": visible(target.url)})
        ET.SubElement(properties, "property", {"name": "reachable", "value": str(target.reachable).lower()})
        version = visible(results.tool_version)
        ET.SubElement(properties, "property", {"name": "tool_version", "value": version})
        ET.SubElement(properties, "property", {"name": "fail_on", "value": fail_on.value})
        for case in target.cases:
            _testcase(suite, target, case, fail_on)
    return root


def render_junit(results: RunResults, fail_on: Requirement = Requirement.MUST) -> str:
    """``results`` judged at ``fail_on`` as a JUnit XML document (with its XML declaration,
    ending with a newline)."""
    root = build_junit(results, fail_on)
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def write_junit(results: RunResults, path: Path, fail_on: Requirement = Requirement.MUST) -> None:
    """Write ``render_junit(results, fail_on)`` to ``path`` in UTF-8."""
    Path(path).write_text(render_junit(results, fail_on), encoding="utf-8", newline="\n")
