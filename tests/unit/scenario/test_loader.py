"""The loader: typed cases out, located errors for everything wrong."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from conformance.scenario import model, payloads
from conformance.scenario.loader import load, load_text
from conformance.scenario.templates import TargetContext
from conformance.verdicts import expectations as ex
from conformance.verdicts.http1 import ResponsePattern
from conformance.verdicts.verdict import Requirement

CTX = TargetContext(host="127.0.0.1", port=8080, authority="127.0.0.1:8080", path="/p", scheme="http")

GOOD = """\
protocol: h1
rfc: 9112
section: "5.1"
defaults:
  requirement: SHOULD
cases:
  - id: space-before-colon
    title: Whitespace before the colon
    requirement: MUST
    reference: RFC 9112 §5.1
    steps:
      - send: "GET {path} HTTP/1.1\\r\\nHost: {authority}\\r\\nFoo : bar\\r\\n\\r\\n"
      - expect:
          one_of:
            - response: {status: 400}
            - closed: true
              strict: false
  - id: ws-{name}
    title: "{name} before the colon"
    params:
      - {name: sp, ws: " "}
      - {name: htab, ws: "\\t"}
    steps:
      - send: "GET / HTTP/1.1\\r\\nFoo{ws}: x\\r\\n\\r\\n"
      - expect: {response: {status: 4xx}}
"""


def load_one(source: str) -> tuple[list[model.Case], list[str]]:
    cases, errors = load_text(textwrap.dedent(source), "cases/x.yaml")
    return cases, [e.render() for e in errors]


def test_loads_typed_cases_with_stable_ids() -> None:
    cases, errors = load_one(GOOD)
    assert errors == []
    assert [c.id for c in cases] == [
        "h1/9112/5.1/space-before-colon",
        "h1/9112/5.1/ws-sp",
        "h1/9112/5.1/ws-htab",
    ]
    first = cases[0]
    assert first.requirement is Requirement.MUST
    assert cases[1].requirement is Requirement.SHOULD  # from defaults
    assert cases[2].title == "htab before the colon"
    assert isinstance(first.steps[0], model.Connect)  # implicit connect
    send = first.steps[1]
    assert isinstance(send, model.Send)
    assert send.payload.render(CTX) == b"GET /p HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nFoo : bar\r\n\r\n"
    expect = first.steps[2]
    assert isinstance(expect, model.Expect)
    assert isinstance(expect.expectation, ex.OneOf)
    closed = expect.expectation.alternatives[1]
    assert isinstance(closed, ex.Closed) and closed.strict is False
    htab_send = cases[2].steps[1]
    assert isinstance(htab_send, model.Send)
    assert htab_send.payload.render(CTX) == b"GET / HTTP/1.1\r\nFoo\t: x\r\n\r\n"


def test_cartesian_params_and_typed_whole_values() -> None:
    cases, errors = load_one(
        """
        protocol: h1
        rfc: 9112
        section: "3"
        cases:
          - id: m-{path_kind}-{code}
            title: t
            requirement: MAY
            params: {path_kind: [root, star], code: [400, 501]}
            steps:
              - send: "GET {path_kind} HTTP/1.1\\r\\n\\r\\n"
              - expect: {response: {status: "{code}"}}
        """
    )
    assert errors == []
    assert [c.slug for c in cases] == ["m-root-400", "m-root-501", "m-star-400", "m-star-501"]
    status = cases[1].steps[2].expectation.status  # type: ignore[attr-defined]
    assert status.codes == frozenset({501})


def test_uppercase_in_an_expanded_id_is_an_error() -> None:
    cases, errors = load_one(
        """
        protocol: h1
        rfc: 9112
        section: "3"
        cases:
          - id: m-{method}
            title: t
            requirement: MAY
            params: {method: [GET]}
            steps: [{expect: {closed: true}}]
        """
    )
    assert cases == []
    assert len(errors) == 1 and "id 'm-GET'" in errors[0]


@pytest.mark.parametrize(
    ("source", "message", "line"),
    [
        ("protocol: h3\nrfc: 1\nsection: '1'\ncases: []\n", "protocol: one of h1, h2, ws, not 'h3'", 1),
        (
            "protocol: h1\nrfc: 9112\nsection: '1'\ncases:\n  - id: a\n    title: t\n    requirement: MUST\n    steps:\n      - sned: x\n",
            "a step needs exactly one of",
            9,
        ),
        (
            "protocol: h1\nrfc: 9112\nsection: '1'\ncases:\n  - id: a\n    title: t\n    requirement: must-ish\n    steps: [{expect: {closed: true}}]\n",
            "requirement: one of MUST",
            7,
        ),
        (
            "protocol: h1\nrfc: 9112\nsection: '1'\ncases:\n  - id: a\n    title: t\n    requirement: MUST\n    steps:\n      - send: \"{nope}\"\n      - expect: {closed: true}\n",
            "unknown template {nope}",
            9,
        ),
        (
            "protocol: h1\nrfc: 9112\nsection: '1'\ncases:\n  - id: a\n    title: t\n    requirement: MUST\n    steps:\n      - send: x\n",
            "needs at least one expect step",
            9,
        ),
        (
            "protocol: h1\nrfc: 9112\nsection: '1'\ncases:\n  - id: a\n    title: t\n    requirement: MUST\n    steps:\n      - expect: {response: {status: 1000}}\n",
            "status: a code from 100 to 999",
            9,
        ),
        (
            "protocol: h1\nrfc: 9112\nsection: '1'\ncases:\n  - id: a\n    title: t\n    requirement: MUST\n    steps:\n      - send: \"\u2603\"\n      - expect: {closed: true}\n",
            "is not one byte",
            9,
        ),
        (
            "protocol: h1\nrfc: 9112\nsection: '1'\ncases:\n  - id: a\n    title: t\n    title: u\n",
            "duplicate key 'title'",
            7,
        ),
        (
            "protocol: h1\nrfc: 9112\nsection: '1'\ncases:\n  - id: A b\n    title: t\n    requirement: MUST\n    steps: [{expect: {closed: true}}]\n",
            "id 'A b'",
            5,
        ),
        ("protocol: h1\nrfc: [\n", "YAML syntax", 3),
        (
            "protocol: h1\nrfc: 9112\nsection: '1'\ncases:\n  - id: a\n    title: t\n    requirement: MUST\n    steps:\n      - send: !hex \"0g\"\n      - expect: {closed: true}\n",
            "!hex takes hexadecimal",
            9,
        ),
    ],
)
def test_errors_name_file_line_and_case(source: str, message: str, line: int) -> None:
    try:
        cases, errors = load_one(source)
    except Exception as exc:  # file-level errors are raised
        errors = [str(exc)]
    assert len(errors) == 1, errors
    assert message in errors[0]
    assert f"cases/x.yaml:{line}:" in errors[0]
    if "- id: a" in source and "YAML" not in message and "duplicate key" not in message:
        assert "(case h1/9112/1/a)" in errors[0]


def test_one_broken_case_does_not_hide_the_others() -> None:
    cases, errors = load_one(
        """
        protocol: h1
        rfc: 9112
        section: "1"
        cases:
          - id: good
            title: t
            requirement: MUST
            steps: [{expect: {closed: true}}]
          - id: bad
            title: t
            requirement: MUST
            steps: [{expect: {clsoed: true}}]
        """
    )
    assert [c.slug for c in cases] == ["good"]
    assert len(errors) == 1 and "h1/9112/1/bad" in errors[0]


def test_duplicate_ids_across_files_are_an_error(tmp_path: Path) -> None:
    body = "protocol: h1\nrfc: 9112\nsection: '1'\ncases:\n  - id: a\n    title: t\n    requirement: MUST\n    steps: [{expect: {closed: true}}]\n"
    (tmp_path / "a.yaml").write_text(body)
    (tmp_path / "b.yaml").write_text(body)
    result = load([tmp_path])
    assert len(result.cases) == 1
    assert len(result.errors) == 1
    assert "duplicate case id" in result.errors[0].render()
    assert "h1/9112/1/a" in result.errors[0].render()


def test_payload_generators() -> None:
    cases, errors = load_one(
        """
        protocol: h1
        rfc: 9112
        section: "1"
        cases:
          - id: a
            title: t
            requirement: MUST
            steps:
              - send: {concat: [!hex "00ff", {repeat: "ab", count: 3}, {utf8: "é"}, {random: 4, seed: 1}]}
              - send:
                  request:
                    method: POST
                    headers: [[Host, "{authority}"], [X, "1"]]
                    body: "hello"
              - send: {text: "abcdef", split: 2, delay_ms: 0}
              - expect: {silence: 10}
        """
    )
    assert errors == []
    steps = cases[0].steps
    first = steps[1].payload.render(CTX)  # type: ignore[attr-defined]
    assert first[:8] == b"\x00\xffababab" and first[8:10] == "é".encode()
    assert len(first) == 14
    assert first == steps[1].payload.render(CTX)  # type: ignore[attr-defined]  # deterministic
    request = steps[2].payload.render(CTX)  # type: ignore[attr-defined]
    assert request == b"POST /p HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nX: 1\r\nContent-Length: 5\r\n\r\nhello"
    split_send = steps[3]
    assert isinstance(split_send, model.Send)
    assert split_send.pieces(b"abcdef") == [b"ab", b"cd", b"ef"]


def test_response_pattern_fields() -> None:
    cases, errors = load_one(
        """
        protocol: h1
        rfc: 9112
        section: "1"
        cases:
          - id: a
            title: t
            requirement: MUST
            steps:
              - expect:
                  response:
                    status: [200, 3xx]
                    headers: {Connection: {contains: close}, Transfer-Encoding: false, Content-Length: "0"}
                    body: ""
                    violations: none
        """
    )
    assert errors == []
    pattern = cases[0].steps[1].expectation  # type: ignore[attr-defined]
    assert isinstance(pattern, ResponsePattern)
    assert pattern.status is not None and pattern.status.accepts(200) and pattern.status.accepts(302)
    assert not pattern.status.accepts(201)
    assert pattern.forbid_violations
    assert pattern.describe() == (
        "a response with status 200 or 3xx, Connection containing 'close', no Transfer-Encoding field, "
        "Content-Length: 0, an empty body, correct RFC 9112 framing"
    )


def test_literal_braces_and_json_bodies() -> None:
    cases, errors = load_one(
        """
        protocol: h1
        rfc: 9112
        section: "1"
        cases:
          - id: a
            title: t
            requirement: MUST
            steps:
              - send: '{"a": 1} {{path}} {path}'
              - expect: {closed: true}
        """
    )
    assert errors == []
    assert cases[0].steps[1].payload.render(CTX) == b'{"a": 1} {path} /p'  # type: ignore[attr-defined]


def test_target_fields_inside_parameter_values_are_filled_at_run_time() -> None:
    cases, errors = load_one(
        """
        protocol: h1
        rfc: 9112
        section: "1"
        cases:
          - id: a-{name}
            title: t
            requirement: MUST
            params:
              - {name: x, value: "user@{authority} {{literal}} {notafield}"}
            steps:
              - send: "Host: {value}"
              - expect: {closed: true}
        """
    )
    assert errors == []
    rendered = cases[0].steps[1].payload.render(CTX)  # type: ignore[attr-defined]
    assert rendered == f"Host: user@{CTX.authority} {{{{literal}}}} {{notafield}}".encode()


def test_bundled_cases_load_cleanly() -> None:
    result = load()
    assert result.errors == [], "\n".join(e.render() for e in result.errors)
    assert all(isinstance(c.steps[0], model.Connect) for c in result.cases)
    assert isinstance(payloads.Raw(data=b"").render(CTX), bytes)


def test_capture_names_are_run_time_templates_and_checked() -> None:
    cases, errors = load_one(
        """\
        protocol: h1
        rfc: 9110
        section: "13.1.2"
        cases:
          - id: inm-{name}
            title: t
            requirement: MUST
            params:
              - {name: a, value: "{etag}, {x}"}
            steps:
              - send: "GET / HTTP/1.1\\r\\n\\r\\n"
              - expect: {response: {status: 200}}
              - capture: {etag: ETag, day: {field: Date, as: rfc850-date}}
              - send: "GET / HTTP/1.1\\r\\nIf-None-Match: {value}\\r\\n\\r\\n"
              - expect: {response: {status: 304}}
        """
    )
    assert errors == []
    (case,) = cases
    capture = case.steps[3]  # after the implicit connect
    assert isinstance(capture, model.Capture)
    assert [(f.name, f.header, f.date_form) for f in capture.fields] == [
        ("etag", "ETag", None),
        ("day", "Date", "rfc850-date"),
    ]
    send = case.steps[4]
    assert isinstance(send, model.Send)
    context = TargetContext(
        host="h", port=1, authority="h:1", path="/", scheme="http", captured=(("etag", '"v1"'),)
    )
    assert send.payload.render(context) == b'GET / HTTP/1.1\r\nIf-None-Match: "v1", {x}\r\n\r\n'


@pytest.mark.parametrize(
    ("capture", "message"),
    [
        ("{host: ETag}", "not a template name"),
        ("{etag: 'Bad Name'}", "not a field name"),
        ("{etag: {field: ETag, pattern: 'no group'}}", "exactly one group"),
        ("{etag: {field: Date, as: iso}}", "capture as: one of"),
        ("{etag: {pattern: x}}", "the field to take it from is missing"),
    ],
)
def test_capture_errors(capture: str, message: str) -> None:
    _, errors = load_one(
        f"""\
        protocol: h1
        rfc: 9110
        section: "13"
        cases:
          - id: c
            title: t
            requirement: MUST
            steps:
              - capture: {capture}
        """
    )
    assert len(errors) == 1 and message in errors[0]


def test_params_axes_may_set_several_names_at_once() -> None:
    cases, errors = load_one(
        """
        protocol: ws
        rfc: 7692
        section: "7.2"
        cases:
          - id: "{data}-{size}"
            title: "{count} of {size}"
            requirement: MUST
            aliases: ["autobahn:12.{j}.{n}"]
            params:
              data: [{j: 1, data: json}, {j: 2, data: bitmap}]
              size: [{n: 1, size: 16, count: 100}, {n: 2, size: 64, count: 50}]
            steps:
              - send: {repeat: {message: {binary: {sample: "{data}", size: "{size}", seed: 3}}}, count: "{count}"}
              - expect: {message: {echo: "{count}"}}
        """
    )
    assert errors == []
    assert [(c.slug, c.aliases) for c in cases] == [
        ("json-16", ("autobahn:12.1.1",)),
        ("json-64", ("autobahn:12.1.2",)),
        ("bitmap-16", ("autobahn:12.2.1",)),
        ("bitmap-64", ("autobahn:12.2.2",)),
    ]
    send = cases[3].steps[1]
    assert isinstance(send, model.Send) and isinstance(send.payload, payloads.Repeat)
    assert send.payload.count == 50
    sample = send.payload.payload.payload  # type: ignore[attr-defined]
    assert sample == payloads.Sample(kind="bitmap", size=64, seed=3)


@pytest.mark.parametrize(
    ("params", "payload", "message"),
    [
        ("{a: [{x: 1}], b: [{x: 2}]}", '"{x}"', "x is set by two axes"),
        ("{a: [1]}", "{sample: pictures, size: 4}", "unknown sample kind 'pictures'"),
        ("{a: [1]}", "{sample: json}", "sample needs a size"),
    ],
)
def test_grouped_params_and_sample_errors(params: str, payload: str, message: str) -> None:
    _, errors = load_one(
        f"""
        protocol: h1
        rfc: 9112
        section: "1"
        cases:
          - id: c-{{a}}
            title: t
            requirement: MUST
            params: {params}
            steps:
              - send: {payload}
              - expect: {{silence: 10}}
        """
    )
    assert len(errors) == 1 and message in errors[0], errors


def test_selection_by_prefix_never_cuts_a_number() -> None:
    case = model.Case(
        id="ws/7692/7.1/server-bits-8-16",
        protocol="ws",
        rfc="7692",
        section="7.1",
        slug="server-bits-8-16",
        title="t",
        requirement=Requirement.MUST,
        reference="r",
        aliases=("autobahn:13.3.10",),
    )
    assert case.matches("autobahn:13.3.10") and case.matches("autobahn:13.3") and case.matches("autobahn:13")
    assert not case.matches("autobahn:13.3.1") and not case.matches("autobahn:1")
    assert case.matches("ws/7692/7.1/server-bits") and case.matches("ws/7692/7")
    assert not case.matches("ws/7692/7.1/server-bits-8-1")


@pytest.mark.parametrize(("value", "error"), [("4096", None), ("10", "transcript: from 1024 bytes to 1 MiB")])
def test_a_case_may_keep_a_shorter_transcript(value: str, error: str | None) -> None:
    cases, errors = load_one(
        f"""
        protocol: h1
        rfc: 9112
        section: "1"
        cases:
          - id: c
            title: t
            requirement: MUST
            transcript: {value}
            steps:
              - expect: {{silence: 10}}
        """
    )
    if error is None:
        assert errors == [] and cases[0].transcript == int(value)
    else:
        assert len(errors) == 1 and error in errors[0]


def test_a_list_of_numbers_is_a_parameter_a_lone_template_takes_whole() -> None:
    # Frame-by-frame writes cut at each frame's end: the offsets differ from row to row.
    cases, errors = load_one(
        """
        protocol: ws
        rfc: 6455
        section: "5.4"
        cases:
          - id: "pieces-{name}"
            title: "in pieces {name}"
            requirement: MUST
            params:
              - {name: offsets, split: [15, 33]}
              - {name: size, split: 7}
            steps:
              - send: {hex: "00", split: "{split}", delay_ms: 0}
              - expect: {silence: 10}
        """
    )
    assert errors == []
    splits = [step.split for case in cases for step in case.steps if isinstance(step, model.Send)]
    assert splits == [(15, 33), 7]
    _, errors = load_one(
        """
        protocol: ws
        rfc: 6455
        section: "5.4"
        cases:
          - id: "bad-{name}"
            title: "bad {name}"
            requirement: MUST
            params:
              - {name: words, split: [a, b]}
            steps:
              - send: {hex: "00", split: "{split}"}
              - expect: {silence: 10}
        """
    )
    assert len(errors) == 1 and "a list of numbers" in errors[0]
