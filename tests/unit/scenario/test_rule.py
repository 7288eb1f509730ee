"""``rule:``: the quoted sentence that decides a case, loaded with its location."""

from __future__ import annotations

from conformance.scenario.loader import load_text

CASE = """
protocol: h1
rfc: 9112
section: "6.3"
cases:
  - id: c
    title: t
    requirement: MUST
    rule:
      quote: >-
        the recipient MUST treat it as an
        unrecoverable error
      source: RFC 9112 §6.3
      subject: {subject}
    steps:
      - expect: {{closed: true}}
"""


def test_the_rule_is_loaded_with_whitespace_folded() -> None:
    cases, errors = load_text(CASE.format(subject="the recipient"), "x.yaml")
    assert not errors
    rule = cases[0].rule
    assert rule is not None and rule.quote == "the recipient MUST treat it as an unrecoverable error"
    assert rule.describe() == 'RFC 9112 §6.3: "the recipient MUST treat it as an unrecoverable error"'


def test_a_subject_that_is_not_in_the_sentence_is_an_error() -> None:
    _, errors = load_text(CASE.format(subject="a server"), "x.yaml")
    assert errors and "is not in the quoted sentence" in str(errors[0])
    assert errors[0].location is not None and errors[0].location.line == 14


def test_the_rule_reaches_results_json_and_junit() -> None:
    from conformance.reporters.junit import _details
    from conformance.results import CaseResult
    from conformance.verdicts.judge import judge

    cases, _ = load_text(CASE.format(subject="the recipient"), "x.yaml")
    result = judge(cases[0], grades=[], failure=None, error=None)
    assert result.rule == 'RFC 9112 §6.3: "the recipient MUST treat it as an unrecoverable error"'
    assert CaseResult.from_json(result.to_json()).rule == result.rule
    assert "Rule: RFC 9112 §6.3" in _details(result)
