"""Golden-file and safety tests for what gates CI: known failures (a baseline) in JSON, JUnit
and Markdown; the Markdown summary; GitHub Actions annotations; JUnit against the schema CI
systems read.

``CONFORMANCE_UPDATE_GOLDEN=1 pytest tests/unit/reporters`` rewrites the golden files.
"""

from __future__ import annotations

import dataclasses
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_reporters import GOLDEN, HOSTILE, IMG, SCRIPT, UPDATE, case, full_results, small_results

from conformance.baseline import apply_baseline, parse_baseline
from conformance.reporters import REPORT_FILES, write_reports
from conformance.reporters.github import command, escape_data, escape_property, workflow_commands
from conformance.reporters.html import render_html
from conformance.reporters.json_report import dumps_json, loads_json
from conformance.reporters.junit import render_junit
from conformance.reporters.markdown import md_text, render_markdown
from conformance.results import RunResults, TargetResults
from conformance.verdicts.verdict import Requirement, Verdict

BASELINE = """\
version: 1
targets:
  "*":
    h1/9112/2.2/bare-cr: "was a FAIL once; now it passes"
    h1/9112/6.1/chunked-ext: "an ERROR is no FAIL: this entry is stale"
    h9/9999/2/*: "matches nothing on any target"
  nginx:
    ws/6455/5.5.1/*: "close reasons are not checked yet"
    h2/9113/6.9/window-overflow: "flow control is tracked in #7"
    h9/9999/1/gone: "a case that no longer exists"
"""


def gated_results() -> RunResults:
    """The small fixture judged against :data:`BASELINE`: two known failures, stale entries."""
    return apply_baseline(small_results(), parse_baseline(BASELINE, "baseline.yaml"))


def gated_full_results() -> RunResults:
    return apply_baseline(full_results(), parse_baseline(BASELINE, "baseline.yaml"))


GATE_GOLDEN: list[tuple[str, Callable[[], RunResults], Callable[[RunResults], str]]] = [
    ("results-baseline.json", gated_results, dumps_json),
    ("junit-baseline.xml", gated_full_results, lambda r: render_junit(r, Requirement.SHOULD)),
    ("summary.md", small_results, render_markdown),
    ("index-baseline.html", gated_results, render_html),
    ("summary-baseline.md", gated_results, lambda r: render_markdown(r, Requirement.SHOULD)),
    ("annotations.txt", gated_results, lambda r: "\n".join(workflow_commands(r, Requirement.SHOULD)) + "\n"),
]


@pytest.mark.parametrize(("name", "fixture", "render"), GATE_GOLDEN, ids=[g[0] for g in GATE_GOLDEN])
def test_output_matches_golden_file(
    name: str, fixture: Callable[[], RunResults], render: Callable[[RunResults], str]
) -> None:
    output = render(fixture())
    golden = GOLDEN / name
    if UPDATE:
        golden.write_bytes(output.encode("utf-8"))
    assert golden.read_bytes().decode("utf-8") == output, (
        f"{name} differs; rerun with CONFORMANCE_UPDATE_GOLDEN=1"
    )


# ---------------------------------------------------------------------------- the model


def test_baseline_marks_only_fails_and_finds_stale_entries() -> None:
    gated = gated_results()
    nginx = gated.targets[0]
    known = {c.id: c.known_failure for c in nginx.cases if c.known_failure is not None}
    assert known == {
        "ws/6455/5.5.1/close-reason": "close reasons are not checked yet",
        "h2/9113/6.9/window-overflow": "flow control is tracked in #7",
    }
    assert [c.id for c in nginx.new_failures(Requirement.MAY)] == ["h2/9113/6.5.2/max-frame-size"]
    assert [c.id for c in nginx.failures(Requirement.MAY)] == [
        "h2/9113/6.9/window-overflow",
        "h2/9113/6.5.2/max-frame-size",
        "ws/6455/5.5.1/close-reason",
    ]
    stale = {s.entry.pattern: s for s in nginx.stale_baseline}
    assert set(stale) == {"h1/9112/2.2/bare-cr", "h1/9112/6.1/chunked-ext", "h9/9999/1/gone"}
    assert stale["h1/9112/2.2/bare-cr"].describe() == "h1/9112/2.2/bare-cr: now PASS"
    assert stale["h1/9112/6.1/chunked-ext"].describe() == "h1/9112/6.1/chunked-ext: now ERROR"
    assert stale["h9/9999/1/gone"].describe() == "h9/9999/1/gone: matched no case of this run"
    assert stale["h9/9999/1/gone"].entry.source == "baseline.yaml:10"
    assert stale["h9/9999/1/gone"].entry.section == "nginx"
    evil = gated.targets[1]
    patterns = [e.pattern for e in evil.baseline]
    assert patterns == ["h1/9112/2.2/bare-cr", "h1/9112/6.1/chunked-ext", "h9/9999/2/*"]
    # A "*" entry matching nothing on this target may be about another target: not stale here.
    assert [s.describe() for s in evil.stale_baseline] == ["h1/9112/2.2/bare-cr: now ERROR"]
    assert [e.pattern for e in gated.unmatched_baseline] == ["h9/9999/2/*"]


def test_json_records_the_baseline_and_reads_it_back() -> None:
    gated = gated_results()
    text = dumps_json(gated)
    assert loads_json(text) == gated
    assert '"known_failure": "close reasons are not checked yet"' in text
    assert '"baseline_stale": [' in text


def test_a_schema_1_results_file_still_loads() -> None:
    old = (GOLDEN / "results-schema1.json").read_text(encoding="utf-8")
    assert '"schema": 1' in old and "known_failure" not in old
    loaded = loads_json(old)
    assert loaded.schema == 2 and loaded.shard == ""
    assert all(c.known_failure is None for t in loaded.targets for c in t.cases)
    assert all(t.baseline == () for t in loaded.targets)
    assert loaded == small_results()  # the same run, written by the previous version


# ---------------------------------------------------------------------------- JUnit


def test_junit_known_failure_is_skipped_not_a_failure() -> None:
    root = ET.fromstring(render_junit(gated_full_results()))
    nginx = root.find("testsuite")
    assert nginx is not None
    tc = next(t for t in nginx.iter("testcase") if t.get("name") == "ws/6455/5.5.1/close-reason")
    assert [child.tag for child in tc] == ["skipped"]
    assert tc[0].get("message") == "known failure (baseline): close reasons are not checked yet"
    assert "Observed: close 1002" in (tc[0].text or "")
    assert {k: nginx.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "10",
        "failures": "2",
        "errors": "1",
        "skipped": "4",
    }
    assert root.get("failures") == "2" and root.get("skipped") == "4"


# A schema written from the published structure of the JUnit XML that Jenkins, GitLab and
# GitHub test reporters read (Ant's XMLJUnitResultFormatter, Jenkins' junit-10.xsd): what
# elements nest where, which attributes exist and what they hold.
JUNIT_XSD = """\
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">
  <xs:simpleType name="count"><xs:restriction base="xs:nonNegativeInteger"/></xs:simpleType>
  <xs:simpleType name="seconds"><xs:restriction base="xs:decimal"><xs:minInclusive value="0"/></xs:restriction></xs:simpleType>
  <xs:complexType name="problem" mixed="true">
    <xs:attribute name="message" type="xs:string"/>
    <xs:attribute name="type" type="xs:string"/>
  </xs:complexType>
  <xs:complexType name="skip" mixed="true">
    <xs:attribute name="message" type="xs:string"/>
  </xs:complexType>
  <xs:element name="testsuites">
    <xs:complexType>
      <xs:sequence>
        <xs:element ref="testsuite" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence>
      <xs:attribute name="name" type="xs:string"/>
      <xs:attribute name="time" type="seconds"/>
      <xs:attribute name="tests" type="count"/>
      <xs:attribute name="failures" type="count"/>
      <xs:attribute name="errors" type="count"/>
      <xs:attribute name="skipped" type="count"/>
      <xs:attribute name="disabled" type="count"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="testsuite">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="properties" minOccurs="0">
          <xs:complexType>
            <xs:sequence>
              <xs:element name="property" minOccurs="0" maxOccurs="unbounded">
                <xs:complexType>
                  <xs:attribute name="name" type="xs:string" use="required"/>
                  <xs:attribute name="value" type="xs:string" use="required"/>
                </xs:complexType>
              </xs:element>
            </xs:sequence>
          </xs:complexType>
        </xs:element>
        <xs:element name="testcase" minOccurs="0" maxOccurs="unbounded">
          <xs:complexType>
            <xs:sequence>
              <xs:choice minOccurs="0">
                <xs:element name="skipped" type="skip"/>
                <xs:element name="error" type="problem"/>
                <xs:element name="failure" type="problem"/>
              </xs:choice>
              <xs:element name="system-out" type="xs:string" minOccurs="0"/>
              <xs:element name="system-err" type="xs:string" minOccurs="0"/>
            </xs:sequence>
            <xs:attribute name="name" type="xs:string" use="required"/>
            <xs:attribute name="classname" type="xs:string" use="required"/>
            <xs:attribute name="time" type="seconds" use="required"/>
          </xs:complexType>
        </xs:element>
        <xs:element name="system-out" type="xs:string" minOccurs="0"/>
        <xs:element name="system-err" type="xs:string" minOccurs="0"/>
      </xs:sequence>
      <xs:attribute name="name" type="xs:string" use="required"/>
      <xs:attribute name="tests" type="count" use="required"/>
      <xs:attribute name="failures" type="count" use="required"/>
      <xs:attribute name="errors" type="count" use="required"/>
      <xs:attribute name="skipped" type="count"/>
      <xs:attribute name="disabled" type="count"/>
      <xs:attribute name="time" type="seconds"/>
      <xs:attribute name="timestamp" type="xs:string"/>
      <xs:attribute name="hostname" type="xs:string"/>
      <xs:attribute name="id" type="xs:string"/>
      <xs:attribute name="package" type="xs:string"/>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""


@pytest.fixture(scope="module")
def junit_schema():  # type: ignore[no-untyped-def]
    # lxml is in the test extras: missing, the test skips on a developer's machine, never in CI.
    if os.environ.get("CI") == "true":
        from lxml import etree
    else:
        etree = pytest.importorskip("lxml.etree")
    return etree.XMLSchema(etree.fromstring(JUNIT_XSD.encode()))


def _validate(schema, xml: str) -> None:  # type: ignore[no-untyped-def]
    from lxml import etree

    document = etree.fromstring(xml.encode("utf-8"))
    assert schema.validate(document), schema.error_log


@pytest.mark.parametrize("fixture", [full_results, gated_full_results, small_results])
def test_junit_validates_against_the_schema(junit_schema, fixture: Callable[[], RunResults]) -> None:  # type: ignore[no-untyped-def]
    _validate(junit_schema, render_junit(fixture()))


def test_the_schema_rejects_what_ci_systems_would_not_read(junit_schema) -> None:  # type: ignore[no-untyped-def]
    from lxml import etree

    good = render_junit(small_results())
    for bad in (
        good.replace('tests="9"', 'tests="nine"', 1),  # a count that is not a number
        good.replace("<testcase ", '<testcase bogus="1" ', 1),  # an attribute CI does not know
        good.replace("<failure ", "<oops ", 1).replace("</failure>", "</oops>", 1),
        re.sub(r'<testcase name="[^"]*"', "<testcase", good, count=1),  # a test with no name
    ):
        assert bad != good
        assert not junit_schema.validate(etree.fromstring(bad.encode("utf-8")))


weird_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)


@given(text=weird_text)
def test_junit_validates_whatever_the_server_sent(junit_schema, text: str) -> None:  # type: ignore[no-untyped-def]
    fail = case("h1/9112/2.2/x", Verdict.FAIL, expected=text, observed="\x00" + text, step_text=text)
    cases = (
        fail,
        dataclasses.replace(fail, id="h1/9112/2.2/y", verdict=Verdict.ERROR),
        dataclasses.replace(fail, id="h1/9112/2.2/z", known_failure=text),
        dataclasses.replace(fail, id="h1/9112/2.2/w", verdict=Verdict.SKIPPED, notes=(text,)),
    )
    run = RunResults(
        tool_version=text,
        started_at=text,
        duration_s=1.0,
        targets=(TargetResults(name=text, url=text, cases=cases),),
    )
    _validate(junit_schema, render_junit(run))


# ---------------------------------------------------------------------------- Markdown


def test_markdown_escapes_everything_from_the_data() -> None:
    page = render_markdown(small_results())
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert\\(1\\)&lt;/script&gt;" in page
    assert "\x00" not in page and "\x1b" not in page and "\u202e" not in page
    assert "[bold red]" not in page  # brackets are escaped: no link can form
    assert md_text("a|b\nc") == "a\\|b<br>c"
    assert md_text("[x](javascript:alert(1))") == "\\[x\\]\\(javascript:alert\\(1\\)\\)"


@given(text=weird_text)
def test_markdown_never_lets_html_or_links_through(text: str) -> None:
    result = case("h1/9112/2.2/x", Verdict.FAIL, expected=text, observed=text, step_text=text, title=text)
    page = render_markdown(
        RunResults(
            tool_version=text,
            started_at=text,
            duration_s=1.0,
            targets=(TargetResults(name=text, url=text, cases=(result,)),),
        )
    )
    page.encode("utf-8")
    assert not re.search(r"<(?!br>)", page)  # no tag but the line breaks the summary adds
    assert not re.search(r"(?<!\\)\[", page)  # no unescaped bracket: no link, no image


def test_markdown_summary_with_one_target_has_no_matrix() -> None:
    one = dataclasses.replace(small_results(), targets=small_results().targets[:1])
    page = render_markdown(one)
    assert "## Matrix" not in page
    assert "**3 new FAIL at MUST**" not in page and "**1 new FAIL at MUST**" in page


def test_markdown_summary_caps_long_lists() -> None:
    many = tuple(case(f"h1/9112/3/c{n:03d}", Verdict.FAIL, observed="x") for n in range(120))
    run = RunResults(
        tool_version="0.1.0",
        started_at="s",
        duration_s=1.0,
        targets=(TargetResults(name="t", url="u", cases=many),),
    )
    page = render_markdown(run)
    assert page.count("- **FAIL** MUST") == 50
    assert "- … and 70 more failures: see the full report" in page


def test_write_reports_writes_summary_md(tmp_path: Path) -> None:
    paths = write_reports(gated_results(), tmp_path, fail_on=Requirement.SHOULD)
    assert REPORT_FILES["markdown"] == "summary.md"
    assert paths["markdown"].read_text(encoding="utf-8") == render_markdown(
        gated_results(), Requirement.SHOULD
    )


# ---------------------------------------------------------------------------- GitHub Actions


def test_github_escaping_follows_the_toolkit_rules() -> None:
    assert escape_data("100%\r\nnext: a,b") == "100%25%0D%0Anext: a,b"
    assert escape_property("100%\r\nnext: a,b") == "100%25%0D%0Anext%3A a%2Cb"
    assert command("error", "line1\nline2", title="t: a,b") == "::error title=t%3A a%2Cb::line1%0Aline2"
    assert command("notice", "plain") == "::notice::plain"


def test_annotations_one_line_each_and_no_known_failures() -> None:
    lines = workflow_commands(gated_results(), Requirement.SHOULD)
    assert all(line.startswith(("::error ", "::warning ", "::notice ")) for line in lines)
    assert all("\n" not in line and "\r" not in line for line in lines)
    text = "\n".join(lines)
    assert "close-reason" not in text and "window-overflow" not in text  # known: not annotated
    assert "::error title=nginx%3A h2/9113/6.5.2/max-frame-size::MUST FAIL" in text
    assert "::error title=evil<b>&\"'%3A 2 cases::ERROR: connection refused: 127.0.0.1:9" in text
    assert "::notice title=nginx%3A baseline::baseline entry no longer FAILs" in text
    assert HOSTILE not in text and SCRIPT in text and IMG in text  # shown, control characters escaped


def test_annotations_are_capped() -> None:
    many = tuple(case(f"h1/9112/3/c{n:03d}", Verdict.FAIL) for n in range(80))
    run = RunResults(
        tool_version="0.1.0",
        started_at="s",
        duration_s=1.0,
        targets=(TargetResults(name="t", url="u", cases=many),),
    )
    lines = workflow_commands(run)
    assert len(lines) == 50
    assert lines[-1] == "::warning title=conformance::31 more annotations left out: see the report"
