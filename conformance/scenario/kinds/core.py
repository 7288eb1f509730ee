"""The kinds every protocol shares, and HTTP/1.1's: payload generators, the ``request``
payload, the ``connect``/``send``/``expect``/``wait``/``shutdown``/``abort``/``capture`` steps,
and the ``response``, ``closed``, ``echo``, ``silence``, ``one_of``, ``allow`` and ``all_of``
expectations. Registered in :mod:`conformance.scenario.registry` when imported.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from conformance.scenario import model, payloads, samples
from conformance.scenario.nodes import Node
from conformance.scenario.registry import (
    CONNECT_MODES,
    EXPECT_KINDS,
    PAYLOAD_KINDS,
    STEP_KINDS,
    BuildContext,
    ConnectMode,
    Kind,
    _alternatives,
    _register,
    _shown,
    build_expectation,
    build_payload,
    check_keys,
    expect_type,
    latin1_text,
    non_negative_int,
    register_connect_mode,
    text,
)
from conformance.verdicts import echo as echopat
from conformance.verdicts import expectations as ex
from conformance.verdicts import http1 as h1pat


def _utf8(node: Node, ctx: BuildContext) -> payloads.Payload:
    return payloads.Text(text=text(node, ctx, "text"), encoding="utf-8")


def _hex(node: Node, ctx: BuildContext) -> payloads.Payload:
    value = text(node, ctx, "hexadecimal digits")
    digits = "".join(value.split())
    try:
        return payloads.Raw(data=bytes.fromhex(digits))
    except ValueError:
        raise ctx.error(f"not hexadecimal bytes: {value!r}", node) from None


def _repeat(node: Node, ctx: BuildContext) -> payloads.Payload:
    if "count" not in node.value:
        raise ctx.error("repeat needs a count", node)
    count = non_negative_int(node.value["count"], ctx, "count")
    if count > 1 << 27:
        raise ctx.error(f"count {count} is over the 128 Mi limit", node.value["count"])
    return payloads.Repeat(payload=build_payload(node.value["repeat"], ctx), count=count)


def _random(node: Node, ctx: BuildContext) -> payloads.Payload:
    size = non_negative_int(node.value["random"], ctx, "a size in bytes")
    seed = non_negative_int(node.value["seed"], ctx, "seed") if "seed" in node.value else 0
    return payloads.RandomBytes(size=size, seed=seed)


def _sample(node: Node, ctx: BuildContext) -> payloads.Payload:
    kind = text(node.value["sample"], ctx, "a sample kind")
    if kind not in samples.KINDS:
        raise ctx.error(
            f"unknown sample kind {kind!r} (known: {', '.join(samples.KINDS)})", node.value["sample"]
        )
    if "size" not in node.value:
        raise ctx.error("sample needs a size (bytes)", node)
    size = non_negative_int(node.value["size"], ctx, "a size in bytes")
    if size > 1 << 27:
        raise ctx.error(f"size {size} is over the 128 MiB limit", node.value["size"])
    seed = non_negative_int(node.value["seed"], ctx, "seed") if "seed" in node.value else 0
    return payloads.Sample(kind=kind, size=size, seed=seed)


def _concat(node: Node, ctx: BuildContext) -> payloads.Payload:
    if not node.is_sequence:
        raise ctx.error("concat takes a list of payloads", node)
    return payloads.Concat(parts=tuple(build_payload(child, ctx) for child in node.value))


def _headers(node: Node, ctx: BuildContext) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    if node.is_mapping:
        for name, value in node.value.items():
            pairs.append((name, text(value, ctx, f"the value of {name}")))
        return tuple(pairs)
    if not node.is_sequence:
        raise ctx.error("headers: a list of [name, value] pairs, or a mapping", node)
    for item in node.value:
        if not item.is_sequence or len(item.value) != 2:
            raise ctx.error("each header is a [name, value] pair", item)
        name, value = item.value
        pairs.append((text(name, ctx, "a header name"), text(value, ctx, "a header value")))
    for name, value in pairs:
        for char in name + value:
            if ord(char) > 0xFF:
                raise ctx.error(f"header text must be one byte per character, found {char!r}", node)
    return tuple(pairs)


def _request(node: Node, ctx: BuildContext) -> payloads.Payload:
    if not node.is_mapping:
        raise ctx.error("request: a mapping of method, target, version, headers, body", node)
    fields = node.value
    check_keys(node, ctx, {"method", "target", "version", "headers", "body", "content_length"}, "request")
    kwargs: dict[str, Any] = {}
    for name in ("method", "target", "version"):
        if name in fields:
            kwargs[name] = latin1_text(fields[name], ctx).text
    if "headers" in fields:
        kwargs["headers"] = _headers(fields["headers"], ctx)
    if "body" in fields:
        kwargs["body"] = build_payload(fields["body"], ctx)
    if "content_length" in fields:
        raw = fields["content_length"]
        if raw.value in ("auto", None, "none"):
            kwargs["content_length"] = "auto" if raw.value == "auto" else None
        else:
            kwargs["content_length"] = non_negative_int(raw, ctx, "content_length (auto, none or a number)")
    return payloads.H1Request(**kwargs)


_PAYLOAD_SCHEMA: dict[str, Any] = {"$ref": "#/$defs/payload"}

for _kind in (
    Kind("text", "text, one byte per character", {"type": "string"}, lambda n, c: latin1_text(n, c)),
    Kind("utf8", "text encoded as UTF-8", {"type": "string"}, _utf8),
    Kind("hex", "hexadecimal bytes", {"type": "string"}, _hex),
    Kind(
        "repeat",
        "a payload repeated `count` times",
        {"$ref": "#/$defs/payload"},
        _repeat,
        options=("count",),
    ),
    Kind(
        "random",
        "`random` deterministic pseudo-random bytes from `seed`",
        {"type": "integer", "minimum": 0},
        _random,
        options=("seed",),
    ),
    Kind(
        "sample",
        "`size` bytes of generated data of one character (" + ", ".join(samples.KINDS) + ") from `seed`",
        {"enum": list(samples.KINDS)},
        _sample,
        options=("size", "seed"),
    ),
    Kind("concat", "payloads one after another", {"type": "array", "items": _PAYLOAD_SCHEMA}, _concat),
    Kind("request", "a structured HTTP/1.1 request", {"type": "object"}, _request, protocols=("h1", "ws")),
):
    _register(PAYLOAD_KINDS, _kind)


for _mode in (
    ConnectMode("target", "the transport the target URL names (TCP, or TLS for https/wss)"),
    ConnectMode("tcp", "plain TCP whatever the target URL says"),
    ConnectMode("tls", "TLS whatever the target URL says"),
):
    register_connect_mode(_mode)


def _connect_mode(node: Node, ctx: BuildContext, name: str) -> ConnectMode:
    allowed = [mode for mode in CONNECT_MODES.values() if ctx.protocol in mode.protocols]
    mode = CONNECT_MODES.get(name)
    if mode is None or mode not in allowed:
        raise ctx.error(f"connect: one of {', '.join(m.name for m in allowed)}, not {name!r}", node)
    return mode


def _connect(node: Node, ctx: BuildContext) -> model.Step:
    if isinstance(node.value, str):
        mode = _connect_mode(node, ctx, node.value)
        options = mode.options(Node({}, node.location), ctx) if mode.options else None
        return model.Connect(mode=mode.name, options=options, location=node.location)
    if not node.is_mapping:
        raise ctx.error("connect: a mode name, or a mapping with mode (and its options)", node)
    name = text(node.value.get("mode", Node("target", node.location)), ctx, "mode")
    mode = _connect_mode(node.value.get("mode", node), ctx, name)
    check_keys(node, ctx, {"mode", "alpn", *mode.option_schema}, f"connect ({mode.name})")
    alpn: tuple[str, ...] = ()
    if "alpn" in node.value:
        alpn_node = node.value["alpn"]
        if not alpn_node.is_sequence:
            raise ctx.error("alpn: a list of protocol names", alpn_node)
        alpn = tuple(text(item, ctx, "a protocol name") for item in alpn_node.value)
    rest = Node({k: v for k, v in node.value.items() if k not in ("mode", "alpn")}, node.location)
    options = mode.options(rest, ctx) if mode.options else None
    return model.Connect(mode=mode.name, alpn=alpn, options=options, location=node.location)


def _send(node: Node, ctx: BuildContext) -> model.Step:
    split: int | tuple[int, ...] | None = None
    delay = 20
    if node.is_mapping and ("split" in node.value or "delay_ms" in node.value):
        options = dict(node.value)
        split_node = options.pop("split", None)
        delay_node = options.pop("delay_ms", None)
        if split_node is not None:
            if split_node.is_sequence:
                split = tuple(non_negative_int(item, ctx, "a byte offset") for item in split_node.value)
            else:
                split = non_negative_int(split_node, ctx, "split (a piece size or a list of offsets)")
                if split == 0:
                    raise ctx.error("split: the piece size must be at least 1", split_node)
        if delay_node is not None:
            delay = non_negative_int(delay_node, ctx, "delay_ms")
        node = Node(options, node.location)
    return model.Send(payload=build_payload(node, ctx), split=split, delay_ms=delay, location=node.location)


def _expect(node: Node, ctx: BuildContext) -> model.Step:
    return model.Expect(expectation=build_expectation(node, ctx), location=node.location)


def _wait(node: Node, ctx: BuildContext) -> model.Step:
    return model.Wait(ms=non_negative_int(node, ctx, "milliseconds"), location=node.location)


_CAPTURE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FIELD_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def _capture(node: Node, ctx: BuildContext) -> model.Step:
    from conformance.scenario.templates import TARGET_FIELDS

    if not node.is_mapping or not node.value:
        raise ctx.error("capture: a mapping of template name to a field name or {field, pattern, as}", node)
    fields = []
    for name, child in node.value.items():
        if not isinstance(name, str) or not _CAPTURE_NAME.fullmatch(name) or name in TARGET_FIELDS:
            raise ctx.error(
                f"capture: {name!r} is not a template name (letters, digits, _; not a target field)", child
            )
        pattern = form = None
        if child.is_mapping:
            check_keys(child, ctx, {"field", "pattern", "as"}, f"capture {name}")
            if "field" not in child.value:
                raise ctx.error(f"capture {name}: the field to take it from is missing", child)
            header = text(child.value["field"], ctx, "field")
            if "pattern" in child.value:
                pattern = text(child.value["pattern"], ctx, "pattern")
                try:
                    groups = re.compile(pattern).groups
                except re.error as exc:
                    raise ctx.error(f"bad regular expression: {exc}", child.value["pattern"]) from None
                if groups != 1:
                    raise ctx.error("capture pattern: a regular expression with exactly one group", child)
            if "as" in child.value:
                form = text(child.value["as"], ctx, "as")
                if form not in model.DATE_FORMS:
                    raise ctx.error(f"capture as: one of {', '.join(model.DATE_FORMS)}, not {form!r}", child)
        else:
            header = text(child, ctx, f"the field {name} captures")
        if not _FIELD_NAME.fullmatch(header):
            raise ctx.error(f"capture: {header!r} is not a field name", child)
        fields.append(model.Captured(name=name, header=header, pattern=pattern, date_form=form))
    return model.Capture(fields=tuple(fields), location=node.location)


def _flag_step(cls: type[model.Step], name: str) -> Callable[[Node, BuildContext], model.Step]:
    def build(node: Node, ctx: BuildContext) -> model.Step:
        if node.value is not True:
            raise ctx.error(f"{name}: true", node)
        return cls(location=node.location)

    return build


for _kind in (
    Kind(
        "connect",
        "open the connection: a mode name (target | tcp | tls | a protocol mode), or {mode, alpn, options}",
        {"$ref": "#/$defs/connect"},
        _connect,
    ),
    Kind(
        "send",
        "write a payload (optionally `split` into pieces `delay_ms` apart)",
        {"$ref": "#/$defs/send"},
        _send,
    ),
    Kind("expect", "wait for an expectation to be decided", {"$ref": "#/$defs/expectation"}, _expect),
    Kind("wait", "pause for milliseconds", {"type": "integer", "minimum": 0}, _wait),
    Kind(
        "shutdown",
        "half-close the connection (send FIN)",
        {"const": True},
        _flag_step(model.Shutdown, "shutdown"),
    ),
    Kind("abort", "reset the connection (RST)", {"const": True}, _flag_step(model.Abort, "abort")),
    Kind(
        "capture",
        "remember fields of the last response matched, as {name} templates for later steps",
        {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
            "additionalProperties": {
                "oneOf": [
                    {"type": "string"},
                    {
                        "type": "object",
                        "properties": {
                            "field": {"type": "string"},
                            "pattern": {"type": "string"},
                            "as": {"enum": list(model.DATE_FORMS)},
                        },
                        "required": ["field"],
                        "additionalProperties": False,
                    },
                ]
            },
        },
        _capture,
    ),
):
    _register(STEP_KINDS, _kind)


def _allow(node: Node, ctx: BuildContext) -> ex.Expectation:
    """``allow: NAME`` (or a list of names): the named sets of behaviours the RFCs allow a
    server at such a point (scenario/allowances/<protocol>.yaml), built in this case's context."""
    from conformance.scenario.allowances import allowances

    known = allowances(ctx.protocol)
    names = node.value if node.is_sequence else [node]
    if not names:
        raise ctx.error("allow: a name or a non-empty list of names", node)
    built: list[ex.Expectation] = []
    for item in names:
        name = text(item, ctx, "allow: the name of an allowance")
        found = known.get(name)
        if found is None:
            choices = ", ".join(sorted(known)) or "none"
            raise ctx.error(f"allow: no allowance {name!r} for {ctx.protocol} cases (known: {choices})", item)
        built.append(ex.Allowed(name=name, summary=found.summary, inner=build_expectation(found.expect, ctx)))
    return built[0] if len(built) == 1 else ex.OneOf(alternatives=tuple(built))


def _closed(node: Node, ctx: BuildContext) -> ex.Expectation:
    if node.value is True:
        return ex.Closed()
    if node.is_mapping:
        check_keys(node, ctx, {"reset"}, "closed")
        reset = node.value.get("reset")
        if reset is None:
            return ex.Closed()
        if expect_type(reset, ctx, bool, "reset: true or false"):
            return ex.Closed(require_reset=True)
        return ex.Closed(allow_reset=False)
    raise ctx.error("closed: true, {reset: false} (only a FIN) or {reset: true} (only a RST)", node)


def _silence(node: Node, ctx: BuildContext) -> ex.Expectation:
    return ex.Silence(ms=non_negative_int(node, ctx, "milliseconds"))


def _status(node: Node, ctx: BuildContext) -> h1pat.StatusSpec:
    items = node.value if node.is_sequence else [node]
    codes: set[int] = set()
    classes: set[int] = set()
    for item in items:
        value = item.value
        if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 999:
            codes.add(value)
        elif isinstance(value, str) and len(value) == 3 and value[0] in "12345" and value[1:].lower() == "xx":
            classes.add(int(value[0]))
        elif isinstance(value, str) and value.isdigit() and len(value) == 3:
            codes.add(int(value))
        else:
            raise ctx.error(f"status: a code from 100 to 999 or a class like 4xx, not {_shown(item)}", item)
    return h1pat.StatusSpec(codes=frozenset(codes), classes=frozenset(classes))


def _header_spec(name: str, node: Node, ctx: BuildContext) -> h1pat.HeaderSpec:
    value = node.value
    if value is True or value is False:
        return h1pat.HeaderSpec(name=name, present=value)
    if node.is_mapping:
        check_keys(node, ctx, {"equals", "contains", "matches"}, f"the {name} condition")
        if len(node.value) != 1:
            raise ctx.error("a header condition has one of equals, contains, matches", node)
        ((key, child),) = node.value.items()
        pattern = text(child, ctx, key)
        if key == "matches":
            import re

            try:
                re.compile(pattern)
            except re.error as exc:
                raise ctx.error(f"bad regular expression: {exc}", child) from None
        return h1pat.HeaderSpec(name=name, **{key: pattern})
    return h1pat.HeaderSpec(name=name, equals=text(node, ctx, f"the value of {name}"))


def _body_spec(node: Node, ctx: BuildContext) -> h1pat.BodySpec:
    if node.is_mapping and set(node.value) <= {"contains", "length", "excludes"} and node.value:
        if "length" in node.value:
            return h1pat.BodySpec(length=non_negative_int(node.value["length"], ctx, "length"))
        if "excludes" in node.value:
            return h1pat.BodySpec(excludes=_static_bytes(node.value["excludes"], ctx))
        return h1pat.BodySpec(contains=_static_bytes(node.value["contains"], ctx))
    return h1pat.BodySpec(equals=_static_bytes(node, ctx))


def _static_bytes(node: Node, ctx: BuildContext) -> bytes:
    from conformance.scenario.templates import names_in

    if isinstance(node.value, str) and names_in(node.value):
        raise ctx.error("templates are not filled in expected bodies", node)
    payload = build_payload(node, ctx)
    from conformance.scenario.templates import TargetContext

    return payload.render(TargetContext(host="", port=0, authority="", path="", scheme=""))


def _response(node: Node, ctx: BuildContext) -> ex.Expectation:
    if node.value is None:
        return h1pat.ResponsePattern()
    if not node.is_mapping:
        raise ctx.error("response: a mapping (status, version, reason, headers, body, violations)", node)
    check_keys(node, ctx, {"status", "version", "reason", "headers", "body", "violations"}, "response")
    fields = node.value
    kwargs: dict[str, Any] = {}
    if "status" in fields:
        kwargs["status"] = _status(fields["status"], ctx)
    if "version" in fields:
        kwargs["version"] = text(fields["version"], ctx, "version")
    if "reason" in fields:
        kwargs["reason"] = "" if fields["reason"].value is None else text(fields["reason"], ctx, "reason")
    if "headers" in fields:
        headers = fields["headers"]
        if not headers.is_mapping:
            raise ctx.error("headers: a mapping of field name to condition", headers)
        kwargs["headers"] = tuple(_header_spec(name, child, ctx) for name, child in headers.value.items())
    if "body" in fields:
        kwargs["body"] = _body_spec(fields["body"], ctx)
    if "violations" in fields:
        violations = fields["violations"]
        if violations.value == "none":
            kwargs["forbid_violations"] = True
        elif violations.is_sequence:
            kwargs["require_violations"] = tuple(
                text(item, ctx, "a violation code") for item in violations.value
            )
        else:
            raise ctx.error(
                "violations: none, or a list of violation codes the response must show", violations
            )
    return h1pat.ResponsePattern(**kwargs)


_ECHO_FIELDS = ("method", "target", "version", "authority")


def _echo_condition(node: Node, ctx: BuildContext, what: str) -> echopat.Condition:
    """``true``/``false`` (present/absent), text (the combined value), ``{contains: token}``,
    ``{matches: regex}``, ``{not: condition}``, or a list of conditions (any of them)."""
    value = node.value
    if value is True or value is False:
        return echopat.Present(present=value)
    if node.is_sequence:
        if not value:
            raise ctx.error(f"{what}: an empty list of conditions", node)
        return echopat.AnyOf(options=tuple(_echo_condition(item, ctx, what) for item in value))
    if node.is_mapping:
        check_keys(node, ctx, {"equals", "contains", "matches", "not"}, f"the {what} condition")
        if len(value) != 1:
            raise ctx.error("a condition has one of equals, contains, matches, not", node)
        ((key, child),) = value.items()
        if key == "not":
            return echopat.Not(inner=_echo_condition(child, ctx, what))
        pattern = _expected_text(child, ctx)
        if key == "matches":
            import re

            try:
                re.compile(pattern)
            except re.error as exc:
                raise ctx.error(f"bad regular expression: {exc}", child) from None
            return echopat.Matches(pattern=pattern)
        return echopat.Contains(token=pattern) if key == "contains" else echopat.Equals(text=pattern)
    return echopat.Equals(text=_expected_text(node, ctx))


def _expected_text(node: Node, ctx: BuildContext) -> str:
    from conformance.scenario.templates import names_in

    value = latin1_text(node, ctx).text
    if names_in(value):
        raise ctx.error("templates are not filled in expected values", node)
    return value.replace("{{", "{").replace("}}", "}")


def _echo(node: Node, ctx: BuildContext) -> ex.Expectation:
    if node.value is None:
        return echopat.EchoPattern()
    if not node.is_mapping:
        raise ctx.error("echo: a mapping (method, target, version, authority, headers, body)", node)
    check_keys(node, ctx, {*_ECHO_FIELDS, "headers", "body"}, "echo")
    fields = tuple(
        (name, _echo_condition(node.value[name], ctx, name)) for name in _ECHO_FIELDS if name in node.value
    )
    headers: tuple[tuple[str, echopat.Condition], ...] = ()
    if "headers" in node.value:
        headers_node = node.value["headers"]
        if not headers_node.is_mapping:
            raise ctx.error("headers: a mapping of field name to condition", headers_node)
        headers = tuple(
            (name, _echo_condition(child, ctx, name)) for name, child in headers_node.value.items()
        )
    body = _body_spec(node.value["body"], ctx) if "body" in node.value else None
    return echopat.EchoPattern(fields=fields, headers=headers, body=body)


_ECHO_CONDITION: dict[str, Any] = {"$ref": "#/$defs/echo_condition"}

for _kind in (
    Kind(
        "response",
        "an HTTP/1.1 response matching a pattern",
        {"$ref": "#/$defs/response"},
        _response,
        protocols=("h1", "ws"),
    ),
    Kind(
        "closed",
        "the target closes the connection",
        {
            "oneOf": [
                {"const": True},
                {
                    "type": "object",
                    "properties": {"reset": {"type": "boolean"}},
                    "additionalProperties": False,
                },
            ]
        },
        _closed,
    ),
    Kind(
        "echo",
        "a 2xx echo document (the target's echo endpoint) showing how the request was parsed",
        {
            "type": ["object", "null"],
            "properties": {
                **{name: _ECHO_CONDITION for name in _ECHO_FIELDS},
                "headers": {"type": "object", "additionalProperties": _ECHO_CONDITION},
                "body": {},
            },
            "additionalProperties": False,
        },
        _echo,
        protocols=("h1",),
        requires="echo",
    ),
    Kind("silence", "nothing arrives for milliseconds", {"type": "integer", "minimum": 0}, _silence),
    Kind(
        "one_of",
        "one of several outcomes, best first",
        {"type": "array", "items": {"$ref": "#/$defs/expectation"}, "minItems": 1},
        lambda n, c: ex.OneOf(alternatives=_alternatives(n, c, "one_of")),
    ),
    Kind(
        "http2_preface",
        "the target answered in HTTP/2 (a SETTINGS frame where a response had to start): it "
        "serves HTTP/2 by prior knowledge on this port",
        {"const": True},
        lambda n, c: h1pat.Http2PrefacePattern(),
        protocols=("h1",),
    ),
    Kind(
        "allow",
        "a named set of behaviours the RFCs always allow here (scenario/allowances/), e.g. "
        "answered-from-head-then-closed",
        {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]},
        _allow,
    ),
    Kind(
        "all_of",
        "several outcomes in any order",
        {"type": "array", "items": {"$ref": "#/$defs/expectation"}, "minItems": 1},
        lambda n, c: ex.AllOf(items=_alternatives(n, c, "all_of")),
    ),
):
    _register(EXPECT_KINDS, _kind)


# Protocol kinds beyond HTTP/1.1 register themselves when their modules are imported.


# The kinds both roles use: what a case writes, waits for and how a connection ends read the
# same whichever side the harness plays (client mode: conformance.scenario.kinds.client).
for _table, _names in (
    (PAYLOAD_KINDS, ("text", "utf8", "hex", "repeat", "random", "sample", "concat")),
    (STEP_KINDS, ("send", "expect", "wait", "shutdown", "abort")),
    (EXPECT_KINDS, ("closed", "silence", "one_of", "all_of")),
):
    for _name in _names:
        _table[_name] = dataclasses.replace(_table[_name], roles=model.ROLES)
