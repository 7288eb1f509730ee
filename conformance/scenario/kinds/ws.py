"""WebSocket kinds: the ``websocket`` connect mode, the ``handshake``, ``ws_frame`` and
``message`` payloads, and the ``handshake``, ``ws_frame``, ``message``, ``close`` and ``fail``
expectations (RFC 6455, RFC 7692).

Payloads that need the connection's state (the negotiated permessage-deflate compressor)
render through the WebSocket session (``render_ws``); on their own they render as if no
extension were in use.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from conformance.codecs.common import printable
from conformance.codecs.ws import close as wsclose
from conformance.codecs.ws import frames as wsframes
from conformance.codecs.ws import messages as wsmessages
from conformance.codecs.ws.deflate import DeflateParams, MessageCompressor
from conformance.codecs.ws.h2handshake import ExtendedConnect
from conformance.codecs.ws.handshake import HandshakeRequest, new_key
from conformance.scenario import payloads
from conformance.scenario.nodes import HEX_TAG, Node
from conformance.scenario.registry import (
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
from conformance.verdicts import ws as wspat

OPCODES = {op.name.lower(): int(op) for op in wsframes.Opcode}


class SendState(Protocol):
    """What a WebSocket session offers the payloads it renders."""

    compressor: MessageCompressor | None

    def handshake_sent(self, request: HandshakeRequest) -> None: ...

    def message_rendered(self, opcode: int, payload: bytes) -> None: ...

    def message_noted(self, opcode: int, head: bytes, length: int, digest: str) -> None:
        """A whole message is about to be sent in pieces: its first bytes, length, SHA-256."""
        ...


# ---------------------------------------------------------------- the opening handshake


@dataclass(frozen=True, kw_only=True)
class HandshakeOptions:
    """How to write an opening handshake; every field may be made wrong on purpose."""

    path: str = "{path}"
    method: str = "GET"
    http_version: str = "HTTP/1.1"
    version: str | None = "13"  # Sec-WebSocket-Version (None: left out)
    key: str | None = ""  # "": a fresh random key; None: left out
    subprotocols: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()
    origin: str | None = None
    headers: tuple[tuple[str, str], ...] = ()  # replace a generated field, or add one
    omit: tuple[str, ...] = ()
    require: tuple[str, ...] = ()  # extensions the case needs: UNIMPLEMENTED without them
    # What a 4xx answer (the server refusing the handshake, e.g. for an offer it will not
    # take) makes of a ``connect`` step: "fail", or "non-strict" (the case ends NON-STRICT).
    refusal: Literal["fail", "non-strict"] = "fail"

    def request(self, context: TargetContext) -> HandshakeRequest:
        generated = {"host", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version"}
        generated |= {"sec-websocket-protocol", "sec-websocket-extensions", "origin"}
        override = tuple((n, context.fill(v)) for n, v in self.headers if n.lower() in generated)
        extra = tuple((n, context.fill(v)) for n, v in self.headers if n.lower() not in generated)
        omit = {name.lower() for name in self.omit}
        if self.version is None:
            omit.add("sec-websocket-version")
        if self.key is None:
            omit.add("sec-websocket-key")
        return HandshakeRequest(
            host=context.authority,
            target=context.fill(self.path),
            method=self.method,
            version=self.http_version,
            key=self.key or new_key(),
            ws_version=self.version or "",
            subprotocols=self.subprotocols,
            extensions=self.extensions,
            origin=context.fill(self.origin) if self.origin is not None else None,
            extra=extra,
            omit=frozenset(omit),
            override=override,
        )

    def connect_request(self, context: TargetContext, scheme: str) -> ExtendedConnect:
        """The same handshake as an extended CONNECT (RFC 8441 §5), for WebSocket over HTTP/2:
        ``headers`` may replace pseudo-header fields too (``[":protocol", "chat"]``) and
        ``omit`` drop them; the key, the method and the HTTP version are HTTP/1.1's only."""
        generated = {":method", ":protocol", ":scheme", ":path", ":authority"}
        generated |= {"sec-websocket-version", "sec-websocket-protocol", "sec-websocket-extensions", "origin"}
        fields = [(n.lower(), context.fill(v)) for n, v in self.headers]
        omit = {name.lower() for name in self.omit}
        if self.version is None:
            omit.add("sec-websocket-version")
        return ExtendedConnect(
            authority=context.authority,
            scheme=scheme,
            path=context.fill(self.path),
            ws_version=self.version or "",
            subprotocols=self.subprotocols,
            extensions=self.extensions,
            origin=context.fill(self.origin) if self.origin is not None else None,
            override=tuple((n, v) for n, v in fields if n in generated),
            extra=tuple((n, v) for n, v in fields if n not in generated),
            omit=frozenset(omit),
        )

    @property
    def http1_only(self) -> str | None:
        """Why these options make sense on HTTP/1.1 only (None: they work over HTTP/2 too)."""
        if self.method != "GET" or self.http_version != "HTTP/1.1":
            return "the request line (method, HTTP version)"
        if self.key != "":
            return "the Sec-WebSocket-Key"
        h1_fields = {"host", "upgrade", "connection", "sec-websocket-key"}
        named = {name.lower() for name in self.omit} | {name.lower() for name, _ in self.headers}
        if named & h1_fields:
            return ", ".join(sorted(named & h1_fields)) + " (HTTP/1.1 handshake fields)"
        return None

    def describe(self) -> str:
        parts = []
        if self.method != "GET" or self.http_version != "HTTP/1.1":
            parts.append(f"{self.method} {self.http_version}")
        if self.version != "13":
            parts.append(f"version {self.version}" if self.version is not None else "no version")
        if self.key is None:
            parts.append("no key")
        elif self.key:
            parts.append(f"key {self.key!r}")
        if self.subprotocols:
            parts.append(f"subprotocols {', '.join(self.subprotocols)}")
        if self.extensions:
            parts.append(f"extensions {'; '.join(self.extensions)}")
        parts += [f"{n}: {v}" for n, v in self.headers]
        parts += [f"without {n}" for n in self.omit]
        return ", ".join(parts)


def _strings(node: Node, ctx: BuildContext, what: str) -> tuple[str, ...]:
    items = node.value if node.is_sequence else [node]
    return tuple(text(item, ctx, what) for item in items)


def _deflate_offer(node: Node, ctx: BuildContext) -> str | None:
    if node.value is True:
        return DeflateParams(client_max_window_bits=0).offer().render()
    if node.value is False:
        return None
    if not node.is_mapping:
        raise ctx.error("deflate: true, or a mapping of permessage-deflate parameters", node)
    names = ("server_no_context_takeover", "client_no_context_takeover")
    check_keys(node, ctx, {*names, "server_max_window_bits", "client_max_window_bits"}, "deflate")
    kwargs: dict[str, Any] = {}
    for key, child in node.value.items():
        if key in names:
            kwargs[key] = expect_type(child, ctx, bool, f"{key}: true or false")
        elif child.value is True:
            kwargs[key] = 0
        else:
            kwargs[key] = non_negative_int(child, ctx, f"{key} (8 to 15, or true for no value)")
    return DeflateParams(**kwargs).offer().render()


_HANDSHAKE_KEYS = {
    "path",
    "method",
    "http_version",
    "version",
    "key",
    "subprotocols",
    "extensions",
    "deflate",
    "origin",
    "headers",
    "omit",
    "require",
    "refusal",
}


def handshake_options(node: Node, ctx: BuildContext, what: str = "handshake") -> HandshakeOptions:
    if node.value is None or node.value is True:
        return HandshakeOptions()
    if not node.is_mapping:
        raise ctx.error(f"{what}: a mapping of handshake options", node)
    check_keys(node, ctx, _HANDSHAKE_KEYS, what)
    fields = node.value
    kwargs: dict[str, Any] = {}
    for name in ("path", "method", "http_version", "origin"):
        if name in fields:
            kwargs[name] = text(fields[name], ctx, name)
    for name in ("version", "key"):
        if name in fields:
            kwargs[name] = None if fields[name].value is None else text(fields[name], ctx, name)
    if "subprotocols" in fields:
        kwargs["subprotocols"] = _strings(fields["subprotocols"], ctx, "a subprotocol")
    extensions = (
        list(_strings(fields["extensions"], ctx, "an extension offer")) if "extensions" in fields else []
    )
    require: list[str] = []
    if "deflate" in fields:
        offer = _deflate_offer(fields["deflate"], ctx)
        if offer:
            extensions.insert(0, offer)
            require.append("permessage-deflate")
    kwargs["extensions"] = tuple(extensions)
    if "require" in fields:
        require += _strings(fields["require"], ctx, "an extension name")
    kwargs["require"] = tuple(dict.fromkeys(require))
    if "refusal" in fields:
        refusal = text(fields["refusal"], ctx, "refusal")
        if refusal not in ("fail", "non-strict"):
            raise ctx.error(f"refusal: fail or non-strict, got {refusal!r}", fields["refusal"])
        kwargs["refusal"] = refusal
    if "headers" in fields:
        from conformance.scenario.kinds.core import _headers

        kwargs["headers"] = _headers(fields["headers"], ctx)
    if "omit" in fields:
        kwargs["omit"] = _strings(fields["omit"], ctx, "a header name")
    return HandshakeOptions(**kwargs)


@dataclass(frozen=True, kw_only=True)
class Handshake:
    """The ``handshake`` payload: an opening handshake request (for cases about the
    handshake itself, on a ``connect: tcp`` connection)."""

    options: HandshakeOptions

    def render(self, context: TargetContext) -> bytes:
        return self.options.request(context).render()

    def render_ws(self, context: TargetContext, state: SendState) -> bytes:
        request = self.options.request(context)
        state.handshake_sent(request)
        return request.render()

    def describe(self) -> str:
        shown = self.options.describe()
        return "a WebSocket opening handshake" + (f" ({shown})" if shown else "")


#: The JSON Schema of each handshake option (the ``handshake`` payload, the connect mode).
_HANDSHAKE_OPTIONS: dict[str, Any] = {
    "path": {"type": "string"},
    "method": {"type": "string"},
    "http_version": {"type": "string"},
    "version": {"type": ["string", "integer", "null"]},
    "key": {"type": ["string", "null"]},
    "subprotocols": {"type": ["array", "string"]},
    "extensions": {"type": ["array", "string"]},
    "deflate": {"type": ["boolean", "object"]},
    "origin": {"type": "string"},
    "headers": {"type": ["object", "array"]},
    "omit": {"type": ["array", "string"]},
    "require": {"type": ["array", "string"]},
    "refusal": {"enum": ["fail", "non-strict"]},
}
_HANDSHAKE_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"const": True},
        {"type": "null"},
        {"type": "object", "properties": _HANDSHAKE_OPTIONS, "additionalProperties": False},
    ]
}


# ---------------------------------------------------------------- frames and messages


MaskSpec = bytes | None | Literal["auto"]


def _mask(node: Node, ctx: BuildContext) -> MaskSpec:
    value = node.value
    if value == "auto":
        return "auto"
    if value in ("none", None, False):
        return None
    digits = "".join(text(node, ctx, "mask").split())
    try:
        key = bytes.fromhex(digits)
    except ValueError:
        key = b""
    if len(key) != 4:
        raise ctx.error("mask: auto (a random key), none (unmasked) or 4 bytes in hex (aabbccdd)", node)
    return key


def _key(spec: MaskSpec, server: bool = False) -> bytes | None | Literal["random"]:
    """The masking key of a frame: ``auto`` is a random key when the harness is the client,
    and no mask when it is the server (client mode: RFC 6455 §5.1, a server MUST NOT mask)."""
    if spec == "auto":
        return None if server else "random"
    return spec


def _is_server(state: object) -> bool:
    return bool(getattr(state, "server_side", False))


def _opcode(node: Node, ctx: BuildContext) -> int:
    value = node.value
    if isinstance(value, str) and value.lower() in OPCODES:
        return OPCODES[value.lower()]
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 15:
        return value
    raise ctx.error(f"opcode: one of {', '.join(OPCODES)} or a number from 0 to 15, not {value!r}", node)


@dataclass(frozen=True, kw_only=True)
class WsFrame:
    """One frame, every field as told (``compress``: deflate the payload with the
    connection's compressor, RSV1 set unless told otherwise)."""

    opcode: int
    payload: payloads.Payload = field(default_factory=lambda: payloads.Raw(data=b""))
    fin: bool = True
    rsv1: bool | None = None
    rsv2: bool = False
    rsv3: bool = False
    mask: MaskSpec = "auto"
    encoding: Literal[7, 16, 64] | None = None
    declared_length: int | None = None
    close_code: int | None = None
    compress: bool = False

    def _data(self, context: TargetContext) -> bytes:
        data = self.payload.render(context)
        if self.close_code is not None:
            data = wsclose.encode_close_payload(self.close_code, data)
        return data

    def render(self, context: TargetContext) -> bytes:
        return self._frame(self._data(context))

    def render_ws(self, context: TargetContext, state: SendState) -> bytes:
        data = self._data(context)
        if self.compress:
            compressor = state.compressor or MessageCompressor()
            data = compressor.compress(data)
        return self._frame(data, server=_is_server(state))

    def _frame(self, data: bytes, server: bool = False) -> bytes:
        return wsframes.encode_frame(
            self.opcode,
            data,
            fin=self.fin,
            rsv1=self.compress if self.rsv1 is None else self.rsv1,
            rsv2=self.rsv2,
            rsv3=self.rsv3,
            mask_key=_key(self.mask, server),
            encoding=self.encoding,
            declared_length=self.declared_length,
        )

    def describe(self) -> str:
        what = f"{wsframes.Opcode.name_of(self.opcode)} frame"
        if self.close_code is not None:
            what += f" (code {self.close_code})"
        elif not isinstance(self.payload, payloads.Raw) or self.payload.data:
            what += f" ({self.payload.describe()})"
        flags = [] if self.fin else ["FIN clear"]
        flags += [f"RSV{n}" for n, bit in enumerate((self.rsv1, self.rsv2, self.rsv3), 1) if bit]
        if self.compress:
            flags.append("compressed")
        if self.mask is None:
            flags.append("unmasked")
        if self.encoding:
            flags.append(f"{self.encoding}-bit length")
        if self.declared_length is not None:
            flags.append(f"length field {self.declared_length}")
        return what + (f" [{', '.join(flags)}]" if flags else "")


@dataclass(frozen=True, kw_only=True)
class WsMessage:
    """A whole message, cut into frames (``fragments``: a count or a list of sizes;
    ``fragment_size``), compressed when the connection negotiated permessage-deflate
    (unless ``compress: false``)."""

    kind: Literal["text", "binary"]
    payload: payloads.Payload
    fragments: int | tuple[int, ...] | None = None
    fragment_size: int | None = None
    compress: bool | None = None  # None: when permessage-deflate is in use
    mask: MaskSpec = "auto"

    @property
    def opcode(self) -> int:
        return wsframes.Opcode.TEXT if self.kind == "text" else wsframes.Opcode.BINARY

    def render(self, context: TargetContext) -> bytes:
        return self._frames(self.payload.render(context), None)

    def render_ws(self, context: TargetContext, state: SendState) -> bytes:
        compressor = state.compressor if self.compress in (None, True) else None
        if self.compress and compressor is None:
            compressor = MessageCompressor()
        data = self.payload.render(context)
        state.message_rendered(self.opcode, data)
        return self._frames(data, compressor, server=_is_server(state))

    def stream_ws(self, context: TargetContext, state: SendState) -> Iterator[bytes] | None:
        """The frames of the message in pieces of about 64 KiB, the payload read twice from
        its own pieces (once for its length and digest, once to send it): a 16 MiB message
        is never whole in memory, as payload or as frames. None when the message is to be
        compressed (permessage-deflate needs it whole): render it with :meth:`render_ws`."""
        compressor = state.compressor if self.compress in (None, True) else None
        if self.compress or compressor is not None:
            return None
        digest = hashlib.sha256()
        length = 0
        head = bytearray()
        for piece in payloads.chunks_of(self.payload, context):
            digest.update(piece)
            length += len(piece)
            if len(head) < wsmessages.KEEP:
                head += piece[: wsmessages.KEEP - len(head)]
        state.message_noted(self.opcode, bytes(head), length, digest.hexdigest())
        return wsmessages.stream_message(
            self.opcode,
            payloads.chunks_of(self.payload, context),
            length,
            sizes=wsmessages.cut(length, self.fragments, self.fragment_size),
            mask_key=_key(self.mask, _is_server(state)),
        )

    def _frames(self, data: bytes, compressor: MessageCompressor | None, server: bool = False) -> bytes:
        size = len(data) if compressor is None else None
        sizes = wsmessages.cut(size, self.fragments, self.fragment_size) if size is not None else None
        if compressor is not None and (self.fragments or self.fragment_size):
            compressed = compressor.compress(data)
            sizes = wsmessages.cut(len(compressed), self.fragments, self.fragment_size)
            return b"".join(_compressed_frames(self.opcode, compressed, sizes, _key(self.mask, server)))
        return b"".join(
            wsmessages.encode_message(
                self.opcode, data, sizes=sizes, compressor=compressor, mask_key=_key(self.mask, server)
            )
        )

    def describe(self) -> str:
        how = ""
        if self.fragments is not None:
            how = (
                f" in {self.fragments if isinstance(self.fragments, int) else len(self.fragments)} fragments"
            )
        elif self.fragment_size:
            how = f" in {self.fragment_size}-byte fragments"
        return f"{self.kind} message ({self.payload.describe()}){how}"


def _compressed_frames(
    opcode: int, data: bytes, sizes: list[int], key: bytes | None | Literal["random"]
) -> list[bytes]:
    out = []
    at = 0
    for index, size in enumerate(sizes):
        out.append(
            wsframes.encode_frame(
                opcode if index == 0 else wsframes.Opcode.CONTINUATION,
                data[at : at + size],
                fin=index == len(sizes) - 1,
                rsv1=index == 0,
                mask_key=key,
            )
        )
        at += size
    return out


_FRAME_KEYS = {
    "opcode",
    "payload",
    "fin",
    "rsv1",
    "rsv2",
    "rsv3",
    "mask",
    "length",
    "code",
    "reason",
    "compress",
}


def _frame(node: Node, ctx: BuildContext) -> payloads.Payload:
    if not node.is_mapping or "opcode" not in node.value:
        raise ctx.error(
            "ws_frame: a mapping with opcode (and payload, fin, rsv1-3, mask, length, code)", node
        )
    check_keys(node, ctx, _FRAME_KEYS, "ws_frame")
    fields = node.value
    kwargs: dict[str, Any] = {"opcode": _opcode(fields["opcode"], ctx)}
    if "payload" in fields:
        kwargs["payload"] = _message_payload(fields["payload"], ctx)
    for name in ("fin", "rsv1", "rsv2", "rsv3", "compress"):
        if name in fields:
            kwargs[name] = expect_type(fields[name], ctx, bool, f"{name}: true or false")
    if "mask" in fields:
        kwargs["mask"] = _mask(fields["mask"], ctx)
    if "length" in fields:
        length = fields["length"]
        if not length.is_mapping:
            raise ctx.error("length: {encoding: 7|16|64, value: N}", length)
        check_keys(length, ctx, {"encoding", "value"}, "length")
        if "encoding" in length.value:
            encoding = length.value["encoding"].value
            if encoding not in (7, 16, 64):
                raise ctx.error("length encoding: 7, 16 or 64 (bits)", length.value["encoding"])
            kwargs["encoding"] = encoding
        if "value" in length.value:
            kwargs["declared_length"] = non_negative_int(length.value["value"], ctx, "the declared length")
    if "code" in fields:
        kwargs["close_code"] = non_negative_int(fields["code"], ctx, "a close code")
        if "reason" in fields:
            kwargs["payload"] = _message_payload(fields["reason"], ctx)
    elif "reason" in fields:
        raise ctx.error("reason needs a code", fields["reason"])
    return WsFrame(**kwargs)


def _message_payload(node: Node, ctx: BuildContext) -> payloads.Payload:
    """A frame or message payload: a string is UTF-8 text here (WebSocket text is UTF-8)."""
    if isinstance(node.value, str) and node.tag != HEX_TAG:
        return payloads.Text(text=node.value, encoding="utf-8")
    return build_payload(node, ctx)


def _message(node: Node, ctx: BuildContext) -> payloads.Payload:
    if not node.is_mapping:
        raise ctx.error("message: a mapping with text or binary (and fragments, fragment_size)", node)
    allowed = {"text", "binary", "type", "data", "fragments", "fragment_size", "compress", "mask"}
    check_keys(node, ctx, allowed, "message")
    fields = node.value
    kinds = [k for k in ("text", "binary", "data") if k in fields]
    if len(kinds) != 1:
        raise ctx.error("message: exactly one of text, binary, or data with type", node)
    if kinds[0] == "data":
        kind = text(fields["type"], ctx, "type (text or binary)") if "type" in fields else ""
        if kind not in ("text", "binary"):
            raise ctx.error("message data needs type: text or binary", node)
        payload = _message_payload(fields["data"], ctx)
    else:
        if "type" in fields:
            raise ctx.error("type goes with data, not with text or binary", fields["type"])
        kind = kinds[0]
        payload = _message_payload(fields[kind], ctx)
    kwargs: dict[str, Any] = {"kind": kind, "payload": payload}
    if "fragments" in fields:
        frag = fields["fragments"]
        if frag.is_sequence:
            kwargs["fragments"] = tuple(non_negative_int(i, ctx, "a fragment size") for i in frag.value)
        else:
            kwargs["fragments"] = non_negative_int(frag, ctx, "a number of fragments")
    if "fragment_size" in fields:
        size = non_negative_int(fields["fragment_size"], ctx, "fragment_size")
        if size == 0:
            raise ctx.error("fragment_size: at least 1", fields["fragment_size"])
        kwargs["fragment_size"] = size
    if "compress" in fields:
        kwargs["compress"] = expect_type(fields["compress"], ctx, bool, "compress: true or false")
    if "mask" in fields:
        kwargs["mask"] = _mask(fields["mask"], ctx)
    return WsMessage(**kwargs)


def _handshake(node: Node, ctx: BuildContext) -> payloads.Payload:
    return Handshake(options=handshake_options(node, ctx))


for _kind in (
    Kind("handshake", "a WebSocket opening handshake request", _HANDSHAKE_SCHEMA, _handshake, ("ws",)),
    Kind("ws_frame", "one WebSocket frame, every field as told", {"type": "object"}, _frame, ("ws",)),
    Kind("message", "a WebSocket message, optionally fragmented", {"type": "object"}, _message, ("ws",)),
):
    _register(PAYLOAD_KINDS, _kind)


# ---------------------------------------------------------------- the connect mode


def _connect_options(node: Node, ctx: BuildContext) -> HandshakeOptions:
    return handshake_options(node, ctx, "connect (websocket)")


@dataclass(frozen=True, kw_only=True)
class H2WebSocketOptions:
    """Options of the ``websocket-h2`` mode: the handshake's, and ``open: false`` to stop
    once the HTTP/2 connection is ready (the case sends its own extended CONNECT with a
    ``handshake`` payload)."""

    handshake: HandshakeOptions = field(default_factory=HandshakeOptions)
    open: bool = True


def _h2_connect_options(node: Node, ctx: BuildContext) -> H2WebSocketOptions:
    fields = dict(node.value) if node.is_mapping else {}
    open_node = fields.pop("open", None)
    opened = True if open_node is None else expect_type(open_node, ctx, bool, "open: true or false")
    handshake = handshake_options(Node(fields, node.location), ctx, "connect (websocket-h2)")
    return H2WebSocketOptions(handshake=handshake, open=opened)


register_connect_mode(
    ConnectMode(
        "websocket",
        "the WebSocket opening handshake: RFC 6455's GET with Upgrade against ws:// and wss:// "
        "targets, RFC 8441's extended CONNECT on an HTTP/2 stream against h2c:// and https:// ones "
        "(UNIMPLEMENTED without SETTINGS_ENABLE_CONNECT_PROTOCOL); a wrong answer FAILs the step",
        protocols=("ws",),
        options=_connect_options,
        option_schema=dict(_HANDSHAKE_OPTIONS),
    )
)
register_connect_mode(
    ConnectMode(
        "websocket-h2",
        "WebSocket over HTTP/2 only (RFC 8441; SKIPPED against ws:// and wss:// targets): the "
        "HTTP/2 connection, SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 required (else UNIMPLEMENTED), "
        "then the extended CONNECT — or, with open: false, no stream (the case sends `handshake` "
        "payloads, each opening a stream)",
        protocols=("ws",),
        options=_h2_connect_options,
        option_schema={**_HANDSHAKE_OPTIONS, "open": {"type": "boolean"}},
    )
)


# ---------------------------------------------------------------- expectations


def _static(node: Node, ctx: BuildContext) -> bytes:
    payload = _message_payload(node, ctx)
    return payload.render(TargetContext(host="", port=0, authority="", path="", scheme=""))


def _codes(node: Node, ctx: BuildContext) -> tuple[tuple[int, ...], bool]:
    items = node.value if node.is_sequence else [node]
    codes: list[int] = []
    no_code = False
    for item in items:
        if item.value is None or item.value == "none":
            no_code = True
        else:
            codes.append(non_negative_int(item, ctx, "a close code (or none)"))
    return tuple(codes), no_code


def _close(node: Node, ctx: BuildContext, *, failing: bool) -> wspat.ClosePattern:
    what = "fail" if failing else "close"
    if node.value is True:
        return wspat.ClosePattern(failing=failing)
    if not node.is_mapping:
        raise ctx.error(f"{what}: true, or {{code: [..], clean: true}}", node)
    check_keys(node, ctx, {"code", "clean", "earlier"}, what)
    codes, no_code = _codes(node.value["code"], ctx) if "code" in node.value else ((), False)
    earlier = False
    if "earlier" in node.value:
        earlier = expect_type(node.value["earlier"], ctx, bool, "earlier: true or false")
    clean = (
        expect_type(node.value["clean"], ctx, bool, "clean: true or false")
        if "clean" in node.value
        else False
    )
    return wspat.ClosePattern(codes=codes, no_code=no_code, clean=clean, failing=failing, earlier=earlier)


def _frame_pattern(node: Node, ctx: BuildContext) -> wspat.FramePattern:
    if not node.is_mapping:
        raise ctx.error("ws_frame: a mapping (opcode, payload, fin, rsv1, rsv2, rsv3)", node)
    check_keys(node, ctx, {"opcode", "payload", "fin", "rsv1", "rsv2", "rsv3"}, "ws_frame")
    fields = node.value
    kwargs: dict[str, Any] = {}
    if "opcode" in fields:
        kwargs["opcode"] = _opcode(fields["opcode"], ctx)
    if "payload" in fields:
        kwargs["payload"] = _static(fields["payload"], ctx)
    if "fin" in fields:
        kwargs["fin"] = expect_type(fields["fin"], ctx, bool, "fin: true or false")
    rsv = []
    for name in ("rsv1", "rsv2", "rsv3"):
        rsv.append(expect_type(fields[name], ctx, bool, f"{name}: true or false") if name in fields else None)
    kwargs["rsv"] = tuple(rsv)
    return wspat.FramePattern(**kwargs)


def _message_pattern(node: Node, ctx: BuildContext) -> wspat.MessagePattern:
    if not node.is_mapping:
        raise ctx.error("message: {echo: true}, {text: ...}, {binary: ...} or {length: N}", node)
    check_keys(node, ctx, {"echo", "text", "binary", "length"}, "message")
    fields = node.value
    if "echo" in fields:
        echo = fields["echo"].value
        if len(fields) != 1 or not (echo is True or (isinstance(echo, int) and not isinstance(echo, bool))):
            raise ctx.error("echo: true (the next message), or a count of messages, alone", fields["echo"])
        count = 1 if echo is True else non_negative_int(fields["echo"], ctx, "a count of messages")
        return wspat.MessagePattern(echo=True, count=max(1, count))
    kwargs: dict[str, Any] = {}
    kinds = [k for k in ("text", "binary") if k in fields]
    if len(kinds) > 1:
        raise ctx.error("message: text or binary, not both", node)
    if kinds:
        kind = kinds[0]
        kwargs["kind"] = kind
        if fields[kind].value is not True:
            data = _static(fields[kind], ctx)
            if len(data) <= wsmessages.KEEP:
                kwargs["payload"] = data
            else:
                kwargs["digest"] = hashlib.sha256(data).hexdigest()
                kwargs["length"] = len(data)
            kwargs["shown"] = f'"{printable(data, 40)}"' if len(data) <= 40 else f"of {len(data)} given bytes"
    if "length" in fields:
        kwargs["length"] = non_negative_int(fields["length"], ctx, "length")
    return wspat.MessagePattern(**kwargs)


def _handshake_pattern(node: Node, ctx: BuildContext) -> wspat.HandshakePattern:
    if node.value is True:
        return wspat.HandshakePattern()
    if not node.is_mapping:
        raise ctx.error("handshake: true, or {subprotocol: ..., extensions: [...]}", node)
    check_keys(node, ctx, {"subprotocol", "extensions"}, "handshake")
    kwargs: dict[str, Any] = {}
    if "subprotocol" in node.value:
        value = node.value["subprotocol"]
        kwargs["subprotocol"] = "" if value.value is None else text(value, ctx, "a subprotocol")
    if "extensions" in node.value:
        value = node.value["extensions"]
        kwargs["extensions"] = () if value.value is None else _strings(value, ctx, "an extension name")
    return wspat.HandshakePattern(**kwargs)


def _stream_reset(node: Node, ctx: BuildContext) -> wspat.StreamResetPattern:
    from conformance.codecs import h2frames as fr

    if node.value is True:
        return wspat.StreamResetPattern()
    if not node.is_mapping:
        raise ctx.error("stream_reset: true, or {error: NAME or [NAMES], goaway: true}", node)
    check_keys(node, ctx, {"error", "goaway"}, "stream_reset")
    errors: list[int] = []
    if "error" in node.value:
        items = node.value["error"].value if node.value["error"].is_sequence else [node.value["error"]]
        for item in items:
            value = item.value
            if isinstance(value, str) and value.upper() in fr.ErrorCode.__members__:
                errors.append(int(fr.ErrorCode[value.upper()]))
            elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                errors.append(value)
            else:
                names = ", ".join(fr.ErrorCode.__members__)
                raise ctx.error(f"error: an HTTP/2 error code ({names}) or a number, not {value!r}", item)
    goaway = False
    if "goaway" in node.value:
        goaway = expect_type(node.value["goaway"], ctx, bool, "goaway: true or false")
    return wspat.StreamResetPattern(errors=tuple(errors), goaway=goaway)


_CODES_SCHEMA = {"type": ["integer", "array", "null", "string"]}
_CLOSE_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"const": True},
        {
            "type": "object",
            "properties": {
                "code": _CODES_SCHEMA,
                "clean": {"type": "boolean"},
                "earlier": {"type": "boolean"},
            },
            "additionalProperties": False,
        },
    ]
}

for _kind in (
    Kind(
        "handshake",
        "a 101 answer passing every RFC 6455 §4.1 check (optionally: the subprotocol and extensions chosen)",
        {"oneOf": [{"const": True}, {"type": "object"}]},
        _handshake_pattern,
        ("ws",),
    ),
    Kind(
        "ws_frame", "the next WebSocket frame matching a pattern", {"type": "object"}, _frame_pattern, ("ws",)
    ),
    Kind(
        "message",
        "the next WebSocket message: {echo: true}, {text: ...}, {binary: ...}, {length: N}",
        {"type": "object"},
        _message_pattern,
        ("ws",),
    ),
    Kind(
        "close",
        "a close frame from the target (code: one or a list; clean: the TCP close must follow)",
        _CLOSE_SCHEMA,
        lambda n, c: _close(n, c, failing=False),
        ("ws",),
    ),
    Kind(
        "stream_reset",
        "WebSocket over HTTP/2: the target resets the stream (RST_STREAM, RFC 8441 §5) with one of "
        "the error codes; with goaway: true, a GOAWAY failing the connection instead",
        {
            "oneOf": [
                {"const": True},
                {
                    "type": "object",
                    "properties": {
                        "error": {"type": ["string", "integer", "array"]},
                        "goaway": {"type": "boolean"},
                    },
                    "additionalProperties": False,
                },
            ]
        },
        _stream_reset,
        ("ws",),
    ),
    Kind(
        "fail",
        "the target fails the connection (RFC 6455 §7.1.7): a close frame with one of the codes, "
        "then TCP closed; another code or no close frame is NON-STRICT",
        _CLOSE_SCHEMA,
        lambda n, c: _close(n, c, failing=True),
        ("ws",),
    ),
):
    _register(EXPECT_KINDS, _kind)


# Client mode (``role: client``): the harness is the server; frames, messages and closes are
# written and judged with the same kinds, the roles swapped (server frames unmasked).
def _both_roles() -> None:
    import dataclasses

    from conformance.scenario import model

    # ``allow``: RFC 6455's allowances (a size limit, §10.4) bind "implementations", clients too.
    for table, names in (
        (EXPECT_KINDS, ("allow",)),
        (PAYLOAD_KINDS, ("ws_frame", "message")),
        (EXPECT_KINDS, ("ws_frame", "message", "close", "fail")),
    ):
        for name in names:
            table[name] = dataclasses.replace(table[name], roles=model.ROLES)


_both_roles()
