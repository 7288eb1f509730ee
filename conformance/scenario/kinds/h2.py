"""HTTP/2 kinds: the ``h2`` and ``h2c-upgrade`` connect modes, ``frame`` and ``headers``
payloads, and the frame, error-verifier and response expectations.

Names in YAML are the RFC's: frame types (``SETTINGS``), flags (``END_STREAM``), error codes
(``PROTOCOL_ERROR``) and settings (``INITIAL_WINDOW_SIZE``, with or without ``SETTINGS_``);
a number is accepted wherever a name is, for values no name covers.
"""

from __future__ import annotations

import enum
from dataclasses import replace
from typing import Any

from conformance.codecs import h2frames as fr
from conformance.scenario import h2payloads as hp
from conformance.scenario.kinds.core import _body_spec, _header_spec, _response, _status
from conformance.scenario.nodes import Node
from conformance.scenario.payloads import Raw
from conformance.scenario.registry import (
    CONNECT_MODES,
    EXPECT_KINDS,
    PAYLOAD_KINDS,
    BuildContext,
    ConnectMode,
    Kind,
    _register,
    build_payload,
    check_keys,
    expect_type,
    non_negative_int,
    register_connect_mode,
    text,
)
from conformance.scenario.templates import TargetContext
from conformance.verdicts import h2 as h2pat

H2 = ("h2",)
#: Fixed bytes (padding, expected data) are rendered without a target.
_EMPTY = TargetContext(host="", port=0, authority="", path="", scheme="")

# ---------------------------------------------------------------- names and numbers


def _named(node: Node, ctx: BuildContext, names: type[enum.IntEnum], what: str, *, bits: int = 32) -> int:
    value = node.value
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value < 1 << bits:
            raise ctx.error(f"{what}: {value} does not fit {bits} bits", node)
        return value
    if isinstance(value, str):
        key = value.strip().upper()
        if names is fr.Setting and key.startswith("SETTINGS_"):
            key = key[len("SETTINGS_") :]
        if key in names.__members__:
            return int(names.__members__[key])
        if key.startswith("0X"):
            try:
                return _named(Node(int(key, 16), node.location), ctx, names, what, bits=bits)
            except ValueError:
                pass
    raise ctx.error(f"{what}: one of {', '.join(names.__members__)} or a number, not {value!r}", node)


def _int(node: Node, ctx: BuildContext, what: str, *, bits: int = 31) -> int:
    value = non_negative_int(node, ctx, what)
    if value >= 1 << bits:
        raise ctx.error(f"{what}: {value} does not fit {bits} bits", node)
    return value


def _flags(node: Node, ctx: BuildContext) -> int:
    if isinstance(node.value, int) and not isinstance(node.value, bool):
        return _int(node, ctx, "flags", bits=8)
    if not node.is_sequence:
        raise ctx.error(
            "flags: a list of flag names (END_STREAM, END_HEADERS, PADDED, PRIORITY, ACK) or a number", node
        )
    flags = 0
    for item in node.value:
        if isinstance(item.value, int) and not isinstance(item.value, bool):
            flags |= _int(item, ctx, "a flag bit", bits=8)
            continue
        name = text(item, ctx, "a flag name").upper()
        if name not in fr.FLAG_NAMES:
            raise ctx.error(f"flag {name!r}: one of {', '.join(fr.FLAG_NAMES)} or a number", item)
        flags |= fr.FLAG_NAMES[name]
    return flags


def _errors(node: Node, ctx: BuildContext) -> frozenset[int]:
    items = node.value if node.is_sequence else [node]
    if not items:
        raise ctx.error("a list of error codes must not be empty", node)
    return frozenset(_named(item, ctx, fr.ErrorCode, "error") for item in items)


def _settings(node: Node, ctx: BuildContext) -> tuple[tuple[int, int], ...]:
    pairs: list[tuple[int, int]] = []
    if node.is_mapping:
        for name, value in node.value.items():
            key = _named(Node(name, value.location), ctx, fr.Setting, "setting", bits=16)
            pairs.append((key, _int(value, ctx, f"the value of {name}", bits=32)))
        return tuple(pairs)
    if not node.is_sequence:
        raise ctx.error("settings: a mapping of setting to value, or a list of [setting, value] pairs", node)
    for item in node.value:
        if not item.is_sequence or len(item.value) != 2:
            raise ctx.error("each setting is a [setting, value] pair", item)
        key_node, value_node = item.value
        pairs.append(
            (
                _named(key_node, ctx, fr.Setting, "setting", bits=16),
                _int(value_node, ctx, "a setting value", bits=32),
            )
        )
    return tuple(pairs)


def _priority(node: Node, ctx: BuildContext) -> fr.Priority:
    if not node.is_mapping:
        raise ctx.error("priority: a mapping of depends_on, weight (1-256), exclusive", node)
    check_keys(node, ctx, {"depends_on", "weight", "exclusive"}, "priority")
    fields = node.value
    weight = _int(fields["weight"], ctx, "weight") if "weight" in fields else 16
    if not 1 <= weight <= 256:
        raise ctx.error("weight: 1 to 256", fields["weight"])
    return fr.Priority(
        depends_on=_int(fields["depends_on"], ctx, "depends_on") if "depends_on" in fields else 0,
        weight=weight,
        exclusive=expect_type(fields["exclusive"], ctx, bool, "exclusive: true or false")
        if "exclusive" in fields
        else False,
    )


# ---------------------------------------------------------------- header blocks


def _field_list(node: Node, ctx: BuildContext) -> tuple[tuple[str, str], ...]:
    if not node.is_sequence:
        raise ctx.error("fields: a list of [name, value] pairs", node)
    pairs = []
    for item in node.value:
        if not item.is_sequence or len(item.value) != 2:
            raise ctx.error("each field is a [name, value] pair", item)
        name, value = item.value
        pair = (text(name, ctx, "a field name"), text(value, ctx, "a field value"))
        if any(ord(c) > 0xFF for c in pair[0] + pair[1]):
            raise ctx.error("field text must be one byte per character (\\xNN escapes for bytes)", item)
        pairs.append(pair)
    return tuple(pairs)


_REPRESENTATION_KEYS = {
    "indexed",
    "name",
    "name_index",
    "value",
    "indexing",
    "huffman",
    "huffman_variant",
    "value_length",
    "extra_continuations",
    "size_update",
    "raw",
}
_INDEXING = ("incremental", "without", "never")
_VARIANTS = ("zero-padding", "long-padding", "eos")


def _representation(node: Node, ctx: BuildContext) -> hp.RepresentationSpec:
    if not node.is_mapping:
        raise ctx.error(
            "an HPACK representation: {indexed: N}, {name: .., value: ..}, {name_index: N, value: ..},"
            " {size_update: N} or {raw: !hex ..}",
            node,
        )
    check_keys(node, ctx, _REPRESENTATION_KEYS, "an HPACK representation")
    f = node.value
    extra = (
        _int(f["extra_continuations"], ctx, "extra_continuations", bits=16)
        if "extra_continuations" in f
        else 0
    )
    if "indexed" in f:
        return hp.RepresentationSpec(
            kind="indexed", index=_int(f["indexed"], ctx, "indexed", bits=62), extra_continuations=extra
        )
    if "size_update" in f:
        return hp.RepresentationSpec(
            kind="size_update", index=_int(f["size_update"], ctx, "size_update", bits=62)
        )
    if "raw" in f:
        raw = build_payload(f["raw"], ctx).render(_EMPTY)
        return hp.RepresentationSpec(kind="raw", raw=raw)
    if "value" not in f or ("name" in f) == ("name_index" in f):
        raise ctx.error("a literal has a value and either a name or a name_index", node)
    indexing = text(f["indexing"], ctx, "indexing") if "indexing" in f else "without"
    if indexing not in _INDEXING:
        raise ctx.error(f"indexing: one of {', '.join(_INDEXING)}", f["indexing"])
    variant = None
    if "huffman_variant" in f:
        variant = text(f["huffman_variant"], ctx, "huffman_variant")
        if variant not in _VARIANTS:
            raise ctx.error(f"huffman_variant: one of {', '.join(_VARIANTS)}", f["huffman_variant"])
    return hp.RepresentationSpec(
        kind="literal",
        name=text(f["name"], ctx, "name") if "name" in f else "",
        name_index=_int(f["name_index"], ctx, "name_index", bits=62) if "name_index" in f else None,
        value=text(f["value"], ctx, "value"),
        indexing=indexing,
        huffman=expect_type(f["huffman"], ctx, bool, "huffman: true or false") if "huffman" in f else True,
        huffman_variant=variant,
        value_length=_int(f["value_length"], ctx, "value_length", bits=62) if "value_length" in f else None,
    )


def _block(fields: dict[str, Node], node: Node, ctx: BuildContext) -> hp.HeaderBlockSpec:
    given = [key for key in ("fields", "add", "method", "path", "hpack", "block") if key in fields]
    if len(given) > 1 and not set(given) <= {"fields", "add", "method", "path"}:
        raise ctx.error(
            f"a header block comes from one of fields (+ add), hpack or block, not {', '.join(given)}", node
        )
    huffman = (
        expect_type(fields["huffman"], ctx, bool, "huffman: true or false") if "huffman" in fields else True
    )
    if "hpack" in fields:
        reps = fields["hpack"]
        if not reps.is_sequence:
            raise ctx.error("hpack: a list of representations", reps)
        return hp.HeaderBlockSpec(representations=tuple(_representation(r, ctx) for r in reps.value))
    if "block" in fields:
        return hp.HeaderBlockSpec(raw=build_payload(fields["block"], ctx))
    base = _field_list(fields["fields"], ctx) if "fields" in fields else hp.DEFAULT_REQUEST
    if "method" in fields:  # the default request with another :method
        if "fields" in fields:
            raise ctx.error(
                "method changes the default request; with fields, list :method there", fields["method"]
            )
        method = text(fields["method"], ctx, "method")
        base = tuple((n, method if n == ":method" else v) for n, v in base)
        if method not in ("GET", "HEAD") and "path" not in fields:
            # A request with content goes where content is read (templates.CONTENT_PATH_FIELD).
            base = tuple((n, "{content_path}" if n == ":path" else v) for n, v in base)
    if "path" in fields:  # the default request for another :path (a template)
        if "fields" in fields:
            raise ctx.error("path changes the default request; with fields, list :path there", fields["path"])
        path = text(fields["path"], ctx, "path")
        base = tuple((n, path if n == ":path" else v) for n, v in base)
    if "add" in fields:
        base = base + _field_list(fields["add"], ctx)
    return hp.HeaderBlockSpec(fields=base, huffman=huffman)


_BLOCK_KEYS = {"fields", "add", "method", "path", "hpack", "block", "huffman"}

# ---------------------------------------------------------------- payloads

_FRAME_KEYS = {
    "flags",
    "stream",
    "reserved",
    "length",
    "payload",
    "data",
    "padding",
    "pad_length",
    "priority",
    "error",
    "last_stream",
    "debug",
    "increment",
    "increment_reserved",
    "settings",
    "promised_stream",
    "fill",
    *_BLOCK_KEYS,
}


_FILL_BASES = {
    "max_frame_size": fr.Setting.MAX_FRAME_SIZE,
    "max_header_list_size": fr.Setting.MAX_HEADER_LIST_SIZE,
}


def _fill(node: Node, ctx: BuildContext) -> hp.Fill:
    """``fill: 16384``, or relative to the target's setting: ``max_frame_size+1``,
    ``max_header_list_size+1``."""
    value = node.value
    if isinstance(value, int) and not isinstance(value, bool):
        return hp.Fill(size=_int(node, ctx, "fill", bits=24))
    raw = text(node, ctx, "fill").replace(" ", "")
    for base, setting in _FILL_BASES.items():
        if raw.startswith(base):
            rest = raw[len(base) :]
            try:
                offset = int(rest) if rest else 0
            except ValueError:
                break
            return hp.Fill(size=offset, setting=setting)
    raise ctx.error(
        "fill: a size in octets, or max_frame_size / max_header_list_size with an offset (max_frame_size+1)",
        node,
    )


def _frame(node: Node, ctx: BuildContext) -> hp.H2Frame:
    f = node.value
    frame_type = _named(f["frame"], ctx, fr.FrameType, "frame", bits=8)
    kwargs: dict[str, Any] = {"type": frame_type}
    if "flags" in f:
        kwargs["flags"] = _flags(f["flags"], ctx)
    if "stream" in f:
        kwargs["stream"] = _int(f["stream"], ctx, "stream")
    if "reserved" in f:
        kwargs["reserved"] = expect_type(f["reserved"], ctx, bool, "reserved: true or false")
    if "length" in f:
        kwargs["length"] = _int(f["length"], ctx, "length", bits=24)
    for key in ("payload", "data", "debug"):
        if key in f:
            kwargs[key] = build_payload(f[key], ctx)
    if "padding" in f:
        # padding: N zero octets; or a payload of padding octets (its length is the Pad Length)
        pad = f["padding"]
        if isinstance(pad.value, int) and not isinstance(pad.value, bool):
            kwargs["pad_length"] = _int(pad, ctx, "padding", bits=8)
        else:
            padding = build_payload(pad, ctx)
            kwargs["padding"] = padding
            kwargs["pad_length"] = len(padding.render(_EMPTY))
    if "pad_length" in f:  # the Pad Length octet as written, whatever the padding is
        kwargs["pad_length"] = _int(f["pad_length"], ctx, "pad_length", bits=8)
        if "padding" not in f:  # no padding octets at all: only the Pad Length octet
            kwargs["padding"] = Raw(data=b"")
    if "priority" in f:
        kwargs["priority"] = _priority(f["priority"], ctx)
    if "error" in f:
        kwargs["error"] = _named(f["error"], ctx, fr.ErrorCode, "error")
    if "last_stream" in f:
        kwargs["last_stream"] = _int(f["last_stream"], ctx, "last_stream")
    if "increment" in f:
        kwargs["increment"] = _int(f["increment"], ctx, "increment")
    if "increment_reserved" in f:
        kwargs["increment_reserved"] = expect_type(f["increment_reserved"], ctx, bool, "true or false")
    if "settings" in f:
        kwargs["settings"] = _settings(f["settings"], ctx)
    if "promised_stream" in f:
        kwargs["promised_stream"] = _int(f["promised_stream"], ctx, "promised_stream")
    if "fill" in f:
        kwargs["fill"] = _fill(f["fill"], ctx)
    if _BLOCK_KEYS & set(f):
        kwargs["block"] = _block(f, node, ctx)
    return hp.H2Frame(**kwargs)


_HEADERS_KEYS = {
    "stream",
    "flags",
    "padding",
    "priority",
    "continuations",
    "count",
    "reset",
    "fill",
    *_BLOCK_KEYS,
}


def _headers(node: Node, ctx: BuildContext) -> hp.H2Headers:
    if node.value is None:
        return hp.H2Headers()
    if not node.is_mapping:
        raise ctx.error(
            "headers: a mapping (stream, flags, fields, add, hpack, block, padding, priority, continuations)",
            node,
        )
    check_keys(node, ctx, _HEADERS_KEYS, "headers")
    f = node.value
    kwargs: dict[str, Any] = {"block": _block(f, node, ctx)}
    if "stream" in f:
        kwargs["stream"] = _int(f["stream"], ctx, "stream")
    if "flags" in f:
        kwargs["flags"] = _flags(f["flags"], ctx)
    if "padding" in f:
        kwargs["pad_length"] = _int(f["padding"], ctx, "padding", bits=8)
    if "priority" in f:
        kwargs["priority"] = _priority(f["priority"], ctx)
    if "continuations" in f:
        kwargs["continuations"] = _int(f["continuations"], ctx, "continuations", bits=16)
    if "count" in f:  # N, or max_concurrent_streams+N (the target's limit plus N)
        count = f["count"]
        if isinstance(count.value, str) and count.value.replace(" ", "").startswith("max_concurrent_streams"):
            rest = count.value.replace(" ", "")[len("max_concurrent_streams") :]
            try:
                kwargs["count"] = int(rest) if rest else 0
            except ValueError:
                raise ctx.error("count: N, or max_concurrent_streams+N", count) from None
            kwargs["count_over_limit"] = True
        else:
            kwargs["count"] = _int(count, ctx, "count", bits=17)
    if "reset" in f:
        kwargs["reset"] = _named(f["reset"], ctx, fr.ErrorCode, "reset")
    if "fill" in f:
        kwargs["fill"] = _fill(f["fill"], ctx)
    return hp.H2Headers(**kwargs)


def _body(node: Node, ctx: BuildContext) -> hp.H2Body:
    if not node.is_mapping:
        raise ctx.error("body: a mapping (stream, data, end_stream)", node)
    check_keys(node, ctx, {"stream", "data", "end_stream"}, "body")
    f = node.value
    kwargs: dict[str, Any] = {}
    if "stream" in f:
        kwargs["stream"] = _int(f["stream"], ctx, "stream")
    if "data" in f:
        kwargs["data"] = build_payload(f["data"], ctx)
    if "end_stream" in f:
        kwargs["end_stream"] = expect_type(f["end_stream"], ctx, bool, "end_stream: true or false")
    return hp.H2Body(**kwargs)


_NAME_OR_NUMBER = {"type": ["string", "integer"]}
_FLAGS_SCHEMA = {"oneOf": [{"type": "integer"}, {"type": "array", "items": _NAME_OR_NUMBER}]}

# ---------------------------------------------------------------- connect modes


def _connect_options(node: Node, ctx: BuildContext) -> hp.H2ConnectOptions:
    f = node.value
    check_keys(node, ctx, {"settings", "preface", "ack_settings", "wait_settings"}, "connect (h2)")
    kwargs: dict[str, Any] = {}
    if "settings" in f:
        kwargs["settings"] = _settings(f["settings"], ctx)
    for key in ("preface", "ack_settings", "wait_settings"):
        if key in f:
            kwargs[key] = expect_type(f[key], ctx, bool, f"{key}: true or false")
    return hp.H2ConnectOptions(**kwargs)


_CONNECT_SCHEMA = {
    "settings": {"oneOf": [{"type": "object"}, {"type": "array"}]},
    "preface": {"type": "boolean"},
    "ack_settings": {"type": "boolean"},
    "wait_settings": {"type": "boolean"},
}

# ---------------------------------------------------------------- expectations


def _frame_pattern(node: Node, ctx: BuildContext, frame_type: int | None = None) -> h2pat.FramePattern:
    if node.value is True:
        return h2pat.FramePattern(frame_type=frame_type)
    if not node.is_mapping:
        raise ctx.error(
            "a frame pattern: a mapping (type, flags, no_flags, stream, error, last_stream, data)", node
        )
    allowed = {"flags", "no_flags", "stream", "error", "last_stream", "data", "length"}
    if frame_type is None:
        allowed.add("type")
    check_keys(node, ctx, allowed, "a frame pattern")
    f = node.value
    kwargs: dict[str, Any] = {"frame_type": frame_type}
    if "type" in f:
        kwargs["frame_type"] = _named(f["type"], ctx, fr.FrameType, "type", bits=8)
    if "flags" in f:
        kwargs["flags"] = _flags(f["flags"], ctx)
    if "no_flags" in f:
        kwargs["no_flags"] = _flags(f["no_flags"], ctx)
    if "stream" in f:
        kwargs["stream"] = _int(f["stream"], ctx, "stream")
    if "error" in f:
        kwargs["errors"] = _errors(f["error"], ctx)
    if "last_stream" in f:
        kwargs["last_stream"] = _int(f["last_stream"], ctx, "last_stream")
    if "data" in f:
        kwargs["data"] = build_payload(f["data"], ctx).render(_EMPTY)
    if "length" in f:
        kwargs["length"] = _int(f["length"], ctx, "length", bits=24)
    return h2pat.FramePattern(**kwargs)


def _errors_schema_with(**options: dict[str, Any]) -> dict[str, Any]:
    """Error codes, or a mapping of them (``error``) and ``options``."""
    mapping = {"error": _ERRORS_SCHEMA, **options}
    return {
        "oneOf": [_ERRORS_SCHEMA, {"type": "object", "properties": mapping, "additionalProperties": False}]
    }


def _errors_with(
    node: Node, ctx: BuildContext, kind: str, options: set[str]
) -> tuple[frozenset[int], dict[str, Node]]:
    """The error codes of a value of :func:`_errors_schema_with`, and the options given."""
    if not node.is_mapping:
        return _errors(node, ctx), {}
    check_keys(node, ctx, {"error", *options}, kind)
    if "error" not in node.value:
        raise ctx.error(f"{kind} needs an error", node)
    return _errors(node.value["error"], ctx), {k: v for k, v in node.value.items() if k != "error"}


def _connection_error(node: Node, ctx: BuildContext) -> h2pat.ConnectionError_:
    errors, options = _errors_with(node, ctx, "connection_error", {"before_ping_ack"})
    ping = None
    if "before_ping_ack" in options:
        ping = build_payload(options["before_ping_ack"], ctx).render(_EMPTY)
        if len(ping) != 8:
            raise ctx.error(f"before_ping_ack: a PING's 8 octets of data, not {len(ping)}", node)
    return h2pat.ConnectionError_(errors=errors, before_ping_ack=ping)


def _stream_error(node: Node, ctx: BuildContext) -> h2pat.StreamError:
    errors, options = _errors_with(node, ctx, "stream_error", {"stream"})
    stream = _int(options["stream"], ctx, "stream") if "stream" in options else None
    return h2pat.StreamError(errors=errors, stream=stream)


def _malformed(node: Node, ctx: BuildContext) -> h2pat.StreamError:
    stream = None
    after_head = False
    if node.is_mapping:
        check_keys(node, ctx, {"stream", "after_head"}, "malformed")
        if "stream" in node.value:
            stream = _int(node.value["stream"], ctx, "stream")
        if "after_head" in node.value:
            flag = node.value["after_head"]
            if not isinstance(flag.value, bool):
                raise ctx.error("after_head: true or false", flag)
            after_head = flag.value
    elif node.value is not True:
        raise ctx.error("malformed: true, or {stream: N, after_head: true}", node)
    return h2pat.StreamError(
        errors=frozenset({fr.ErrorCode.PROTOCOL_ERROR}), stream=stream, malformed=True, after_head=after_head
    )


def _h2_response(node: Node, ctx: BuildContext) -> h2pat.ResponsePattern:
    if node.value is None:
        return h2pat.ResponsePattern()
    if not node.is_mapping:
        raise ctx.error("response: a mapping (stream, status, headers, body, violations)", node)
    check_keys(node, ctx, {"stream", "status", "headers", "body", "violations"}, "response")
    f = node.value
    kwargs: dict[str, Any] = {}
    if "stream" in f:
        kwargs["stream"] = _int(f["stream"], ctx, "stream")
    if "status" in f:
        kwargs["status"] = _status(f["status"], ctx)
    if "headers" in f:
        if not f["headers"].is_mapping:
            raise ctx.error("headers: a mapping of field name to condition", f["headers"])
        kwargs["headers"] = tuple(
            _header_spec(name, child, ctx) for name, child in f["headers"].value.items()
        )
    if "body" in f:
        kwargs["body"] = _body_spec(f["body"], ctx)
    if "violations" in f:
        if f["violations"].value != "none":
            raise ctx.error("violations: none (the response must break no rule of RFC 9113)", f["violations"])
        kwargs["forbid_violations"] = True
    return h2pat.ResponsePattern(**kwargs)


def _any_response(node: Node, ctx: BuildContext) -> Any:
    """``response`` is the HTTP/1.1 pattern in h1 cases and the HTTP/2 one in h2 cases."""
    if ctx.protocol == "h2":
        return _h2_response(node, ctx)
    return _response(node, ctx)


_FRAME_PATTERN_SCHEMA = {
    "oneOf": [
        {"const": True},
        {
            "type": "object",
            "properties": {
                "type": _NAME_OR_NUMBER,
                "flags": _FLAGS_SCHEMA,
                "no_flags": _FLAGS_SCHEMA,
                "stream": {"type": "integer", "minimum": 0},
                "error": {"oneOf": [_NAME_OR_NUMBER, {"type": "array", "items": _NAME_OR_NUMBER}]},
                "last_stream": {"type": "integer", "minimum": 0},
                "data": {"$ref": "#/$defs/payload"},
                "length": {"type": "integer", "minimum": 0},
            },
            "additionalProperties": False,
        },
    ]
}
_ERRORS_SCHEMA = {"oneOf": [_NAME_OR_NUMBER, {"type": "array", "items": _NAME_OR_NUMBER, "minItems": 1}]}


def register() -> None:
    for mode in (
        ConnectMode(
            "h2",
            "HTTP/2: the transport the target URL names (ALPN h2 over TLS), then the connection "
            "preface and our SETTINGS; waits for the server's SETTINGS and acknowledges it",
            protocols=H2,
            options=_connect_options,
            option_schema=_CONNECT_SCHEMA,
        ),
        ConnectMode(
            "h2c-upgrade",
            "HTTP/2 over cleartext by an HTTP/1.1 request with Upgrade: h2c (UNIMPLEMENTED "
            "when the target does not switch), then the preface",
            protocols=H2,
            options=_connect_options,
            option_schema=_CONNECT_SCHEMA,
        ),
    ):
        if mode.name not in CONNECT_MODES:
            register_connect_mode(mode)

    frame_schema = {"type": ["string", "integer"], "description": "a frame type name or number"}
    for kind in (
        Kind(
            "frame",
            "an HTTP/2 frame, every field under control",
            frame_schema,
            _frame,
            protocols=H2,
            options=tuple(sorted(_FRAME_KEYS)),
        ),
        Kind(
            "headers",
            "an HTTP/2 request: HEADERS (+ CONTINUATION) with an HPACK block",
            {"type": ["object", "null"]},
            _headers,
            protocols=H2,
        ),
        Kind(
            "body",
            "a request body in DATA frames within the target's SETTINGS_MAX_FRAME_SIZE and its "
            "flow-control windows, waiting for its WINDOW_UPDATEs (stream, data, end_stream)",
            {
                "type": "object",
                "properties": {"stream": {"type": "integer"}, "data": {}, "end_stream": {"type": "boolean"}},
                "additionalProperties": False,
            },
            _body,
            protocols=H2,
        ),
    ):
        _register(PAYLOAD_KINDS, kind)

    h1_closed = EXPECT_KINDS["closed"]

    def _any_closed(node: Node, ctx: BuildContext) -> Any:
        """In h2 cases ``closed`` passes over the frames that come before the close."""
        built = h1_closed.build(node, ctx)
        if ctx.protocol != "h2":
            return built
        return h2pat.Closed(allow_reset=built.allow_reset, require_reset=built.require_reset)

    EXPECT_KINDS["closed"] = Kind(
        "closed",
        h1_closed.summary + " (in HTTP/2 cases, after any frames)",
        h1_closed.schema,
        _any_closed,
        protocols=h1_closed.protocols,
        roles=h1_closed.roles,
    )
    h1_response = EXPECT_KINDS.pop("response")
    EXPECT_KINDS["response"] = Kind(
        "response",
        "a response matching a pattern (HTTP/1.1: status, version, reason, headers, body, "
        "violations; HTTP/2: stream, status, headers, body, violations)",
        {"anyOf": [h1_response.schema, {"type": ["object", "null"]}]},
        _any_response,
        protocols=(*h1_response.protocols, "h2"),
    )
    for kind in (
        Kind(
            "frame",
            "an HTTP/2 frame matching a pattern (other frames are passed over)",
            _FRAME_PATTERN_SCHEMA,
            _frame_pattern,
            protocols=H2,
        ),
        Kind(
            "goaway",
            "a GOAWAY (with error, last_stream)",
            _FRAME_PATTERN_SCHEMA,
            lambda n, c: _frame_pattern(n, c, fr.FrameType.GOAWAY),
            protocols=H2,
        ),
        Kind(
            "rst_stream",
            "an RST_STREAM (with stream, error)",
            _FRAME_PATTERN_SCHEMA,
            lambda n, c: _frame_pattern(n, c, fr.FrameType.RST_STREAM),
            protocols=H2,
        ),
        Kind(
            "ping_ack",
            "a PING with ACK (with data: the opaque data echoed)",
            _FRAME_PATTERN_SCHEMA,
            lambda n, c: _ping_ack(n, c),
            protocols=H2,
        ),
        Kind(
            "settings_ack",
            "a SETTINGS with ACK",
            {"const": True},
            lambda n, c: h2pat.FramePattern(frame_type=fr.FrameType.SETTINGS, flags=fr.Flag.ACK),
            protocols=H2,
        ),
        Kind(
            "malformed",
            "a request treated as malformed (RFC 9113 §8.1.1): RST_STREAM PROTOCOL_ERROR (or GOAWAY); "
            "a 4xx response or a close is NON-STRICT; true, or {stream: N, after_head: true} (the "
            "malformed part follows the request's head: a 404, 405 or 501 is then not exercised)",
            {
                "oneOf": [
                    {"const": True},
                    {
                        "type": "object",
                        "properties": {"stream": {"type": "integer"}, "after_head": {"type": "boolean"}},
                        "additionalProperties": False,
                    },
                ]
            },
            _malformed,
            protocols=H2,
        ),
        Kind(
            "connection_error",
            "a connection error of a type: GOAWAY with the code; a close without GOAWAY is NON-STRICT"
            " (before_ping_ack: the data of a PING sent after the frame under test, whose ACK"
            " decides the step: no error came)",
            _errors_schema_with(before_ping_ack={}),
            _connection_error,
            protocols=H2,
        ),
        Kind(
            "stream_error",
            "a stream error of a type: RST_STREAM or GOAWAY with the code; a close is NON-STRICT",
            _errors_schema_with(stream={"type": "integer"}),
            _stream_error,
            protocols=H2,
        ),
        Kind(
            "graceful_goaway",
            "a graceful shutdown (RFC 9113 §6.8): a GOAWAY NO_ERROR whose last-stream-id covers every"
            " stream the target answered (a 2^31-1 notice is passed over for the GOAWAY after it)",
            {"const": True},
            lambda n, c: h2pat.GracefulGoAway(),
            protocols=H2,
        ),
        Kind(
            "requires_setting",
            "the target's SETTINGS gave a setting this value (0: or left it out); otherwise the "
            "case ends UNIMPLEMENTED",
            {"type": "object", "minProperties": 1, "maxProperties": 1},
            _requires_setting,
            protocols=H2,
        ),
        Kind(
            "no_violation",
            "no frame or header block from the target broke these rules (violation codes)",
            {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]},
            lambda n, c: h2pat.NoViolation(
                codes=tuple(text(i, c, "a violation code") for i in (n.value if n.is_sequence else [n]))
            ),
            protocols=H2,
        ),
        Kind(
            "no_frame_for",
            "no frame matching the pattern arrives for `ms` milliseconds (other frames may)",
            {"type": "object"},
            _no_frame_for,
            protocols=H2,
        ),
        Kind(
            "no_frame",
            "no frame matching the pattern arrived on the connection so far",
            _FRAME_PATTERN_SCHEMA,
            lambda n, c: h2pat.NoFrame(pattern=_frame_pattern(n, c)),
            protocols=H2,
        ),
    ):
        _register(EXPECT_KINDS, kind)
    # Client mode (the harness plays the server): the same frames, payloads and verifiers
    # judge the client; ``request`` reads its HEADERS in h2 cases.
    both = ("server", "client")
    for table, names in (
        (PAYLOAD_KINDS, ("frame", "headers", "body")),
        (
            EXPECT_KINDS,
            (
                "frame",
                "goaway",
                "rst_stream",
                "ping_ack",
                "settings_ack",
                "connection_error",
                "stream_error",
                "no_violation",
                "no_frame_for",
                "no_frame",
                "requires_setting",
            ),
        ),
    ):
        for name in names:
            table[name] = replace(table[name], roles=both)
    if "request" in EXPECT_KINDS and "h2" not in EXPECT_KINDS["request"].protocols:
        h1_request = EXPECT_KINDS["request"]
        EXPECT_KINDS["request"] = replace(
            h1_request,
            summary=h1_request.summary + "; in HTTP/2 cases its HEADERS (method, path, stream, headers, "
            "violations: none)",
            schema={"anyOf": [h1_request.schema, {"type": ["object", "null"]}]},
            build=lambda n, c, h1=h1_request.build: _h2_request(n, c) if c.protocol == "h2" else h1(n, c),
            protocols=(*h1_request.protocols, "h2"),
        )


def _h2_request(node: Node, ctx: BuildContext) -> h2pat.RequestPattern:
    if node.value is None:
        return h2pat.RequestPattern()
    if not node.is_mapping:
        raise ctx.error("request: a mapping (method, path, stream, headers, violations)", node)
    check_keys(node, ctx, {"method", "path", "stream", "headers", "violations"}, "request")
    f = node.value
    kwargs: dict[str, Any] = {}
    for name in ("method", "path"):
        if name in f:
            kwargs[name] = text(f[name], ctx, name)
    if "stream" in f:
        kwargs["stream"] = _int(f["stream"], ctx, "stream")
    if "headers" in f:
        if not f["headers"].is_mapping:
            raise ctx.error("headers: a mapping of field name to condition", f["headers"])
        kwargs["headers"] = tuple(
            _header_spec(name, child, ctx) for name, child in f["headers"].value.items()
        )
    if "violations" in f:
        if f["violations"].value != "none":
            raise ctx.error(
                "violations: none (the request must break no rule of RFC 9113 §8)", f["violations"]
            )
        kwargs["forbid_violations"] = True
    return h2pat.RequestPattern(**kwargs)


def _no_frame_for(node: Node, ctx: BuildContext) -> h2pat.NoFrameFor:
    if not node.is_mapping or "ms" not in node.value:
        raise ctx.error("no_frame_for: {ms: N, and a frame pattern (type, stream, ...)}", node)
    ms = non_negative_int(node.value["ms"], ctx, "ms")
    rest = Node({k: v for k, v in node.value.items() if k != "ms"}, node.location)
    return h2pat.NoFrameFor(pattern=_frame_pattern(rest, ctx), ms=ms)


def _requires_setting(node: Node, ctx: BuildContext) -> h2pat.RequiresSetting:
    pairs = _settings(node, ctx)
    if len(pairs) != 1 or not node.is_mapping:
        raise ctx.error("requires_setting: one {SETTING: value}", node)
    ((setting, value),) = pairs
    return h2pat.RequiresSetting(setting=setting, value=value)


def _ping_ack(node: Node, ctx: BuildContext) -> h2pat.FramePattern:
    pattern = _frame_pattern(node, ctx, fr.FrameType.PING)
    return replace(pattern, flags=pattern.flags | fr.Flag.ACK)


register()
