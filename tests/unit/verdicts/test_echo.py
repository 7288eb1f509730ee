"""The echo contract: parsing echo documents and matching what the server parsed."""

from __future__ import annotations

import base64
import json
import textwrap
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.codecs.http1 import Response, ResponseParser
from conformance.scenario.loader import load_text
from conformance.scenario.model import Expect
from conformance.verdicts import echo
from conformance.verdicts import expectations as ex

DOCUMENT: dict[str, Any] = {
    "method": "POST",
    "target": "/echo?q=1",
    "version": "HTTP/1.1",
    "authority": "127.0.0.1:8080",
    "headers": [["Host", "127.0.0.1:8080"], ["X-List", "a"], ["x-list", "b"], ["X-Nul", "a\x00b"]],
    "body": "hello\xff",
}


def response(body: bytes, status: int = 200) -> Response:
    raw = b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n%s" % (status, len(body), body)
    (event,) = ResponseParser().feed(raw)
    assert isinstance(event, Response)
    return event


def as_body(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def test_a_document_is_octets_one_character_each() -> None:
    parsed = echo.parse_echo(as_body(DOCUMENT))
    assert isinstance(parsed, echo.EchoDocument)
    assert parsed.body == b"hello\xff"
    assert parsed.values("X-LIST") == ["a", "b"]
    assert parsed.values("x-nul") == ["a\x00b"]
    assert "POST /echo?q=1 HTTP/1.1 for 127.0.0.1:8080" in parsed.describe()


def test_body_base64_may_replace_body() -> None:
    document = {k: v for k, v in DOCUMENT.items() if k != "body"}
    document["body_base64"] = base64.b64encode(b"\x00\xfe").decode()
    parsed = echo.parse_echo(as_body(document))
    assert isinstance(parsed, echo.EchoDocument) and parsed.body == b"\x00\xfe"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<html>", "not JSON"),
        (b"[]", "not a JSON object"),
        (as_body({k: v for k, v in DOCUMENT.items() if k != "authority"}), "no 'authority'"),
        (as_body({**DOCUMENT, "headers": [["a"]]}), "not a list of [name, value] pairs"),
        (as_body({**DOCUMENT, "body": "caf\u20ac"}), "above U+00FF"),
        (as_body({**DOCUMENT, "method": 5}), "'method' is not a string"),
        (b"\xff{", "not JSON"),
    ],
)
def test_what_is_not_an_echo_document_says_why(body: bytes, why: str) -> None:
    problem = echo.parse_echo(body)
    assert isinstance(problem, str) and why in problem


def test_base64_errors_are_reported() -> None:
    document = {k: v for k, v in DOCUMENT.items() if k != "body"}
    document["body_base64"] = "!!"
    problem = echo.parse_echo(as_body(document))
    assert isinstance(problem, str) and "not base64" in problem


def pattern(yaml_expectation: str) -> ex.Expectation:
    source = textwrap.dedent(
        """\
        protocol: h1
        rfc: 9110
        section: "5"
        cases:
          - id: c
            title: t
            requirement: MUST
            requires: [echo]
            steps:
              - send: "GET {echo_path} HTTP/1.1\\r\\n\\r\\n"
              - expect:
        """
    ) + textwrap.indent(textwrap.dedent(yaml_expectation), " " * 10)
    cases, errors = load_text(source, "x.yaml")
    assert [e.render() for e in errors] == []
    step = cases[0].steps[-1]
    assert isinstance(step, Expect)
    return step.expectation


def judge(expectation: ex.Expectation, event: Response) -> ex.Outcome:
    return expectation.evaluate(
        ex.Observation(events=[event], received=1, elapsed=0.0, timed_out=False),
        ex.Cursor(index=0, received=0),
    )


@pytest.mark.parametrize(
    "yaml_expectation",
    [
        "echo: {method: POST, target: /echo?q=1, version: HTTP/1.1, authority: 127.0.0.1:8080}",
        'echo: {headers: {X-List: "a, b"}}',  # two lines read as one combined value
        'echo: {headers: {X-List: "a,b", x-list: {contains: B}}}',  # OWS around commas, case
        "echo: {headers: {Content-Length: false, Host: true, X-List: [false, {matches: '^a, b$'}]}}",
        "echo: {headers: {X-Nul: {not: {matches: '\\x00'}}}}",
        "echo: {body: !hex '68656c6c6fff'}",
        "echo: {body: {length: 6}}",
        "echo: {authority: {not: {matches: other}}, headers: {Host: {not: {contains: other}}}}",
        "echo:",
    ],
)
def test_echo_patterns_that_match(yaml_expectation: str) -> None:
    expectation = pattern(yaml_expectation)
    document = {**DOCUMENT, "headers": [["X-Nul", "a b"]]} if "X-Nul" in yaml_expectation else DOCUMENT
    assert isinstance(judge(expectation, response(as_body(document))), ex.Matched)


@pytest.mark.parametrize(
    ("yaml_expectation", "observed"),
    [
        ("echo: {method: GET}", 'method "POST"'),
        ('echo: {headers: {X-List: "b, a"}}', 'X-List "a, b"'),
        ("echo: {headers: {X-Nul: {not: {matches: '\\x00'}}}}", 'X-Nul "a\\x00b"'),
        ("echo: {headers: {Host: false}}", 'Host "127.0.0.1:8080"'),
        ("echo: {headers: {Content-Length: true}}", "no Content-Length"),
        ("echo: {body: hello}", 'body "hello\\xff" (6 bytes)'),
    ],
)
def test_echo_patterns_that_do_not_match_say_what_the_server_parsed(
    yaml_expectation: str, observed: str
) -> None:
    outcome = judge(pattern(yaml_expectation), response(as_body(DOCUMENT)))
    assert isinstance(outcome, ex.Mismatch)
    assert outcome.observed.startswith("the server parsed POST /echo?q=1 HTTP/1.1")
    assert observed in outcome.observed


def test_a_response_that_is_no_echo_is_a_mismatch_with_the_reason() -> None:
    expectation = pattern("echo: {method: GET}")
    outcome = judge(expectation, response(b"not found", status=404))
    assert (
        isinstance(outcome, ex.Mismatch) and "404" in outcome.observed and "not an echo" in outcome.observed
    )
    outcome = judge(expectation, response(b"<html>"))
    assert isinstance(outcome, ex.Mismatch) and "not an echo document: not JSON" in outcome.observed


def test_describe_reads_as_expected_text() -> None:
    text = pattern(
        "echo: {headers: {Content-Length: false, X: {not: {contains: gzip}}}, body: hi}"
    ).describe()
    assert text == (
        "an echo of the request as the server parsed it, showing no Content-Length field, "
        "X without 'gzip', body \"hi\""
    )


@given(
    st.binary(max_size=512)
    | st.builds(
        lambda d: json.dumps(d).encode(),
        st.dictionaries(
            st.sampled_from(["method", "target", "version", "authority", "headers", "body", "body_base64"]),
            st.none()
            | st.integers()
            | st.text(max_size=8)
            | st.lists(st.lists(st.text(max_size=4), max_size=3), max_size=3),
        ),
    )
)
def test_parsing_never_raises(data: bytes) -> None:
    assert isinstance(echo.parse_echo(data), (echo.EchoDocument, str))
