"""Run profiles: the strict profile reads RFC 9112 §2.2's generic SHOULD as a MUST."""

from __future__ import annotations

import textwrap

import pytest

from conformance.codecs.common import ConnectionClosed
from conformance.codecs.http1 import Response, ResponseParser
from conformance.scenario.loader import load_text
from conformance.scenario.model import Case, Expect
from conformance.verdicts import expectations as ex
from conformance.verdicts.profiles import PreferredOnly, apply_profile
from conformance.verdicts.verdict import Requirement

SOURCE = """\
protocol: h1
rfc: 9112
section: "5"
defaults:
  requirement: SHOULD
cases:
  - id: {slug}
    title: t
    tags: [{tags}]
    steps:
      - send: "GE@T / HTTP/1.1\\r\\n\\r\\n"
      - expect:
          one_of:
            - response: {{status: 400}}
            - closed: true
              strict: false
"""


def case(tags: str = "fields, generic-400", slug: str = "bad") -> Case:
    cases, errors = load_text(textwrap.dedent(SOURCE.format(tags=tags, slug=slug)), "x.yaml")
    assert errors == []
    return cases[0]


def expectation(of: Case) -> ex.Expectation:
    step = of.steps[-1]
    assert isinstance(step, Expect)
    return step.expectation


def evaluate(expectation: ex.Expectation, *events: object) -> ex.Outcome:
    observation = ex.Observation(events=list(events), received=1, elapsed=0.1, timed_out=False)
    return expectation.evaluate(observation, ex.Cursor(index=0, received=0))


def bad_request() -> Response:
    (event,) = ResponseParser().feed(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    assert isinstance(event, Response)
    return event


def test_the_default_profile_changes_nothing() -> None:
    generic = case()
    assert apply_profile(generic, "default") is generic


def test_strict_changes_only_generic_400_cases() -> None:
    other = case(tags="fields")
    assert apply_profile(other, "strict") is other


def test_strict_raises_the_level_and_keeps_the_declared_one() -> None:
    strict = apply_profile(case(), "strict")
    assert (strict.requirement, strict.declared_requirement) == (Requirement.MUST, Requirement.SHOULD)
    assert isinstance(expectation(strict), PreferredOnly)
    assert expectation(strict).describe() == "a response with status 400"


def test_under_strict_the_not_preferred_outcome_is_a_mismatch() -> None:
    closed = ConnectionClosed(reset=False)
    default = evaluate(expectation(case()), closed)
    assert isinstance(default, ex.Matched) and default.grade is ex.Grade.NON_STRICT
    strict = evaluate(expectation(apply_profile(case(), "strict")), closed)
    assert isinstance(strict, ex.Mismatch)
    assert "acceptable under the default profile, not under strict" in strict.observed
    preferred = evaluate(expectation(apply_profile(case(), "strict")), bad_request())
    assert isinstance(preferred, ex.Matched) and preferred.grade is ex.Grade.PASS


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown profile 'lax'"):
        apply_profile(case(), "lax")
