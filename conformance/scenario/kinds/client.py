"""Client-role kinds (``role: client`` case files, ``conformance client``): the ``accept``
step, and the ``request`` and ``exit`` expectations.

In a client case the harness is the server: ``accept`` waits for the client under test to
connect, ``expect: {request: ...}`` judges what it sent, ``send`` writes raw response bytes
(the shared payload kinds), and ``expect: {exit: ...}`` judges how the client's process ended
under the client contract (exit status 0: it accepted the response, its body on standard
output; non-zero: it rejected it). Registered in :mod:`conformance.scenario.registry` when
imported.
"""

from __future__ import annotations

from typing import Any

from conformance.codecs.ws.answer import DeflateAnswer, WsAnswer
from conformance.codecs.ws.deflate import EXTENSION, parse_extensions
from conformance.scenario import model
from conformance.scenario.kinds.core import _body_spec, _header_spec
from conformance.scenario.nodes import Node
from conformance.scenario.registry import (
    EXPECT_KINDS,
    STEP_KINDS,
    BuildContext,
    Kind,
    _register,
    check_keys,
    latin1_text,
    text,
)
from conformance.verdicts import client as clientpat
from conformance.verdicts import expectations as ex

CLIENT = ("client",)
H1 = ("h1",)


def default_answer(protocol: str) -> WsAnswer | None:
    """The answer of an implicit ``accept``: a valid 101 for WebSocket, none otherwise."""
    if protocol != "ws":
        return None
    return WsAnswer()


def _answer(node: Node | None, ctx: BuildContext) -> WsAnswer | None:
    """WebSocket: how the client's handshake is answered (``answer:`` of ``accept``)."""
    if ctx.protocol != "ws":
        if node is not None:
            raise ctx.error("answer: for WebSocket (protocol: ws) cases only", node)
        return None
    if node is None or node.value is True:
        return WsAnswer()
    if not node.is_mapping:
        raise ctx.error("answer: a mapping (status, reason, accept, upgrade, connection, ...)", node)
    keys = {
        "status",
        "reason",
        "accept",
        "upgrade",
        "connection",
        "subprotocol",
        "extensions",
        "headers",
        "deflate",
    }
    check_keys(node, ctx, keys, "answer")
    fields = node.value
    kwargs: dict[str, Any] = {}
    if "status" in fields:
        status = str(fields["status"].value)
        if not (status.isdigit() and len(status) == 3):
            raise ctx.error("status: a three-digit status code", fields["status"])
        kwargs["status"] = int(status)
    for name in ("reason", "accept"):
        if name in fields:
            kwargs[name] = latin1_text(fields[name], ctx).text
    # An empty value (or null) leaves the field out: case parameters are text.
    for name in ("upgrade", "connection", "subprotocol", "extensions"):
        if name in fields:
            value = fields[name]
            kwargs[name] = None if value.value is None else (latin1_text(value, ctx).text or None)
    if "headers" in fields:
        from conformance.scenario.kinds.core import _headers

        kwargs["headers"] = _headers(fields["headers"], ctx)
    if "deflate" in fields:
        kwargs["deflate"] = _deflate_answer(fields["deflate"], ctx)
    return WsAnswer(**kwargs)


_CLIENT_PARAMETERS = ("client_no_context_takeover", "client_max_window_bits")


def _deflate_choices(node: Node, ctx: BuildContext) -> tuple[tuple[tuple[str, int | None], ...], ...]:
    elements, problems = parse_extensions(node.value)
    wrong = problems or [f"{e.name}: not {EXTENSION}" for e in elements if e.name != EXTENSION]
    choices = []
    for element in elements:
        choice: list[tuple[str, int | None]] = []
        for name, value in element.params:
            if name == "client_no_context_takeover" and value is None:
                choice.append((name, None))
            elif (
                name == "client_max_window_bits"
                and value is not None
                and value.isdigit()
                and 8 <= int(value) <= 15
            ):
                choice.append((name, int(value)))
            else:
                wrong.append(f"{name}={value}" if value is not None else name)
        choices.append(tuple(choice))
    if wrong or not choices:
        raise ctx.error(
            "deflate: permessage-deflate elements with client_no_context_takeover or "
            f"client_max_window_bits=8..15 only ({'; '.join(wrong) or 'none given'})",
            node,
        )
    return tuple(choices)


def _deflate_answer(node: Node, ctx: BuildContext) -> DeflateAnswer:
    """``deflate: true`` (accept the client's offer as it is), a mapping of the parameters the
    server adds for the client, a list of such mappings (the first that fits one of the
    client's offers), the same as a Sec-WebSocket-Extensions value (``"permessage-deflate;
    client_max_window_bits=9, permessage-deflate"``: one element a choice; a text, so that case
    parameters can carry it), or ``{response: "permessage-deflate; ..."}`` (wrong on purpose)."""
    if node.value in (True, "true"):
        return DeflateAnswer()
    if isinstance(node.value, str):
        return DeflateAnswer(choices=_deflate_choices(node, ctx))
    if node.is_mapping and "response" in node.value:
        check_keys(node, ctx, {"response"}, "deflate")
        return DeflateAnswer(response=latin1_text(node.value["response"], ctx).text)
    items = node.value if node.is_sequence else [node]
    choices = []
    for item in items:
        if not item.is_mapping:
            raise ctx.error(
                "deflate: true, {client_no_context_takeover: true, client_max_window_bits: 8-15}, "
                "a list of those, or {response: ...}",
                item,
            )
        check_keys(item, ctx, set(_CLIENT_PARAMETERS), "deflate")
        choice: list[tuple[str, int | None]] = []
        for name in _CLIENT_PARAMETERS:
            if name not in item.value:
                continue
            value = item.value[name]
            if name == "client_no_context_takeover":
                if value.value is not True:
                    raise ctx.error("client_no_context_takeover: true", value)
                choice.append((name, None))
            else:
                bits = str(value.value)
                if not (bits.isdigit() and 8 <= int(bits) <= 15):
                    raise ctx.error("client_max_window_bits: a window of 8 to 15 bits", value)
                choice.append((name, int(bits)))
        choices.append(tuple(choice))
    if not choices:
        raise ctx.error("deflate: an empty list", node)
    return DeflateAnswer(choices=tuple(choices))


def _accept(node: Node, ctx: BuildContext) -> model.Step:
    if node.value is True:
        return model.Accept(location=node.location, answer=_answer(None, ctx))
    if not node.is_mapping:
        raise ctx.error("accept: true, or {path: /the/path?of=the-url}", node)
    opening = {"settings", "preface", "ack_settings", "wait_settings"} if ctx.protocol == "h2" else set()
    check_keys(node, ctx, {"path", "answer", *opening}, "accept")
    options = None
    if opening & set(node.value):
        # HTTP/2: our SETTINGS (the server preface) and whether we acknowledge the client's,
        # as a connect step's options (RFC 9113 §3.4).
        from conformance.scenario.kinds.h2 import _connect_options

        rest = Node({k: v for k, v in node.value.items() if k not in ("path", "answer")}, node.location)
        options = _connect_options(rest, ctx)
    answer = _answer(node.value.get("answer"), ctx)
    path = "/"
    if "path" in node.value:
        path = latin1_text(node.value["path"], ctx).text
        # "?q=1" is a URL with a query and an empty path (RFC 3986 §3.3: path-abempty).
        if path and not path.startswith(("/", "?")):
            raise ctx.error(f"accept path {path!r}: empty, or starting with '/' or '?'", node.value["path"])
        if any(ord(c) <= 0x20 or ord(c) >= 0x7F for c in path):
            raise ctx.error("accept path: visible ASCII only (percent-encode the rest)", node.value["path"])
    return model.Accept(path=path, options=options, answer=answer, location=node.location)


def _request(node: Node, ctx: BuildContext) -> ex.Expectation:
    if node.value is None:
        return clientpat.RequestPattern()
    if not node.is_mapping:
        raise ctx.error("request: a mapping (method, target, version, headers, body, violations)", node)
    check_keys(node, ctx, {"method", "target", "version", "headers", "body", "violations"}, "request")
    fields = node.value
    kwargs: dict[str, Any] = {}
    for name in ("method", "target", "version"):
        if name in fields:
            kwargs[name] = text(fields[name], ctx, name)
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
                "violations: none, or a list of violation codes the request must show", violations
            )
    return clientpat.RequestPattern(**kwargs)


def _exit(node: Node, ctx: BuildContext) -> ex.Expectation:
    """``exit: accepted`` | ``exit: rejected`` | ``exit: {accepted: {body: ...}}``."""
    if node.value in ("accepted", "rejected"):
        return clientpat.ExitPattern(accepted=node.value == "accepted")
    if node.is_mapping and set(node.value) == {"accepted"}:
        inner = node.value["accepted"]
        if inner.value is True:
            return clientpat.ExitPattern(accepted=True)
        if not inner.is_mapping:
            raise ctx.error("accepted: true, or {body: ...}", inner)
        check_keys(inner, ctx, {"body"}, "accepted")
        body = _body_spec(inner.value["body"], ctx) if "body" in inner.value else None
        return clientpat.ExitPattern(accepted=True, body=body)
    raise ctx.error("exit: accepted, rejected, or {accepted: {body: ...}}", node)


_register(
    STEP_KINDS,
    Kind(
        "accept",
        "client role: wait for the client under test to connect (`path`: the path of its {url}; "
        "HTTP/2: `settings` of our preface, `ack_settings`, `preface`, `wait_settings`; "
        "WebSocket: judge its opening handshake (RFC 6455 §4.1) and answer it (`answer`: a 101, "
        "or one wrong on purpose: status, accept, upgrade, connection, subprotocol, extensions; "
        "`deflate`: accept the client's permessage-deflate offer, with client_no_context_takeover "
        "or client_max_window_bits, or answer it with a literal `response`; a client that offers "
        "none makes the case UNIMPLEMENTED))",
        {
            "oneOf": [
                {"const": True},
                {
                    "type": "object",
                    "properties": {
                        "path": {"type": "string"},
                        "answer": {"type": ["object", "boolean"]},
                        "settings": {"oneOf": [{"type": "object"}, {"type": "array"}]},
                        "preface": {"type": "boolean"},
                        "ack_settings": {"type": "boolean"},
                        "wait_settings": {"type": "boolean"},
                    },
                    "additionalProperties": False,
                },
            ]
        },
        _accept,
        roles=CLIENT,
    ),
)
for _kind in (
    Kind(
        "request",
        "client role: the client's next HTTP/1.1 request matches (method, target, version, headers, "
        "body, violations)",
        {
            "type": ["object", "null"],
            "properties": {
                "method": {"type": "string"},
                "target": {"type": "string"},
                "version": {"type": "string"},
                "headers": {"type": "object"},
                "body": {},
                "violations": {"oneOf": [{"const": "none"}, {"type": "array", "items": {"type": "string"}}]},
            },
            "additionalProperties": False,
        },
        _request,
        protocols=H1,
        roles=CLIENT,
    ),
    Kind(
        "exit",
        "client role: how the client's process ends: accepted (status 0, optionally with the body "
        "on stdout) or rejected (non-zero)",
        {
            "oneOf": [
                {"enum": ["accepted", "rejected"]},
                {
                    "type": "object",
                    "properties": {
                        "accepted": {
                            "oneOf": [
                                {"const": True},
                                {"type": "object", "properties": {"body": {}}, "additionalProperties": False},
                            ]
                        }
                    },
                    "required": ["accepted"],
                    "additionalProperties": False,
                },
            ]
        },
        _exit,
        roles=CLIENT,
    ),
):
    _register(EXPECT_KINDS, _kind)
