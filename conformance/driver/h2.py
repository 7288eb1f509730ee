"""HTTP/2 on a connection: the session (frames and header blocks as events, the server's
output checked) and the openings of the ``h2`` and ``h2c-upgrade`` connect modes.

The opening sends the preface and our SETTINGS, waits (within the step deadline) for the
server's SETTINGS and acknowledges it, but does not wait for the server to acknowledge
ours: a server that never does fails only the cases about that (RFC 9113 §3.4, §6.5.3).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from conformance.codecs import h2fields, h2hpack, http1
from conformance.codecs import h2frames as fr
from conformance.codecs.common import Event, Violation
from conformance.driver.openers import Opener, OpeningContext, OpeningFailed, register_opener
from conformance.driver.sessions import SESSIONS
from conformance.scenario.h2payloads import H2ConnectOptions
from conformance.scenario.payloads import Payload, chunks_of
from conformance.scenario.templates import TargetContext

#: Bytes kept of one header block being assembled across CONTINUATION frames.
BLOCK_CAP = 1 << 20
_HEAD_CAP = 64 * 1024  # bytes of an HTTP/1.1 upgrade response head


def _v(code: str, message: str) -> Violation:
    return Violation(code=code, message=message)


class _Outbound:
    """What we sent, as far as it matters to judging the server: our settings, our window
    increments, the streams we opened. Reads frame headers only; payloads other than those
    of SETTINGS, WINDOW_UPDATE and HEADERS are skipped, not kept."""

    def __init__(self) -> None:
        self.active = True  # False until the preface when an HTTP/1.1 upgrade comes first
        self._buffer = bytearray()
        self._skip = 0
        self._preface_checked = False
        self.frames: list[fr.Frame] = []

    def feed(self, data: bytes) -> list[fr.Frame]:
        if not self.active:
            if fr.PREFACE not in data:
                return []
            data = data[data.index(fr.PREFACE) :]
            self.active = True
        frames: list[fr.Frame] = []
        view = memoryview(data)
        if self._skip:
            n = min(self._skip, len(view))
            self._skip -= n
            view = view[n:]
        self._buffer += view
        if not self._preface_checked:
            if len(self._buffer) < len(fr.PREFACE) and fr.PREFACE.startswith(bytes(self._buffer)):
                return frames
            self._preface_checked = True
            if self._buffer.startswith(fr.PREFACE):
                del self._buffer[: len(fr.PREFACE)]
        while len(self._buffer) >= fr.FRAME_HEADER_SIZE:
            length = int.from_bytes(self._buffer[:3], "big")
            frame_type = self._buffer[3]
            if frame_type not in (fr.FrameType.SETTINGS, fr.FrameType.WINDOW_UPDATE, fr.FrameType.HEADERS):
                available = len(self._buffer) - fr.FRAME_HEADER_SIZE
                if available >= length:
                    del self._buffer[: fr.FRAME_HEADER_SIZE + length]
                    continue
                self._skip = length - available
                self._buffer.clear()
                break
            if length > 1 << 16:  # not a frame we can learn from: skip it
                available = len(self._buffer) - fr.FRAME_HEADER_SIZE
                self._skip = max(0, length - available)
                del self._buffer[: fr.FRAME_HEADER_SIZE + min(length, available)]
                continue
            if len(self._buffer) < fr.FRAME_HEADER_SIZE + length:
                break
            head = bytes(self._buffer[: fr.FRAME_HEADER_SIZE])
            payload = bytes(self._buffer[fr.FRAME_HEADER_SIZE : fr.FRAME_HEADER_SIZE + length])
            del self._buffer[: fr.FRAME_HEADER_SIZE + length]
            word = int.from_bytes(head[5:9], "big")
            frames.append(
                fr.parse_frame(frame_type, head[4], word & fr.STREAM_MASK, bool(word >> 31), length, payload)
            )
        return frames


class H2Session:
    """HTTP/2 on one connection: the server's frames and header blocks become events."""

    def __init__(self) -> None:
        self.frames = fr.FrameDecoder()
        self.blocks = h2hpack.BlockDecoder()
        self.outbound = _Outbound()
        self.ack_settings = True
        self._reply = bytearray()
        # The header block being assembled: (frame, fragments, size).
        self._block: tuple[fr.Frame, list[bytes], int] | None = None
        # Flow control of what the server sends us (§6.9): our windows.
        self._initial_window = fr.DEFAULT_WINDOW
        self._connection_window = fr.DEFAULT_WINDOW
        self._stream_windows: dict[int, int] = {}
        self._push_enabled = True
        self._opened: set[int] = set()
        self.server_settings: fr.SettingsFrame | None = None
        self.first_frame: fr.Frame | None = None
        # An HTTP/1.1 response head comes first on an h2c upgrade.
        self._upgrade_head: bytearray | None = None
        self.upgrade_response: http1.Response | None = None
        self._http1_only = False  # the upgrade was refused: the rest is HTTP/1.1
        self._responded: set[int] = set()  # streams with a final response (later HEADERS: trailers)

    # -- the h2c upgrade

    def begin_upgrade(self) -> None:
        """An HTTP/1.1 request with ``Upgrade: h2c`` goes first: read a response head before
        frames, and learn from what we send only from the preface on."""
        self._upgrade_head = bytearray()
        self.outbound.active = False
        self._opened.add(1)  # the upgrade request is stream 1 (RFC 7540 §3.2)

    def _read_upgrade(self, data: bytes) -> tuple[list[Event], bytes]:
        assert self._upgrade_head is not None
        self._upgrade_head += data
        end = self._upgrade_head.find(b"\r\n\r\n")
        if end < 0 and len(self._upgrade_head) < _HEAD_CAP:
            return [], b""
        cut = end + 4 if end >= 0 else len(self._upgrade_head)
        head, rest = bytes(self._upgrade_head[:cut]), bytes(self._upgrade_head[cut:])
        parser = http1.ResponseParser()
        events: list[Event] = list(parser.feed(head))
        responses = [e for e in events if isinstance(e, http1.Response)]
        self.upgrade_response = responses[0] if responses else None
        self._upgrade_head = None
        if self.upgrade_response is None or self.upgrade_response.status != 101:
            # Not switching: what follows is HTTP/1.1, not frames.
            events += list(parser.feed(rest))
            self._http1_only = True
            return events, b""
        return events, rest

    # -- Session

    def sent(self, data: bytes) -> None:
        for frame in self.outbound.feed(data):
            self._learn(frame)

    def _learn(self, frame: fr.Frame) -> None:
        """What our own frame changes about judging the server."""
        if isinstance(frame, fr.SettingsFrame) and not frame.flags & fr.Flag.ACK:
            for key, value in frame.settings:
                if key == fr.Setting.INITIAL_WINDOW_SIZE and value <= fr.MAX_WINDOW:
                    delta = value - self._initial_window
                    self._initial_window = value
                    for stream in self._stream_windows:
                        self._stream_windows[stream] += delta
                elif (
                    key == fr.Setting.MAX_FRAME_SIZE
                    and fr.DEFAULT_MAX_FRAME_SIZE <= value <= fr.MAX_FRAME_SIZE_LIMIT
                ):
                    self.frames.max_frame_size = max(self.frames.max_frame_size, value)
                elif key == fr.Setting.ENABLE_PUSH:
                    self._push_enabled = value != 0
                elif key == fr.Setting.HEADER_TABLE_SIZE:
                    self.blocks.set_max_table_size(max(value, 4096))
        elif isinstance(frame, fr.WindowUpdateFrame):
            if frame.stream_id == 0:
                self._connection_window += frame.increment
            elif frame.stream_id in self._stream_windows:
                self._stream_windows[frame.stream_id] += frame.increment
        elif isinstance(frame, fr.HeadersFrame) and frame.stream_id not in self._opened:
            self._opened.add(frame.stream_id)
            self._stream_windows.setdefault(frame.stream_id, self._initial_window)

    def receive(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        if self._http1_only:
            return []
        if self._upgrade_head is not None:
            head_events, data = self._read_upgrade(data)
            events += head_events
            if not data:
                return events
        for frame in self.frames.feed(data):
            events += self._on_frame(frame)
        return events

    def receive_eof(self) -> list[Event]:
        if self._block is not None:
            frame, _, _ = self._block
            self._block = None
            return [
                h2fields.HeaderBlock(
                    stream_id=frame.stream_id,
                    frame=frame.name,
                    error="the connection closed before the header block ended (no END_HEADERS)",
                )
            ]
        return []

    def outgoing(self) -> bytes:
        reply, self._reply = bytes(self._reply), bytearray()
        return reply

    def render(self, payload: Payload, context: TargetContext) -> bytes:
        return payload.render(context)

    def render_chunks(self, payload: Payload, context: TargetContext) -> Iterator[bytes]:
        return chunks_of(payload, context)

    # -- frames

    def _on_frame(self, frame: fr.Frame) -> list[Event]:
        found = list(frame.violations)
        events: list[Event] = []
        if self._block is not None and not isinstance(frame, fr.ContinuationFrame):
            found.append(
                _v(
                    "h2-continuation-expected",
                    f"{frame.name} while the header block of stream {self._block[0].stream_id} "
                    "was still open (§6.10: only CONTINUATION may follow)",
                )
            )
        if isinstance(frame, fr.SettingsFrame) and not frame.flags & fr.Flag.ACK:
            if self.server_settings is None:
                self.server_settings = frame
            if self.ack_settings:
                self._reply += fr.encode_frame(fr.FrameType.SETTINGS, flags=fr.Flag.ACK)
        elif isinstance(frame, fr.DataFrame):
            found += self._consume_window(frame)
            if frame.stream_id % 2 == 1 and frame.stream_id not in self._opened:
                found.append(
                    _v("h2-frame-on-idle-stream", f"DATA on stream {frame.stream_id}, never opened (§5.1)")
                )
        elif isinstance(frame, fr.PushPromiseFrame) and not self._push_enabled:
            found.append(_v("h2-push-disabled", "PUSH_PROMISE after we sent SETTINGS_ENABLE_PUSH=0 (§8.4)"))
        if (
            isinstance(frame, fr.HeadersFrame)
            and frame.stream_id % 2 == 1
            and frame.stream_id not in self._opened
        ):
            found.append(
                _v("h2-frame-on-idle-stream", f"HEADERS on stream {frame.stream_id}, never opened (§5.1)")
            )
        if found != list(frame.violations):
            frame = replace(frame, violations=tuple(found))
        if self.first_frame is None:
            self.first_frame = frame
        events.append(frame)
        if isinstance(frame, (fr.HeadersFrame, fr.PushPromiseFrame)):
            self._block = (frame, [frame.block], len(frame.block))
            if frame.flags & fr.Flag.END_HEADERS:
                events += self._end_block()
        elif isinstance(frame, fr.ContinuationFrame):
            if self._block is None or self._block[0].stream_id != frame.stream_id:
                found.append(
                    _v(
                        "h2-unexpected-continuation",
                        "CONTINUATION without an open header block on its stream (§6.10)",
                    )
                )
                events[-1] = replace(frame, violations=tuple(found))
            else:
                first, fragments, size = self._block
                if size + len(frame.block) <= BLOCK_CAP:
                    fragments.append(frame.block)
                self._block = (first, fragments, size + len(frame.block))
                if frame.flags & fr.Flag.END_HEADERS:
                    events += self._end_block()
        return events

    def _consume_window(self, frame: fr.DataFrame) -> list[Violation]:
        """§6.9.1: a sender MUST NOT send a flow-controlled frame beyond the receiver's window."""
        size = frame.length
        found = []
        self._connection_window -= size
        if self._connection_window < 0:
            found.append(
                _v(
                    "h2-data-beyond-window",
                    f"DATA beyond the connection flow-control window by {-self._connection_window} bytes"
                    " (§6.9.1)",
                )
            )
        if frame.stream_id in self._stream_windows:
            self._stream_windows[frame.stream_id] -= size
            if self._stream_windows[frame.stream_id] < 0:
                found.append(
                    _v(
                        "h2-data-beyond-window",
                        f"DATA beyond the window of stream {frame.stream_id} (§6.9.1)",
                    )
                )
        return found

    def _end_block(self) -> list[Event]:
        assert self._block is not None
        first, fragments, size = self._block
        self._block = None
        if size > BLOCK_CAP:
            return [
                h2fields.HeaderBlock(
                    stream_id=first.stream_id,
                    frame=first.name,
                    error=f"a {size}-byte header block, over the harness's cap",
                )
            ]
        fields, error = self.blocks.decode(b"".join(fragments))
        promised = first.promised_stream_id if isinstance(first, fr.PushPromiseFrame) else 0
        if isinstance(first, fr.PushPromiseFrame):
            violations = h2fields.request_violations(fields) if error is None else []
        else:
            trailers = first.stream_id in self._responded
            violations = h2fields.response_violations(fields, trailers=trailers) if error is None else []
            if error is None and not trailers:
                status = next((v for n, v in fields if n == b":status"), b"")
                if status[:1] != b"1":
                    self._responded.add(first.stream_id)
        if error is not None:
            violations = [
                _v(
                    "h2-hpack-error",
                    f"the header block on stream {first.stream_id} does not decode: {error}"
                    " (§4.3: COMPRESSION_ERROR)",
                )
            ]
        return [
            h2fields.HeaderBlock(
                stream_id=first.stream_id,
                frame=first.name,
                fields=fields,
                end_stream=bool(first.flags & fr.Flag.END_STREAM) and isinstance(first, fr.HeadersFrame),
                promised_stream_id=promised,
                error=error,
                violations=tuple(violations),
            )
        ]


SESSIONS["h2"] = H2Session


# ---------------------------------------------------------------- openings


def _options(ctx: OpeningContext) -> H2ConnectOptions:
    options = ctx.step.options
    return options if isinstance(options, H2ConnectOptions) else H2ConnectOptions()


def _session(ctx: OpeningContext) -> H2Session:
    session = ctx.connection.session
    if not isinstance(session, H2Session):  # pragma: no cover - h2 cases get H2 sessions
        raise OpeningFailed(expected="an HTTP/2 connection", observed="not an HTTP/2 session")
    return session


def _check_alpn(ctx: OpeningContext) -> None:
    """Over TLS, the target must have selected h2 by ALPN (RFC 9113 §3.2)."""
    transport = ctx.connection.transport
    if transport is None or not ctx.run.target.tls and ctx.step.mode != "tls":
        return
    negotiated = getattr(transport, "negotiatedProtocol", None)
    if negotiated is None and not hasattr(transport, "negotiatedProtocol"):
        return  # not a TLS transport
    if negotiated != b"h2":
        shown = negotiated.decode("ascii", "replace") if negotiated else "no protocol"
        raise OpeningFailed(
            expected="ALPN to select h2 (RFC 9113 §3.2)",
            observed=f"the target's TLS selected {shown}: it does not offer HTTP/2 over TLS",
            unimplemented=True,
        )


async def _wait_for(ctx: OpeningContext, ready: Any, what: str) -> None:
    """Wait until ``ready()`` is true, the connection ends, or the step deadline passes."""
    connection = ctx.connection
    deadline = ctx.run.reactor.seconds() + ctx.run.step_timeout
    while not ready() and not connection.ended:
        left = deadline - ctx.run.reactor.seconds()
        if left <= 0:
            break
        await connection.changed(left)


async def _exchange_settings(ctx: OpeningContext, session: H2Session, options: H2ConnectOptions) -> int:
    """Wait for the server's SETTINGS; the events up to it are the opening's."""
    await _wait_for(ctx, lambda: session.first_frame is not None, "the server's SETTINGS")
    first = session.first_frame
    expected = "the server's connection preface: a SETTINGS frame first (RFC 9113 §3.4)"
    if first is None:
        observed = (
            "the connection closed" if ctx.connection.ended else f"nothing within {ctx.run.step_timeout:g} s"
        )
        events = [e for e in ctx.connection.events if not isinstance(e, fr.Frame)]
        if events:
            observed = events[0].describe()
        raise OpeningFailed(expected=expected, observed=observed)
    if not isinstance(first, fr.SettingsFrame) or first.flags & fr.Flag.ACK:
        raise OpeningFailed(expected=expected, observed=f"{first.describe()} first")
    return next((i + 1 for i, event in enumerate(ctx.connection.events) if event is first), None) or 0


async def _open_h2(ctx: OpeningContext) -> int | None:
    options = _options(ctx)
    session = _session(ctx)
    session.ack_settings = options.ack_settings
    _check_alpn(ctx)
    if not options.preface:
        return None
    ctx.connection.write(
        fr.PREFACE + fr.encode_frame(fr.FrameType.SETTINGS, fr.settings_payload(options.settings))
    )
    if options.wait_settings:
        return await _exchange_settings(ctx, session, options)
    return None


async def _open_h2c_upgrade(ctx: OpeningContext) -> int | None:
    """RFC 7540 §3.2 (removed from RFC 9113 §3.1, which leaves it to the server to offer):
    a GET with ``Upgrade: h2c`` and ``HTTP2-Settings``; a server that answers without 101
    does not offer h2c upgrades (UNIMPLEMENTED)."""
    options = _options(ctx)
    session = _session(ctx)
    session.ack_settings = options.ack_settings
    session.begin_upgrade()
    context = ctx.run.target.context()
    settings = base64.urlsafe_b64encode(fr.settings_payload(options.settings)).rstrip(b"=")
    request = (
        (
            f"GET {context.path} HTTP/1.1\r\nHost: {context.authority}\r\n"
            "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
        ).encode("latin-1")
        + b"HTTP2-Settings: "
        + settings
        + b"\r\n\r\n"
    )
    ctx.connection.write(request)
    await _wait_for(ctx, lambda: session.upgrade_response is not None, "the upgrade response")
    response = session.upgrade_response
    if response is None:
        observed = (
            "the connection closed"
            if ctx.connection.ended
            else f"no response within {ctx.run.step_timeout:g} s"
        )
        raise OpeningFailed(expected="HTTP/1.1 101 Switching Protocols to h2c", observed=observed)
    if response.status != 101:
        raise OpeningFailed(
            expected="HTTP/1.1 101 Switching Protocols to h2c",
            observed=f"{response.describe()}: the target does not upgrade to h2c",
            unimplemented=True,
        )
    upgrade = (response.header("Upgrade") or "").strip().lower()
    if upgrade != "h2c":
        raise OpeningFailed(
            expected="101 with Upgrade: h2c",
            observed=response.describe() + f" with Upgrade: {upgrade or '(none)'}",
        )
    ctx.connection.write(
        fr.PREFACE + fr.encode_frame(fr.FrameType.SETTINGS, fr.settings_payload(options.settings))
    )
    if options.wait_settings:
        return await _exchange_settings(ctx, session, options)
    return None


register_opener("h2", Opener(open=_open_h2, alpn=("h2",)))
register_opener("h2c-upgrade", Opener(open=_open_h2c_upgrade))
