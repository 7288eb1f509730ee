"""HTTP/2 payloads of ``send`` steps: frames with every field under the case's control, header
blocks with full HPACK control, and the options of the ``h2`` connect modes.

A frame whose payload is large (a 16 MiB DATA frame) is written in pieces: :meth:`chunks`
yields the frame header and then the payload as its generator produces it, so the harness
never holds the whole frame.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from conformance.codecs import h2frames as fr
from conformance.codecs import h2hpack as hp
from conformance.errors import NotApplicable
from conformance.scenario.payloads import Concat, Payload, Raw, Repeat, Text, chunks_of
from conformance.scenario.templates import TargetContext

#: The request a ``headers`` step sends when it lists no fields: GET of the target's path.
DEFAULT_REQUEST: tuple[tuple[str, str], ...] = (
    (":method", "GET"),
    (":scheme", "{scheme}"),
    (":path", "{path}"),
    (":authority", "{authority}"),
)


def h2_context(context: TargetContext) -> TargetContext:
    """``{scheme}`` is the request's scheme: ``http`` for an ``h2c://`` target."""
    scheme = "http" if context.scheme in ("h2c", "http") else "https"
    return replace(context, scheme=scheme)


@dataclass(frozen=True, kw_only=True)
class Fill:
    """A size given absolutely or relative to one of the target's settings
    (``max_frame_size+1``: the smallest frame the target must refuse;
    ``max_header_list_size+1``: the smallest field section it may refuse)."""

    size: int = 0
    setting: int | None = None  # size is an offset from the target's value of this setting

    def resolve(self, peer: dict[int, int]) -> int:
        if self.setting is None:
            return self.size
        name = fr.setting_name(self.setting)
        if self.setting == fr.Setting.MAX_FRAME_SIZE:
            limit = peer.get(self.setting, fr.DEFAULT_MAX_FRAME_SIZE)
            size = limit + self.size
            if size > fr.MAX_FRAME_SIZE_LIMIT:
                raise NotApplicable(
                    f"the target allows frames of {limit} octets (SETTINGS_MAX_FRAME_SIZE): "
                    f"no frame can be {size} octets long"
                )
            return max(0, size)
        if self.setting not in peer:
            raise NotApplicable(f"the target advertised no SETTINGS_{name}: it sets no limit to exceed")
        size = peer[self.setting] + self.size
        if size > 1 << 24:
            raise NotApplicable(
                f"the target's SETTINGS_{name} of {peer[self.setting]} is too large to exceed here"
            )
        return max(0, size)

    def describe(self) -> str:
        if self.setting is None:
            return f"{self.size} octets"
        return fr.setting_name(self.setting).lower() + (f"{self.size:+d}" if self.size else "")


@dataclass(frozen=True, kw_only=True)
class H2ConnectOptions:
    """Options of the ``h2`` and ``h2c-upgrade`` connect modes."""

    settings: tuple[tuple[int, int], ...] = ()  # our SETTINGS, in order
    preface: bool = True  # False: open the transport (ALPN h2 over TLS) and send nothing
    ack_settings: bool = True  # acknowledge every SETTINGS frame of the server on our own
    wait_settings: bool = True  # wait for the server's SETTINGS before the next step


@dataclass(frozen=True, kw_only=True)
class RepresentationSpec:
    """One HPACK representation as a case writes it (names and values are templates)."""

    kind: str  # indexed | literal | size_update | raw
    index: int = 0
    name: str = ""
    value: str = ""
    name_index: int | None = None
    indexing: str = "without"
    huffman: bool = True
    huffman_variant: str | None = None
    value_length: int | None = None
    extra_continuations: int = 0
    raw: bytes = b""

    def build(self, context: TargetContext) -> hp.Representation:
        if self.kind == "indexed":
            return hp.Indexed(index=self.index, extra_continuations=self.extra_continuations)
        if self.kind == "size_update":
            return hp.SizeUpdate(size=self.index)
        if self.kind == "raw":
            return hp.RawBlock(data=self.raw)
        return hp.Literal(
            name=context.fill(self.name).encode("latin-1"),
            value=context.fill(self.value).encode("latin-1"),
            name_index=self.name_index,
            indexing=self.indexing,
            huffman=self.huffman,
            huffman_variant=self.huffman_variant,
            value_length=self.value_length,
        )


@dataclass(frozen=True, kw_only=True)
class HeaderBlockSpec:
    """A header block: fields (default representations), explicit representations, or bytes."""

    fields: tuple[tuple[str, str], ...] = DEFAULT_REQUEST
    representations: tuple[RepresentationSpec, ...] | None = None
    raw: Payload | None = None
    huffman: bool = True

    def render(self, context: TargetContext) -> bytes:
        context = h2_context(context)
        if self.raw is not None:
            return self.raw.render(context)
        if self.representations is not None:
            return hp.encode_block(rep.build(context) for rep in self.representations)
        fields = [
            (context.fill(n).encode("latin-1"), context.fill(v).encode("latin-1")) for n, v in self.fields
        ]
        return hp.encode_fields(fields, use_huffman=self.huffman)

    def describe(self) -> str:
        if self.raw is not None:
            return f"block {self.raw.describe()}"
        if self.representations is not None:
            return f"{len(self.representations)} HPACK representations"
        return ", ".join(f"{n}: {v}" for n, v in self.fields[:4]) + (" …" if len(self.fields) > 4 else "")


@dataclass(frozen=True, kw_only=True)
class H2Frame:
    """One frame; structured fields build the payload unless ``payload`` gives it whole.
    ``length`` overrides the declared length; ``flags`` are written as given."""

    type: int
    flags: int = 0
    stream: int = 0
    reserved: bool = False
    length: int | None = None
    payload: Payload | None = None
    data: Payload | None = None  # DATA body, PING opaque data
    pad_length: int | None = None
    padding: Payload | None = None
    priority: fr.Priority | None = None
    error: int | None = None
    last_stream: int = 0
    debug: Payload | None = None
    increment: int | None = None
    increment_reserved: bool = False
    settings: tuple[tuple[int, int], ...] = ()
    promised_stream: int = 0
    block: HeaderBlockSpec | None = None
    fill: Fill | None = None  # DATA: a body of this size; HEADERS: a block padded to it

    def _body(self, context: TargetContext, peer: dict[int, int]) -> bytes:
        """The payload of every frame type but a DATA frame with a generated body."""
        t = self.type
        padding = self.padding.render(context) if self.padding is not None else None
        if t == fr.FrameType.DATA:
            data = self.data.render(context) if self.data is not None else b""
            return fr.data_payload(data, pad_length=self.pad_length, padding=padding)
        if t == fr.FrameType.HEADERS:
            block = (self.block or HeaderBlockSpec()).render(context)
            return fr.headers_payload(
                block, pad_length=self.pad_length, padding=padding, priority=self.priority
            )
        if t == fr.FrameType.PRIORITY:
            p = self.priority or fr.Priority()
            return fr.priority_fields(depends_on=p.depends_on, weight=p.weight, exclusive=p.exclusive)
        if t == fr.FrameType.RST_STREAM:
            return fr.rst_stream_payload(self.error or 0)
        if t == fr.FrameType.SETTINGS:
            return fr.settings_payload(self.settings)
        if t == fr.FrameType.PUSH_PROMISE:
            block = (self.block or HeaderBlockSpec()).render(context)
            return fr.push_promise_payload(self.promised_stream, block, pad_length=self.pad_length)
        if t == fr.FrameType.PING:
            return self.data.render(context) if self.data is not None else bytes(8)
        if t == fr.FrameType.GOAWAY:
            debug = self.debug.render(context) if self.debug is not None else b""
            return fr.goaway_payload(self.last_stream, self.error or 0, debug)
        if t == fr.FrameType.WINDOW_UPDATE:
            return fr.window_update_payload(
                self.increment if self.increment is not None else 1, reserved=self.increment_reserved
            )
        if t == fr.FrameType.CONTINUATION:
            return (self.block or HeaderBlockSpec()).render(context)
        return b""

    def _streamed(self, peer: dict[int, int]) -> Payload | None:
        """The generated payload written in pieces, when there is one."""
        if self.payload is not None:
            return self.payload
        if self.type == fr.FrameType.DATA and self.fill is not None:
            return Repeat(payload=Text(text="x"), count=self.fill.resolve(peer))
        if self.type == fr.FrameType.DATA and self.data is not None and self.pad_length is None:
            return self.data
        return None

    def _filled(self, context: TargetContext, peer: dict[int, int]) -> Payload | None:
        """A HEADERS or CONTINUATION frame's field block padded to ``fill`` (up to 16 MiB), as
        a payload written in pieces: the filler field's value is never built whole."""
        if self.fill is None or self.type not in (fr.FrameType.HEADERS, fr.FrameType.CONTINUATION):
            return None
        block = (self.block or HeaderBlockSpec()).render(context)
        prefix, room = _filled_parts(block, self.fill.resolve(peer))
        value = Repeat(payload=Text(text="a"), count=room)
        if self.type == fr.FrameType.CONTINUATION:
            return Concat(parts=(Raw(data=prefix), value))
        # As fr.headers_payload lays it out: [Pad Length] [priority] block [padding].
        head = fr.headers_payload(prefix, pad_length=self.pad_length, priority=self.priority)
        pad = bytes(self.pad_length) if self.pad_length is not None else b""
        return Concat(parts=(Raw(data=head[: len(head) - len(pad)]), value, Raw(data=pad)))

    def chunks(self, context: TargetContext, peer: dict[int, int] | None = None) -> Iterator[bytes]:
        """The frame in pieces; ``peer`` holds the target's settings (for ``fill``)."""
        peer = peer or {}
        streamed = self._filled(context, peer) or self._streamed(peer)
        if streamed is None:
            body = self._body(context, peer)
            yield self._header(len(body)) + body
            return
        size = sum(len(piece) for piece in chunks_of(streamed, context))
        yield self._header(size)
        yield from chunks_of(streamed, context)

    def _header(self, size: int) -> bytes:
        return fr.frame_header(
            length=size if self.length is None else self.length,
            frame_type=self.type,
            flags=self.flags,
            stream_id=self.stream,
            reserved=self.reserved,
        )

    def render(self, context: TargetContext) -> bytes:
        return b"".join(self.chunks(context))

    def describe(self) -> str:
        flags = fr.flag_names(self.type, self.flags)
        text = f"{fr.type_name(self.type)} frame"
        if self.stream:
            text += f" on stream {self.stream}"
        extras = list(flags)
        if self.error is not None:
            extras.append(f"error {fr.error_name(self.error)}")
        if self.length is not None:
            extras.append(f"declared length {self.length}")
        if self.reserved:
            extras.append("reserved bit set")
        return text + (f" ({', '.join(extras)})" if extras else "")


@dataclass(frozen=True, kw_only=True)
class H2Headers:
    """A HEADERS frame (and CONTINUATION frames when ``continuations`` > 0) carrying a request."""

    stream: int = 1
    flags: int = fr.Flag.END_STREAM | fr.Flag.END_HEADERS
    block: HeaderBlockSpec = field(default_factory=HeaderBlockSpec)
    pad_length: int | None = None
    priority: fr.Priority | None = None
    continuations: int = 0  # split the block over this many CONTINUATION frames
    count: int = 1  # this many requests, on streams stream, stream+2, ...
    count_over_limit: bool = False  # count is added to the target's SETTINGS_MAX_CONCURRENT_STREAMS
    reset: int | None = None  # follow each HEADERS with RST_STREAM of this error code
    fill: Fill | None = None  # pad the block to this size, split over CONTINUATION frames

    def chunks(self, context: TargetContext, peer: dict[int, int] | None = None) -> Iterator[bytes]:
        """The requests in pieces of at most a few hundred frames."""
        count = self.count
        if self.count_over_limit:
            limit = (peer or {}).get(fr.Setting.MAX_CONCURRENT_STREAMS)
            if limit is None or limit + count > 100_000:
                shown = (
                    "no SETTINGS_MAX_CONCURRENT_STREAMS (no limit)"
                    if limit is None
                    else f"a limit of {limit}"
                )
                raise NotApplicable(f"the target advertised {shown}: it cannot be exceeded here")
            count += limit
        batch: list[bytes] = []
        block = None
        if self.fill is not None:
            block = _filled_block(self.block.render(context), self.fill.resolve(peer or {}))
        frame_limit = (peer or {}).get(fr.Setting.MAX_FRAME_SIZE, fr.DEFAULT_MAX_FRAME_SIZE)
        for number in range(count):
            batch.append(self._one(context, self.stream + 2 * number, block, frame_limit))
            if self.reset is not None:
                batch.append(
                    fr.encode_frame(
                        fr.FrameType.RST_STREAM,
                        fr.rst_stream_payload(self.reset),
                        stream_id=self.stream + 2 * number,
                    )
                )
            if len(batch) >= 256:
                yield b"".join(batch)
                batch = []
        if batch:
            yield b"".join(batch)

    def render(self, context: TargetContext) -> bytes:
        return b"".join(self.chunks(context))

    def _one(
        self, context: TargetContext, stream: int, block: bytes | None = None, frame_limit: int = 0
    ) -> bytes:
        if block is None:
            block = self.block.render(context)
        continuations = self.continuations
        if frame_limit and len(block) > frame_limit - 300:  # a filled block: frames the target accepts
            continuations = max(continuations, -(-len(block) // (frame_limit - 300)))
        if not continuations:
            flags = self.flags | (fr.Flag.PADDED if self.pad_length is not None else 0)
            flags |= fr.Flag.PRIORITY if self.priority is not None else 0
            body = fr.headers_payload(block, pad_length=self.pad_length, priority=self.priority)
            return fr.encode_frame(fr.FrameType.HEADERS, body, flags=flags, stream_id=stream)
        pieces = continuations + 1
        size = max(1, -(-len(block) // pieces))
        fragments = [block[i * size : (i + 1) * size] for i in range(pieces)]
        first_flags = (self.flags & ~fr.Flag.END_HEADERS) | (
            fr.Flag.PADDED if self.pad_length is not None else 0
        )
        first_flags |= fr.Flag.PRIORITY if self.priority is not None else 0
        out = [
            fr.encode_frame(
                fr.FrameType.HEADERS,
                fr.headers_payload(fragments[0], pad_length=self.pad_length, priority=self.priority),
                flags=first_flags,
                stream_id=stream,
            )
        ]
        for number, fragment in enumerate(fragments[1:], start=1):
            last = number == len(fragments) - 1
            flags = fr.Flag.END_HEADERS if last and self.flags & fr.Flag.END_HEADERS else 0
            out.append(
                fr.encode_frame(fr.FrameType.CONTINUATION, fragment, flags=flags, stream_id=self.stream)
            )
        return b"".join(out)

    def describe(self) -> str:
        flags = fr.flag_names(fr.FrameType.HEADERS, self.flags)
        more = f" + {self.continuations} CONTINUATION" if self.continuations else ""
        if self.count != 1 or self.count_over_limit:
            more += f" × {'MAX_CONCURRENT_STREAMS+' if self.count_over_limit else ''}{self.count}"
        if self.reset is not None:
            more += f", each reset ({fr.error_name(self.reset)})"
        shown = ", ".join(flags) or "no flags"
        return f"HEADERS on stream {self.stream} ({shown}){more}: {self.block.describe()}"


@dataclass(frozen=True, kw_only=True)
class H2Body:
    """A request body sent the way a correct client sends it: DATA frames no larger than the
    target's SETTINGS_MAX_FRAME_SIZE, each within the flow-control windows the target gave
    (RFC 9113 §6.9.1), waiting for its WINDOW_UPDATEs when they are spent. The connection's
    session does the waiting (it knows the windows); rendered whole (``render``), the body is
    cut into frames of the default size, windows ignored."""

    stream: int = 1
    data: Payload = field(default_factory=lambda: Raw(data=b""))
    end_stream: bool = True

    def render(self, context: TargetContext) -> bytes:
        data = self.data.render(context)
        size = fr.DEFAULT_MAX_FRAME_SIZE
        starts = range(0, len(data), size) if data else range(1)
        return b"".join(
            fr.encode_frame(
                fr.FrameType.DATA,
                data[start : start + size],
                flags=fr.Flag.END_STREAM if self.end_stream and start + size >= len(data) else 0,
                stream_id=self.stream,
            )
            for start in starts
        )

    def describe(self) -> str:
        end = ", END_STREAM" if self.end_stream else ""
        return f"a body of {self.data.describe()} on stream {self.stream}, within the target's windows{end}"


def empty() -> Payload:
    return Raw(data=b"")


def _filled_block(block: bytes, size: int) -> bytes:
    """The block with a literal field (without indexing, no Huffman) appended so that the
    whole is at least ``size`` octets."""
    prefix, room = _filled_parts(block, size)
    return prefix + b"a" * room


def _filled_parts(block: bytes, size: int) -> tuple[bytes, int]:
    """:func:`_filled_block` in two parts: the block and the filler field up to its value,
    and how many octets of value (``a``) follow."""
    name = b"x-filler"

    def prefix(room: int) -> bytes:
        return hp.Literal(name=name, value=b"", huffman=False, value_length=room).encode()

    room = max(1, size - len(block) - 2 - len(name))
    while True:
        length = len(prefix(room)) + room
        over = len(block) + length - size
        if over <= 0 or room == 1:
            break
        room = max(1, room - over)
    if len(block) + length < size:  # the length prefix shrank: one more octet
        room += size - len(block) - length
    return block + prefix(room), room
