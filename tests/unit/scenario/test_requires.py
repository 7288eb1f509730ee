"""``requires:``: capabilities a case needs from the target, checked where they are used."""

from __future__ import annotations

import textwrap

import pytest

from conformance.scenario.loader import load_text

CASE = """\
protocol: h1
rfc: 9110
section: "5"
cases:
  - id: c
    title: t
    requirement: MUST
{requires}    steps:
      - send: "GET {send} HTTP/1.1\\r\\n\\r\\n"
      - expect:
          {expect}
"""


def errors_of(requires: str = "", send: str = "/", expect: str = "closed: true") -> list[str]:
    source = CASE.replace("{requires}", requires).replace("{send}", send).replace("{expect}", expect)
    _, errors = load_text(textwrap.dedent(source), "cases/x.yaml")
    return [error.render() for error in errors]


def test_a_case_that_declares_echo_may_use_it() -> None:
    source = (
        CASE.replace("{requires}", "    requires: [echo]\n")
        .replace("{send}", "{echo_path}")
        .replace("{expect}", "echo: {method: GET}")
    )
    cases, errors = load_text(source, "x.yaml")
    assert errors == [] and cases[0].requires == ("echo",)


def test_requires_in_defaults_is_inherited() -> None:
    source = CASE.replace("cases:\n", "defaults:\n  requires: [echo]\ncases:\n").replace("{requires}", "")
    source = source.replace("{send}", "{echo_path}").replace("{expect}", "closed: true")
    cases, errors = load_text(source, "x.yaml")
    assert errors == [] and cases[0].requires == ("echo",)


@pytest.mark.parametrize(
    ("kwargs", "message", "line"),
    [
        ({"send": "{echo_path}"}, "{echo_path} needs the case to declare `requires: [echo]`", 9),
        ({"expect": "echo: {method: GET}"}, "'echo' needs the case to declare `requires: [echo]`", 11),
        (
            {"requires": "    requires: [telepathy]\n"},
            "unknown capability 'telepathy' (known: echo, validator, large, chunked)",
            8,
        ),
        ({"requires": "    requires: echo\n"}, "requires: a list of capabilities", 8),
        (
            {"requires": "    requires: [echo]\n", "expect": "echo: {headers: {Host: '{authority}'}}"},
            "templates are not filled in expected values",
            12,
        ),
        (
            {"requires": "    requires: [echo]\n", "expect": "echo: {headers: {Host: {regex: x}}}"},
            "unknown field 'regex' in the Host condition",
            12,
        ),
        (
            {"requires": "    requires: [echo]\n", "expect": "echo: {status: 200}"},
            "unknown field 'status' in echo",
            12,
        ),
    ],
)
def test_misuse_is_a_located_error(kwargs: dict[str, str], message: str, line: int) -> None:
    [error] = errors_of(**kwargs)
    assert message in error
    assert f"cases/x.yaml:{line}:" in error
    assert "(case h1/9110/5/c)" in error


@pytest.mark.parametrize("field", ["validator_path", "large_path", "chunked_path"])
def test_a_resource_with_a_path_fallback_may_be_used_without_requiring_it(field: str) -> None:
    from conformance.scenario.templates import TargetContext

    source = (
        CASE.replace("{requires}", "")
        .replace("{send}", "{" + field + "}")
        .replace("{expect}", "closed: true")
    )
    cases, errors = load_text(source, "x.yaml")
    assert errors == [] and cases[0].requires == ()
    # Against a target that names no such resource, the template is the target URL's path.
    bare = TargetContext(host="h", port=80, authority="h", path="/root", scheme="http")
    assert bare.fill("{" + field + "} {echo_path}") == "/root "
    named = TargetContext(
        host="h", port=80, authority="h", path="/root", scheme="http", resource_paths=((field, "/named"),)
    )
    assert named.fill("{" + field + "}") == "/named"


@pytest.mark.parametrize(
    ("file", "case_id", "setting", "field"),
    [
        ("h1/9110/13.1.2.yaml", "h1/9110/13.1.2/if-none-match-star-get", "validator", "validator_path"),
        ("h1/9112/6.1.yaml", "h1/9112/6.1/no-chunked-response-to-http10-get", "chunked", "chunked_path"),
    ],
)
def test_bundled_cases_ask_the_resource_the_target_names(
    file: str, case_id: str, setting: str, field: str
) -> None:
    from conformance.scenario import model
    from conformance.scenario.loader import default_case_paths, load_file
    from conformance.target import Target

    [root] = [p for p in default_case_paths() if (p / file).exists()]
    cases, errors = load_file(root / file)
    assert errors == []
    [case] = [c for c in cases if c.id == case_id]
    send = next(s for s in case.steps if isinstance(s, model.Send))
    target = Target.parse("http://127.0.0.1:8080/root")
    assert send.payload.render(target.context()).startswith(b"GET /root HTTP/1.")
    named = target.with_resources({setting: "/named"})
    assert send.payload.render(named.context()).startswith(b"GET /named HTTP/1.")


def test_a_request_with_content_goes_to_the_echo_path_where_there_is_one() -> None:
    """``{content_path}``: the echo endpoint (a handler that reads content) where the run names
    one, else the target's path; a case using it requires nothing and runs everywhere."""
    from conformance.scenario.templates import TargetContext

    cases, errors = load_text(
        CASE.replace("{requires}", "")
        .replace("{send}", "{content_path}")
        .replace("{expect}", "closed: true"),
        "x.yaml",
    )
    assert errors == [] and cases[0].requires == ()
    bare = TargetContext(host="h", port=80, authority="h", path="/root", scheme="http")
    assert bare.fill("{content_path}") == "/root"
    echo = TargetContext(
        host="h",
        port=80,
        authority="h",
        path="/root",
        scheme="http",
        resource_paths=(("echo_path", "/echo"),),
    )
    assert echo.fill("{content_path}") == "/echo"


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "{content_path}"), ("PUT", "{content_path}"), ("GET", "{path}"), ("HEAD", "{path}")],
)
def test_an_http2_request_with_a_method_that_carries_content_goes_to_the_content_path(
    method: str, path: str
) -> None:
    source = textwrap.dedent(f"""\
        protocol: h2
        rfc: 9113
        section: "8.1"
        cases:
          - id: c
            title: t
            requirement: MUST
            steps:
              - send: {{headers: {{stream: 1, flags: [END_HEADERS], method: {method}}}}}
              - send: {{headers: {{stream: 3, method: {method}, path: /given}}}}
              - expect: {{closed: true}}
        """)
    cases, errors = load_text(source, "x.yaml")
    assert errors == []
    first, second = (dict(step.payload.block.fields) for step in cases[0].steps[1:3])
    assert first[":path"] == path and second[":path"] == "/given"
