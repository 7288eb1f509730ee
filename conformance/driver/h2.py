"""HTTP/2 on a connection: the session (frames and header blocks as events, the server's
output checked) and the openings of the ``h2`` and ``h2c-upgrade`` connect modes.

The opening sends the preface and our SETTINGS, waits (within the step deadline) for the
server's SETTINGS and acknowledges it, but does not wait for the server to acknowledge
ours: a server that never does fails only the cases about that (RFC 9113 §3.4, §6.5.3).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import hpack

from conformance.codecs import h2fields, h2hpack, http1
from conformance.codecs import h2frames as fr
from conformance.codecs.common import Event, Violation
from conformance.driver.openers import (
    APPLICABILITY,
    Opener,
    OpeningContext,
    OpeningFailed,
    connect_steps,
    register_opener,
)
from conformance.driver.sessions import SESSIONS, Pause
from conformance.scenario import model
from conformance.scenario.h2payloads import H2Body, H2ConnectOptions, H2Frame, H2Headers
from conformance.scenario.payloads import Payload, chunks_of
from conformance.scenario.templates import TargetContext
from conformance.target import Target

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
        self.preface_sent = False  # our connection preface has gone out
        self.frames: list[fr.Frame] = []
        # Flow-controlled octets we sent (§6.9.1): DATA frame payloads, per stream and in all.
        self.data_sent: dict[int, int] = {}
        self.data_sent_total = 0

    def feed(self, data: bytes) -> list[fr.Frame]:
        if not self.active:
            if fr.PREFACE not in data:
                return []
            data = data[data.index(fr.PREFACE) :]
            self.active = True
            self.preface_sent = True
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
            self.preface_sent = True  # or the case sends no preface at all: frames from here
        buffer = self._buffer
        pos = 0  # consumed up to here; the buffer is cut once, at the end (floods are long)
        learn = (fr.FrameType.SETTINGS, fr.FrameType.WINDOW_UPDATE, fr.FrameType.HEADERS)
        while len(buffer) - pos >= fr.FRAME_HEADER_SIZE:
            length = int.from_bytes(buffer[pos : pos + 3], "big")
            frame_type = buffer[pos + 3]
            available = len(buffer) - pos - fr.FRAME_HEADER_SIZE
            if frame_type == fr.FrameType.DATA:
                stream = int.from_bytes(buffer[pos + 5 : pos + 9], "big") & fr.STREAM_MASK
                self.data_sent[stream] = self.data_sent.get(stream, 0) + length
                self.data_sent_total += length
            if frame_type not in learn or length > 1 << 16:  # nothing to learn: skip the payload
                if available >= length:
                    pos += fr.FRAME_HEADER_SIZE + length
                    continue
                self._skip = length - available
                pos = len(buffer)
                break
            if available < length:
                break
            flags = buffer[pos + 4]
            word = int.from_bytes(buffer[pos + 5 : pos + 9], "big")
            body = pos + fr.FRAME_HEADER_SIZE
            if frame_type == fr.FrameType.SETTINGS and (flags & fr.Flag.ACK or not length):
                pass  # an acknowledgement or an empty SETTINGS changes nothing
            else:
                payload = bytes(buffer[body : body + length])
                frames.append(
                    fr.parse_frame(
                        frame_type, flags, word & fr.STREAM_MASK, bool(word >> 31), length, payload
                    )
                )
            pos = body + length
        del buffer[:pos]
        return frames


@dataclass(frozen=True)
class UpgradeHead:
    """The status line and fields of the HTTP/1.1 answer to an upgrade request."""

    status: int | None
    text: str
    fields: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, head: bytes) -> UpgradeHead:
        lines = head.decode("latin-1").split("\r\n")
        match = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
        fields = tuple(
            (name.strip(), value.strip())
            for name, sep, value in (line.partition(":") for line in lines[1:])
            if sep
        )
        return cls(status=int(match.group(1)) if match else None, text=lines[0][:80], fields=fields)

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.fields if key.lower() == name.lower()]
        return ", ".join(values) if values else None

    def describe(self) -> str:
        return self.text or "an empty response head"


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
        self.peer_settings: dict[int, int] = {}  # the target's settings, as last sent
        self.first_frame: fr.Frame | None = None
        # An HTTP/1.1 response head comes first on an h2c upgrade.
        self._upgrade_head: bytearray | None = None
        self.upgrade_head: UpgradeHead | None = None
        self._http1: http1.ResponseParser | None = None
        self._http1_only = False  # the upgrade was refused: the rest is HTTP/1.1
        self._seen_bytes = False
        self._responded: set[int] = set()  # streams with a final response (later HEADERS: trailers)
        # RFC 7541 §4.2: after we lower SETTINGS_HEADER_TABLE_SIZE and the server acknowledges
        # it, its next field block must start with a dynamic table size update.
        self._sent_table_sizes: list[int] = []  # in the SETTINGS frame being scanned
        self._unacked: list[int | None] = []  # per SETTINGS of ours not yet acknowledged
        self._table_size = 4096
        self._size_update_due: int | None = None
        # RFC 9113 §8.1.1: a response's content-length must equal its DATA.
        self._own_blocks = h2hpack.BlockDecoder()
        self._methods: dict[int, bytes] = {}
        self._content_length: dict[int, int | None] = {}
        self._data_received: dict[int, int] = {}
        self._no_content: set[int] = set()
        # Flow control of what we send (§6.9): the server's WINDOW_UPDATEs and resets.
        self._granted_connection = 0
        self._granted: dict[int, int] = {}
        self._reset_by_server: set[int] = set()
        self._goaway: fr.GoAwayFrame | None = None  # the server's last GOAWAY

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
        self._upgrade_head = None
        self.upgrade_head = UpgradeHead.parse(head)
        self._http1 = http1.ResponseParser()
        if self.upgrade_head.status != 101:
            # Not switching: what follows is HTTP/1.1 (its response events), not frames.
            self._http1_only = True
            return list(self._http1.feed(head + rest)), b""
        return list(self._http1.feed(head)), rest

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
                    self._sent_table_sizes.append(value)
        elif isinstance(frame, fr.WindowUpdateFrame):
            if frame.stream_id == 0:
                self._connection_window += frame.increment
            elif frame.stream_id in self._stream_windows:
                self._stream_windows[frame.stream_id] += frame.increment
        if isinstance(frame, fr.SettingsFrame) and not frame.flags & fr.Flag.ACK:
            self._unacked.append(self._sent_table_sizes[-1] if self._sent_table_sizes else None)
            self._sent_table_sizes.clear()
        elif isinstance(frame, fr.HeadersFrame) and frame.stream_id not in self._opened:
            self._opened.add(frame.stream_id)
            self._stream_windows.setdefault(frame.stream_id, self._initial_window)
            if frame.flags & fr.Flag.END_HEADERS:  # our own request's method (HEAD has no content)
                fields, error = self._own_blocks.decode(frame.block)
                if error is None:
                    self._methods[frame.stream_id] = dict(fields).get(b":method", b"")

    def receive(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        if self._http1_only:
            return list(self._http1.feed(data)) if self._http1 is not None else []
        if (
            self._upgrade_head is None
            and not self._seen_bytes
            and data[:7] in (b"HTTP/1."[: len(data)], b"HTTP/1.")
        ):
            # An HTTP/1.x answer instead of frames (a server that took our bytes for HTTP/1.1):
            # show the response, not garbage frames.
            self._upgrade_head = bytearray()
        self._seen_bytes = True
        if self._upgrade_head is not None:
            head_events, data = self._read_upgrade(data)
            events += head_events
            if not data:
                return events
        for frame in self.frames.feed(data):
            events += self._on_frame(frame)
        return events

    def receive_eof(self) -> list[Event]:
        if self._http1_only and self._http1 is not None:
            return list(self._http1.feed_eof())
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
        """Automatic replies (SETTINGS ACKs), held until our connection preface has gone out:
        nothing may precede it (RFC 9113 §3.4)."""
        if not self.outbound.preface_sent:
            return b""
        reply, self._reply = bytes(self._reply), bytearray()
        return reply

    def render(self, payload: Payload, context: TargetContext) -> bytes:
        return b"".join(self.render_chunks(payload, context))

    def render_chunks(self, payload: Payload, context: TargetContext) -> Iterator[bytes | Pause]:
        if isinstance(payload, (H2Frame, H2Headers)):  # may size itself by the target's settings
            return payload.chunks(context, self.peer_settings)
        if isinstance(payload, H2Body):
            return self._body_frames(payload, context)
        return chunks_of(payload, context)

    # -- flow control of what we send (§6.9)

    def send_window(self, stream: int) -> int:
        """The smaller of the connection window and ``stream``'s window the server gives us:
        its initial values (§6.9.2, the server's SETTINGS_INITIAL_WINDOW_SIZE for streams),
        plus its WINDOW_UPDATEs, minus the DATA we sent."""
        sent = self.outbound
        connection = fr.DEFAULT_WINDOW + self._granted_connection - sent.data_sent_total
        initial = self.peer_settings.get(fr.Setting.INITIAL_WINDOW_SIZE, fr.DEFAULT_WINDOW)
        own = initial + self._granted.get(stream, 0) - sent.data_sent.get(stream, 0)
        return min(connection, own)

    def _stopped(self, stream: int) -> bool:
        """The server reset the stream, or its GOAWAY ends it (an error, or a last stream
        below it, §6.8): nothing more is sent on it."""
        goaway = self._goaway
        ended = goaway is not None and (goaway.error_code != 0 or goaway.last_stream_id < stream)
        return ended or stream in self._reset_by_server

    def _body_frames(self, body: H2Body, context: TargetContext) -> Iterator[bytes | Pause]:
        """https://www.rfc-editor.org/rfc/rfc9113#section-6.9.1: a sender MUST NOT send a
        flow-controlled frame beyond the space in either window; it waits for WINDOW_UPDATE.
        Frames stay within the server's SETTINGS_MAX_FRAME_SIZE (§4.2). Sending stops when
        the server resets the stream or sends GOAWAY."""
        data = memoryview(body.data.render(context))
        stream = body.stream
        position = 0
        while True:
            if self._stopped(stream):
                return
            left = len(data) - position
            size = min(
                left,
                self.peer_settings.get(fr.Setting.MAX_FRAME_SIZE, fr.DEFAULT_MAX_FRAME_SIZE),
                self.send_window(stream),
            )
            if size <= 0 and left:
                yield Pause(
                    ready=lambda: self.send_window(stream) > 0 or self._stopped(stream),
                    waiting_for=f"the server's WINDOW_UPDATE (stream {stream} or the connection)",
                )
                continue
            last = position + size == len(data)
            flags = fr.Flag.END_STREAM if last and body.end_stream else 0
            yield fr.encode_frame(
                fr.FrameType.DATA, bytes(data[position : position + size]), flags=flags, stream_id=stream
            )
            position += size
            if last:
                return

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
        if isinstance(frame, fr.SettingsFrame) and frame.flags & fr.Flag.ACK and self._unacked:
            size = self._unacked.pop(0)
            if size is not None:
                if size < self._table_size:
                    self._size_update_due = size
                self._table_size = size
                # Lowering is checked below (a missing size update stays a finding, and later
                # blocks stay decodable); raising lets the server use the larger table.
                self.blocks.set_max_table_size(max(size, 4096))
        if isinstance(frame, fr.SettingsFrame) and not frame.flags & fr.Flag.ACK:
            if self.server_settings is None:
                self.server_settings = frame
            self.peer_settings.update(frame.settings)
            if self.ack_settings:
                self._reply += fr.encode_frame(fr.FrameType.SETTINGS, flags=fr.Flag.ACK)
        elif isinstance(frame, fr.DataFrame):
            found += self._consume_window(frame)
            found += self._count_content(
                frame.stream_id, len(frame.data) + frame.truncated, frame.flags & fr.Flag.END_STREAM
            )
            if frame.stream_id % 2 == 1 and frame.stream_id not in self._opened:
                found.append(
                    _v("h2-frame-on-idle-stream", f"DATA on stream {frame.stream_id}, never opened (§5.1)")
                )
        elif isinstance(frame, fr.WindowUpdateFrame):
            if frame.stream_id == 0:
                self._granted_connection += frame.increment
            else:
                self._granted[frame.stream_id] = self._granted.get(frame.stream_id, 0) + frame.increment
        elif isinstance(frame, fr.RstStreamFrame):
            self._reset_by_server.add(frame.stream_id)
        elif isinstance(frame, fr.GoAwayFrame):
            self._goaway = frame
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
        block = b"".join(fragments)
        early: list[Violation] = []
        if self._size_update_due is not None:
            due, self._size_update_due = self._size_update_due, None
            update = _size_update(block)
            if update is None or update > due:
                early.append(
                    _v(
                        "hpack-missing-size-update",
                        f"the first field block after our SETTINGS_HEADER_TABLE_SIZE={due} does not"
                        " start with a dynamic table size update (RFC 7541 §4.2)",
                    )
                )
        fields, error = self.blocks.decode(block)
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
                    self._expect_content(first.stream_id, status, fields)
            if error is None and first.flags & fr.Flag.END_STREAM:
                violations += self._count_content(first.stream_id, 0, True)
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
                violations=tuple(early + violations),
            )
        ]

    def _expect_content(self, stream: int, status: bytes, fields: tuple[tuple[bytes, bytes], ...]) -> None:
        """Note the content-length a final response declares, when its DATA must match it."""
        values = [value for name, value in fields if name == b"content-length"]
        self._data_received[stream] = 0
        if status in (b"204", b"304") or self._methods.get(stream) == b"HEAD":
            self._no_content.add(stream)  # no content, whatever content-length says
            self._content_length[stream] = 0
        elif values and values[0].strip().isdigit():
            self._content_length[stream] = int(values[0])
        else:
            self._content_length[stream] = None

    def _count_content(self, stream: int, size: int, end: int | bool) -> list[Violation]:
        if self._content_length.get(stream) is None:
            return []
        self._data_received[stream] = self._data_received.get(stream, 0) + size
        if not end:
            return []
        declared = self._content_length.pop(stream)
        got = self._data_received.pop(stream)
        if declared is None or got == declared:
            return []
        if stream in self._no_content:
            self._no_content.discard(stream)
            return [
                _v(
                    "h2-content-in-no-content-response",
                    f"the response on stream {stream} (to HEAD, or 204/304) carries {got} octets of"
                    " DATA: it has no content (RFC 9110 §6.4.1, RFC 9113 §8.1.1)",
                )
            ]
        return [
            _v(
                "h2-content-length-mismatch",
                f"the response on stream {stream} declares content-length {declared} but carries"
                f" {got} octets of DATA (RFC 9113 §8.1.1: malformed)",
            )
        ]


def _size_update(block: bytes) -> int | None:
    """The value of the dynamic table size update a field block starts with, if it does."""
    if not block or block[0] & 0xE0 != 0x20:
        return None
    try:
        value, _ = hpack.hpack.decode_integer(block, 5)
    except Exception:  # an unreadable integer: no valid size update
        return None
    return int(value)


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


def _check_alpn(ctx: OpeningContext, *, peer: str = "target") -> None:
    """Over TLS, ALPN must have selected h2 (RFC 9113 §3.2): a target that does not offer it,
    or a client (client mode, ``--tls``) that does not ask for it, speaks no HTTP/2 there,
    which leaves the case nothing to judge."""
    transport = ctx.connection.transport
    if transport is None or not ctx.run.target.tls and getattr(ctx.step, "mode", None) != "tls":
        return
    negotiated = getattr(transport, "negotiatedProtocol", None)
    if negotiated is None and not hasattr(transport, "negotiatedProtocol"):
        return  # not a TLS transport
    if negotiated != b"h2":
        shown = negotiated.decode("ascii", "replace") if negotiated else "no protocol"
        why = (
            "it does not offer HTTP/2 over TLS"
            if peer == "target"
            else "it did not ask for HTTP/2 over TLS (curl: --http2; httpx: http2=True)"
        )
        raise OpeningFailed(
            expected="ALPN to select h2 (RFC 9113 §3.2)",
            observed=f"the {peer}'s TLS selected {shown}: {why}",
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
    await _wait_for(ctx, lambda: session.upgrade_head is not None, "the upgrade response")
    response = session.upgrade_head
    if response is None:
        if ctx.connection.ended:  # a prior-knowledge-only server takes the request for a bad preface
            raise OpeningFailed(
                expected="HTTP/1.1 101 Switching Protocols to h2c",
                observed="the target closed the connection without an HTTP/1.1 response: "
                "it does not offer h2c upgrades",
                unimplemented=True,
            )
        raise OpeningFailed(
            expected="HTTP/1.1 101 Switching Protocols to h2c",
            observed=f"no response within {ctx.run.step_timeout:g} s",
        )
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
    held = session.outgoing()  # a SETTINGS ACK for a SETTINGS that came with the 101
    if held:
        ctx.connection.write(held)
    if options.wait_settings:
        return await _exchange_settings(ctx, session, options)
    # The steps see everything after the 101 (the server's preface among it).
    return next(
        (i + 1 for i, event in enumerate(ctx.connection.events) if isinstance(event, http1.Response)), None
    )


register_opener("h2", Opener(open=_open_h2, alpn=("h2",)))


def upgrade_over_tls(case: model.Case, target: Target) -> str | None:
    """RFC 9113 §3.2 (RFC 7540 §3.2): the h2c upgrade is for cleartext; over TLS HTTP/2 is
    chosen by ALPN, so a case that upgrades is SKIPPED against an https:// target."""
    if target.tls and any(step.mode == "h2c-upgrade" for step in connect_steps(case)):
        return (
            "the h2c upgrade is for cleartext (http://, h2c://) targets; this one is reached over "
            "TLS, where HTTP/2 is chosen by ALPN (RFC 9113 §3.2)"
        )
    return None


register_opener("h2c-upgrade", Opener(open=_open_h2c_upgrade, alpn=("http/1.1",)))
APPLICABILITY.append(upgrade_over_tls)
