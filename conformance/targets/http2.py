"""The reference target's HTTP/2 server: the ``h2`` library over Twisted, made strict.

h2 keeps the connection's state (stream states, flow-control windows, HPACK, SETTINGS) and
already rejects most of what RFC 9113 forbids, answering with the right GOAWAY or
RST_STREAM. Where it is more lenient than the RFC, or harsher than it needs to be, this
module adds the check or softens the answer:

- a new stream beyond ``SETTINGS_MAX_CONCURRENT_STREAMS`` is refused with a stream error
  (RST_STREAM REFUSED_STREAM, §5.1.2), not a connection error: the header block is still
  decoded so the HPACK context stays in step;
- WebSocket over HTTP/2 (RFC 8441): SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 is advertised and an
  extended CONNECT opens a WebSocket echo on its stream (:mod:`conformance.targets.ws_h2`);
- a PUSH_PROMISE from a client is a connection error (§8.4: only servers push);
- resource-exhaustion defences (§10.5): too many streams reset by the client, too many
  SETTINGS or PING frames, too many empty frames end the connection with ENHANCE_YOUR_CALM.

The answers come from :mod:`conformance.targets.resources`, shared with HTTP/1.1. Plain
prior-knowledge connections (h2c) and TLS with ALPN ``h2`` use the same protocol;
:func:`self_signed_tls_options` makes the certificate the TLS port serves.
"""

from __future__ import annotations

import contextlib
import datetime
import email.utils
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
import hpack
from h2.errors import ErrorCodes
from hyperframe.frame import Frame, GoAwayFrame, HeadersFrame, PushPromiseFrame
from twisted.internet import defer, protocol
from twisted.python.failure import Failure

from conformance.targets import resources, ws_h2

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
# https://www.rfc-editor.org/rfc/rfc9110#section-5.6.2: token = 1*tchar
TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
MAX_CONCURRENT_STREAMS = 100
INITIAL_WINDOW_SIZE = 65_535
WINDOW_REFILL = 65_535  # what a connection window used up gets back
MAX_HEADER_LIST_SIZE = 64 * 1024  # the decoded header section we accept (HPACK bomb cap)
BODY_CAP = 16 * 1024 * 1024  # a larger request body is answered 413
# https://www.rfc-editor.org/rfc/rfc9113#section-10.5: flood limits per connection
RESET_CAP = 100  # RST_STREAM frames (rapid reset, CVE-2023-44487)
CONTROL_FRAME_CAP = 200  # SETTINGS and PING frames, each of which makes us answer
EMPTY_FRAME_CAP = 100  # DATA frames without content or END_STREAM
LINGER_SECONDS = 1.0  # after a GOAWAY for an error, how long to wait before closing


class _Connection(h2.connection.H2Connection):
    """h2's connection with the few rules it leaves out, and counters for flood defences."""

    def __init__(self, config: h2.config.H2Configuration) -> None:
        super().__init__(config=config)
        self.refused: set[int] = set()
        self._refusing = False

    @property  # type: ignore[override]
    def open_inbound_streams(self) -> int:
        # While a stream over the limit is being let in (to be refused), h2's own check
        # (a connection error) must not fire.
        return 0 if self._refusing else super().open_inbound_streams

    def _receive_frame(self, frame: Frame) -> list[h2.events.Event]:
        if isinstance(frame, PushPromiseFrame):
            # https://www.rfc-editor.org/rfc/rfc9113#section-8.4: a client cannot push; a
            # PUSH_PROMISE it sends is a connection error of type PROTOCOL_ERROR.
            raise h2.exceptions.ProtocolError("a client sent PUSH_PROMISE")
        return super()._receive_frame(frame)

    def _receive_headers_frame(self, frame: HeadersFrame) -> tuple[list[Frame], list[h2.events.Event]]:
        try:
            return self._receive_headers_or_refuse(frame)
        except h2.exceptions.ProtocolError as error:
            # https://www.rfc-editor.org/rfc/rfc9113#section-4.3: a field block that cannot
            # be decoded is a connection error of type COMPRESSION_ERROR (h2 says
            # PROTOCOL_ERROR). Oversized blocks (DenialOfServiceError) keep their code.
            if isinstance(error.__cause__, hpack.HPACKError) and not isinstance(
                error, h2.exceptions.DenialOfServiceError
            ):
                raise CompressionError(str(error)) from error
            raise

    def _receive_headers_or_refuse(self, frame: HeadersFrame) -> tuple[list[Frame], list[h2.events.Event]]:
        new = frame.stream_id not in self.streams and frame.stream_id > self.highest_inbound_stream_id
        over = new and frame.stream_id % 2 == 1 and super().open_inbound_streams >= MAX_CONCURRENT_STREAMS
        if not over:
            return super()._receive_headers_frame(frame)
        # https://www.rfc-editor.org/rfc/rfc9113#section-5.1.2: a HEADERS frame that would
        # exceed our advertised limit is a stream error of type PROTOCOL_ERROR or
        # REFUSED_STREAM (REFUSED_STREAM tells the client it may retry). The stream is let
        # in first so that its header block is decoded (§4.3) and its id counts as used.
        self._refusing = True
        try:
            frames, events = super()._receive_headers_frame(frame)
        finally:
            self._refusing = False
        self.refused.add(frame.stream_id)
        self._prepare_for_sending(frames)
        self.reset_stream(frame.stream_id, ErrorCodes.REFUSED_STREAM)
        return [], [e for e in events if getattr(e, "stream_id", None) != frame.stream_id]


#: what h2 raises when we answer a stream that is no longer there
STREAM_GONE = (
    h2.exceptions.StreamClosedError,
    h2.exceptions.StreamIDTooLowError,
    h2.exceptions.NoSuchStreamError,
)


class CompressionError(h2.exceptions.ProtocolError):
    """A header block that HPACK cannot decode (RFC 9113 §4.3)."""

    error_code = ErrorCodes.COMPRESSION_ERROR


class FrameSizeError(h2.exceptions.ProtocolError):
    error_code = ErrorCodes.FRAME_SIZE_ERROR


# frame types the filter looks at (RFC 9113 §6, RFC 7838 §4, RFC 9218 §7.1)
_DATA, _HEADERS, _RST_STREAM, _SETTINGS, _PUSH_PROMISE, _PING = 0x0, 0x1, 0x3, 0x4, 0x5, 0x6
_GOAWAY, _WINDOW_UPDATE, _CONTINUATION = 0x7, 0x8, 0x9
_ALTSVC, _PRIORITY_UPDATE = 0xA, 0x10
_ACK, _END_STREAM, _END_HEADERS = 0x1, 0x1, 0x4


class FrameFilter:
    """What the server checks on each complete frame before h2 sees it: the rules h2 leaves
    out or answers with another code, and the frames h2 must not see.

    :meth:`admit` returns the payload h2 gets (None: h2 does not see the frame), or raises
    the ProtocolError to answer with. Sans-IO: it sees frames as (type, flags, stream,
    payload)."""

    def __init__(self) -> None:
        self.first = True  # the next frame is the first after the preface
        self.in_field_block = False  # HEADERS without END_HEADERS seen, CONTINUATION due
        self.client_goaway = False
        self.resets = self.control_frames = self.empty_frames = 0
        self.highest_stream = 0  # the highest stream a client HEADERS frame has named

    def admit(self, frame_type: int, flags: int, stream_id: int, payload: bytes) -> bytes | None:
        if self.first:
            self.first = False
            if frame_type != _SETTINGS or flags & _ACK:
                # https://www.rfc-editor.org/rfc/rfc9113#section-3.4: the client preface
                # ends with a SETTINGS frame; anything else is a PROTOCOL_ERROR.
                raise h2.exceptions.ProtocolError("the first frame is not SETTINGS")
        self._count(frame_type, flags, payload)
        if frame_type == _HEADERS and stream_id % 2:
            self.highest_stream = max(self.highest_stream, stream_id)
        if self.in_field_block:
            # h2 itself rejects any frame in the middle of a field block (§6.10).
            self.in_field_block = not (frame_type == _CONTINUATION and flags & _END_HEADERS)
            return payload
        if frame_type in (_HEADERS, _PUSH_PROMISE) and not flags & _END_HEADERS:
            self.in_field_block = True
            return payload
        if frame_type == _RST_STREAM and stream_id % 2 and stream_id > self.highest_stream:
            # https://www.rfc-editor.org/rfc/rfc9113#section-6.4: RST_STREAM on an idle stream
            # is a PROTOCOL_ERROR; h2 takes one numbered above an opened stream for a reset
            # of a closed stream (§5.1.1 closes only the idle streams below a new one).
            raise h2.exceptions.ProtocolError("RST_STREAM on an idle stream")
        if frame_type == _SETTINGS and flags & _ACK and payload:
            # https://www.rfc-editor.org/rfc/rfc9113#section-6.5: a SETTINGS ACK with a
            # payload is a connection error of type FRAME_SIZE_ERROR (h2 says PROTOCOL_ERROR).
            raise FrameSizeError("SETTINGS ACK with a payload")
        if frame_type == _GOAWAY:
            # https://www.rfc-editor.org/rfc/rfc9113#section-6.8: the client's GOAWAY says
            # it opens no more streams; the requests it has sent are still answered, and
            # the client closes the connection when it is done. h2 would close its state
            # machine at once and answer nothing more, so it never sees the frame.
            if stream_id != 0:
                raise h2.exceptions.ProtocolError("GOAWAY on a stream")
            if len(payload) < 8:
                raise FrameSizeError("GOAWAY shorter than 8 octets")
            self.client_goaway = True
            return None
        if frame_type == _WINDOW_UPDATE and len(payload) == 4 and payload[0] & 0x80:
            # https://www.rfc-editor.org/rfc/rfc9113#section-6.9: the reserved bit of the
            # increment MUST be ignored (hyperframe reads it as part of the increment).
            return bytes([payload[0] & 0x7F]) + payload[1:]
        if frame_type == _ALTSVC:
            # https://www.rfc-editor.org/rfc/rfc7838#section-4: an ALTSVC frame from a
            # client MUST be ignored (h2 parses it, and fails on a malformed one).
            return None
        if frame_type == _PRIORITY_UPDATE:
            # https://www.rfc-editor.org/rfc/rfc9218#section-7.1: PRIORITY_UPDATE is sent on
            # stream 0, about a stream other than 0; either mistake is a PROTOCOL_ERROR. (This
            # server parses the frame and keeps no priorities, which RFC 9218 allows.)
            if stream_id != 0:
                raise h2.exceptions.ProtocolError("PRIORITY_UPDATE on a stream")
            if len(payload) < 4:
                raise FrameSizeError("PRIORITY_UPDATE too short")
            if int.from_bytes(payload[:4], "big") & 0x7FFF_FFFF == 0:
                raise h2.exceptions.ProtocolError("PRIORITY_UPDATE about stream 0")
        return payload

    def _count(self, frame_type: int, flags: int, payload: bytes) -> None:
        """https://www.rfc-editor.org/rfc/rfc9113#section-10.5: frames that cost the server
        work the client does not pay for are limited per connection; past a limit the
        connection ends with ENHANCE_YOUR_CALM."""
        if frame_type == _RST_STREAM:
            # Rapid reset: every reset counts, also of a stream answered already.
            self.resets += 1
            if self.resets > RESET_CAP:
                raise h2.exceptions.DenialOfServiceError("rapid reset")
        elif frame_type in (_SETTINGS, _PING) and not flags & _ACK:
            self.control_frames += 1  # each one makes us answer
            if self.control_frames > CONTROL_FRAME_CAP:
                raise h2.exceptions.DenialOfServiceError("SETTINGS or PING flood")
        elif frame_type == _DATA and not flags & _END_STREAM and not payload:
            self.empty_frames += 1
            if self.empty_frames > EMPTY_FRAME_CAP:
                raise h2.exceptions.DenialOfServiceError("empty DATA flood")


# https://www.rfc-editor.org/rfc/rfc9112#section-3: an HTTP/1.1 request line
_REQUEST_LINE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP/1\.1")
_H1_HEAD_CAP = 8 * 1024
_HOP_BY_HOP = {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade"}


def parse_h2c_upgrade(
    data: bytes,
) -> tuple[list[tuple[bytes, bytes]], bytes, int] | bool | None:
    """Read an HTTP/1.1 request asking for an h2c upgrade (RFC 7540 §3.2): None while the head
    is incomplete, False when it is not such a request (no body allowed, exactly one
    HTTP2-Settings, Connection naming Upgrade and HTTP2-Settings), else the request as HTTP/2
    fields, the HTTP2-Settings value and the octets the head took."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        first = data.split(b"\r\n", 1)[0]
        plausible = len(data) <= _H1_HEAD_CAP and re.fullmatch(rb"[\x21-\x7e]+( [\x21-\x7e]*)*", first)
        return None if plausible or not first else False
    lines = data[:end].split(b"\r\n")
    request_line = _REQUEST_LINE.fullmatch(lines[0])
    if request_line is None:
        return False
    fields: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not TOKEN.fullmatch(name):
            return False
        fields.append((name.lower(), value.strip(b" \t")))

    def tokens(name: bytes) -> set[bytes]:
        return {t.strip().lower() for n, v in fields if n == name for t in v.split(b",")}

    settings = [value for name, value in fields if name == b"http2-settings"]
    has_body = any(n == b"transfer-encoding" or (n == b"content-length" and v != b"0") for n, v in fields)
    if (
        b"h2c" not in tokens(b"upgrade")
        or not {b"upgrade", b"http2-settings"} <= tokens(b"connection")
        or len(settings) != 1
        or has_body
    ):
        return False
    hosts = [value for name, value in fields if name == b"host"]
    request = [(b":method", request_line.group(1)), (b":scheme", b"http"), (b":path", request_line.group(2))]
    if hosts:
        request.append((b":authority", hosts[0]))
    skip = _HOP_BY_HOP | {b"host", b"http2-settings", b"te"}
    request += [(name, value) for name, value in fields if name not in skip]
    return request, settings[0], end + 4


@dataclass
class _Socket:
    """A WebSocket on a stream (RFC 8441): its echo, and what waits for flow control."""

    echo: ws_h2.StreamEcho
    pending: bytes = b""
    end: bool = False  # END_STREAM once what is pending is sent


@dataclass
class _Stream:
    """A request being received, then its response being sent."""

    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    pending: bytes = b""  # response content not yet sent (flow control)
    answered: bool = False  # our response has started
    head_only: bool = False


class H2Channel(protocol.Protocol):
    """One HTTP/2 connection (h2c by prior knowledge, or TLS after ALPN chose h2)."""

    def __init__(self, factory: H2Factory) -> None:
        self.factory = factory
        config = h2.config.H2Configuration(
            client_side=False,
            header_encoding=None,
            validate_inbound_headers=True,
            normalize_inbound_headers=False,
            validate_outbound_headers=True,
        )
        self.conn = _Connection(config)
        self.conn.decoder.max_header_list_size = MAX_HEADER_LIST_SIZE
        self.streams: dict[int, _Stream] = {}
        self.sockets: dict[int, _Socket] = {}
        self.preface: bytearray | None = bytearray()  # until the client's preface is checked
        self.started = False  # our SETTINGS sent
        self.upgraded = False  # an h2c upgrade happened
        self.pending = bytearray()  # received octets short of a complete frame
        self.filter = FrameFilter()
        self.closing = False
        self.linger: Any = None

    # -- Twisted

    def connectionMade(self) -> None:  # noqa: N802 - Twisted's name
        self.factory.connections.add(self)
        self.conn.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: MAX_CONCURRENT_STREAMS,
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: INITIAL_WINDOW_SIZE,
                h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: MAX_HEADER_LIST_SIZE,
                h2.settings.SettingCodes.ENABLE_PUSH: 0,
                # https://www.rfc-editor.org/rfc/rfc8441#section-3: extended CONNECT offered
                h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL: 1,
            },
        )
        if not self.factory.upgrades:
            self._start()

    def _start(self) -> None:
        """https://www.rfc-editor.org/rfc/rfc9113#section-3.4: our preface, SETTINGS. On the
        plain port it waits for the client's first bytes: they may be an HTTP/1.1 request
        asking for an h2c upgrade, which the SETTINGS must follow."""
        if not self.started:
            self.started = True
            self.conn.initiate_connection()
            self._flush()

    def _upgrade(self) -> bool:
        """An HTTP/1.1 request instead of the preface: switch to HTTP/2 if it asks for h2c
        (https://www.rfc-editor.org/rfc/rfc7540#section-3.2); False if it is not one."""
        assert self.preface is not None
        upgrade = parse_h2c_upgrade(bytes(self.preface))
        if upgrade is None:
            return True  # not a whole head yet
        if upgrade is False:
            return False
        request, settings, consumed = upgrade
        self.upgraded = self.started = True
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
        )
        # The request becomes stream 1, half-closed (remote); HTTP2-Settings are the
        # client's SETTINGS, acknowledged by the 101 itself.
        self.conn.initiate_upgrade_connection(settings)
        self._flush()
        self.streams[1] = _Stream(headers=request)
        self._complete(1)
        self._flush()
        del self.preface[:consumed]
        return True

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        if self.closing:
            return
        if self.preface is not None:
            # https://www.rfc-editor.org/rfc/rfc9113#section-3.4: an invalid connection
            # preface is a connection error of type PROTOCOL_ERROR. h2 raises on it without
            # queueing the GOAWAY, so it is checked here, as soon as the octets differ.
            self.preface += data
            if self.preface and PREFACE.startswith(self.preface[: len(PREFACE)]):
                self._start()
            elif self.factory.upgrades and not self.upgraded:
                if not self._upgrade():
                    self._invalid_preface()
                    return
                if self.preface and not PREFACE.startswith(self.preface[: len(PREFACE)]):
                    self._invalid_preface()
                    return
            if not (PREFACE.startswith(self.preface) or self.preface.startswith(PREFACE)):
                self._invalid_preface()
                return
            if len(self.preface) < len(PREFACE) or not self.started:
                return
            data, self.preface = bytes(self.preface), None
            self.conn.receive_data(data[: len(PREFACE)])  # h2 checks it again, quietly
            data = data[len(PREFACE) :]
        self.pending += data
        complete, refused = self._complete_frames()
        try:
            events = self.conn.receive_data(complete) if complete else []
        except h2.exceptions.ProtocolError:
            # h2 has queued the GOAWAY with the error's code (§5.4.1).
            self._flush()
            self._close_after_goaway()
            return
        for event in events:
            self._handle(event)
            if self.closing:
                return
        if refused is not None:
            self._connection_error(refused.error_code)
            return
        self._flush()

    def _complete_frames(self) -> tuple[bytes, h2.exceptions.ProtocolError | None]:
        """The complete frames at the start of what was received that h2 is to see, and the
        error of the first frame :class:`FrameFilter` refuses (nothing after it is read). A
        frame larger than our maximum goes to h2 at once, header only, for its
        FRAME_SIZE_ERROR."""
        buffer = self.pending
        admitted: list[bytes] = []
        start = 0
        while len(buffer) - start >= 9:
            length = int.from_bytes(buffer[start : start + 3], "big")
            if length > self.conn.max_inbound_frame_size:
                admitted.append(bytes(buffer[start:]))
                start = len(buffer)
                break
            end = start + 9 + length
            if len(buffer) < end:
                break
            stream_id = int.from_bytes(buffer[start + 5 : start + 9], "big") & 0x7FFF_FFFF
            try:
                payload = self.filter.admit(
                    buffer[start + 3], buffer[start + 4], stream_id, bytes(buffer[start + 9 : end])
                )
            except h2.exceptions.ProtocolError as error:
                buffer.clear()
                return b"".join(admitted), error
            if payload is not None:
                admitted.append(bytes(buffer[start : start + 9]) + payload)
            start = end
        del buffer[:start]
        return b"".join(admitted), None

    def connectionLost(self, reason: Failure | None = None) -> None:  # noqa: N802
        self.closing = True
        if self.linger is not None and self.linger.active():
            self.linger.cancel()
        self.factory.connections.discard(self)
        self.factory.lost(self)

    # -- events

    def _handle(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived):
            self._request(event)
        elif isinstance(event, h2.events.DataReceived):
            self._data(event)
        elif isinstance(event, h2.events.TrailersReceived):
            pass  # trailers carry nothing the resources use
        elif isinstance(event, h2.events.StreamEnded):
            self._complete(event.stream_id)
        elif isinstance(event, h2.events.StreamReset):
            self._reset_by_client(event)
        elif isinstance(event, h2.events.WindowUpdated):
            self._send_pending(event.stream_id)
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            # A larger initial window may unblock every stream (§6.9.2).
            self._send_pending(0)

    def _request(self, event: h2.events.RequestReceived) -> None:
        headers = [(bytes(name), bytes(value)) for name, value in event.headers]
        pseudo = dict(h for h in headers if h[0].startswith(b":"))
        if b":protocol" in pseudo:
            # https://www.rfc-editor.org/rfc/rfc8441#section-4: an extended CONNECT (h2 has
            # checked :protocol is on a CONNECT, with :scheme and :path).
            self._extended_connect(event.stream_id, headers, ended=event.stream_ended is not None)
            return
        method, path = pseudo.get(b":method", b""), pseudo.get(b":path", b"")
        if not TOKEN.fullmatch(method) or (
            method != b"CONNECT" and not (path.startswith(b"/") or (path == b"*" and method == b"OPTIONS"))
        ):
            # https://www.rfc-editor.org/rfc/rfc9113#section-8.3.1: :method is a token (RFC
            # 9110 §9.1); :path of an http(s) request is an absolute path, or "*" for
            # OPTIONS. h2 checks neither: the request is malformed (stream error).
            self._stream_error(event.stream_id, ErrorCodes.PROTOCOL_ERROR)
            return
        self.streams[event.stream_id] = _Stream(headers=headers)

    def _extended_connect(self, stream_id: int, headers: list[tuple[bytes, bytes]], *, ended: bool) -> None:
        answer = ws_h2.accept(headers)
        if ended and answer.echo is not None:
            # END_STREAM on the CONNECT: the client closed the stream the WebSocket was to use.
            answer = ws_h2.Answer(400, [])
        if answer.echo is None:
            fields = [(b":status", str(answer.status).encode()), *answer.fields, (b"content-length", b"0")]
            with contextlib.suppress(*STREAM_GONE):
                self.conn.send_headers(stream_id, fields, end_stream=True)
            return
        self.conn.send_headers(stream_id, [(b":status", b"200"), *answer.fields], end_stream=False)
        self.sockets[stream_id] = _Socket(echo=answer.echo)

    def _socket_data(self, socket: _Socket, event: h2.events.DataReceived) -> None:
        with contextlib.suppress(*STREAM_GONE):
            self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        socket.pending += socket.echo.receive(event.data)
        socket.end = socket.end or socket.echo.done
        self._send_ws(event.stream_id)

    def _send_ws(self, stream_id: int) -> None:
        """The echo's octets as flow control allows, then END_STREAM when it is done (RFC 8441
        §5: the end of the stream is the end of the WebSocket's TCP connection)."""
        socket = self.sockets.get(stream_id)
        if socket is None:
            return
        try:
            window = self.conn.local_flow_control_window(stream_id)
            while socket.pending and window > 0:
                size = min(window, len(socket.pending), self.conn.max_outbound_frame_size)
                chunk, socket.pending = socket.pending[:size], socket.pending[size:]
                last = socket.end and not socket.pending
                self.conn.send_data(stream_id, chunk, end_stream=last)
                window -= size
                if last:
                    del self.sockets[stream_id]
                    return
            if socket.end and not socket.pending:
                self.conn.end_stream(stream_id)
                del self.sockets[stream_id]
        except STREAM_GONE:
            self.sockets.pop(stream_id, None)

    def _data(self, event: h2.events.DataReceived) -> None:
        socket = self.sockets.get(event.stream_id)
        if socket is not None:
            self._socket_data(socket, event)
            return
        if event.flow_controlled_length:
            self._return_window(event.stream_id)
        stream = self.streams.get(event.stream_id)
        if stream is None or stream.answered:
            return
        stream.body += event.data
        if len(stream.body) > BODY_CAP:
            # https://www.rfc-editor.org/rfc/rfc9113#section-8.1: a complete response
            # before the request is complete, then RST_STREAM NO_ERROR.
            self._respond(event.stream_id, resources._text(413, "content too large\n"))
            self.conn.reset_stream(event.stream_id, ErrorCodes.NO_ERROR)

    def _return_window(self, stream_id: int) -> None:
        """https://www.rfc-editor.org/rfc/rfc9113#section-6.9.1: give the client a window
        back once it has used all of it. Only at 0 (h2's own way returns it by halves), so
        that DATA beyond the window is caught however the client's frames are timed: a sender
        that keeps to the window always comes to exactly 0, and then gets more. (This server
        buffers bodies up to BODY_CAP and answers 413 past it.)"""
        if self.conn.inbound_flow_control_window == 0:
            self.conn.increment_flow_control_window(WINDOW_REFILL)
        stream = self.conn.streams.get(stream_id)
        if stream is not None and stream.open and stream.inbound_flow_control_window == 0:
            with contextlib.suppress(h2.exceptions.StreamClosedError):
                self.conn.increment_flow_control_window(INITIAL_WINDOW_SIZE, stream_id)

    def _complete(self, stream_id: int) -> None:
        socket = self.sockets.get(stream_id)
        if socket is not None:
            # The client ended its side: as after a TCP close, the server ends its own.
            socket.end = True
            self._send_ws(stream_id)
            return
        stream = self.streams.get(stream_id)
        if stream is None or stream.answered:
            return
        request = self._parse(stream)
        lengths = {value for name, value in stream.headers if name == b"content-length"}
        if lengths and lengths != {str(len(stream.body)).encode()}:
            # https://www.rfc-editor.org/rfc/rfc9113#section-8.1.1: content-length that
            # differs from the DATA received makes the request malformed. (h2 checks it
            # when DATA ends the stream, not when the HEADERS frame does.)
            self._stream_error(stream_id, ErrorCodes.PROTOCOL_ERROR)
            return
        self._respond(stream_id, resources.respond(request), head=request.method == "HEAD")

    def _reset_by_client(self, event: h2.events.StreamReset) -> None:
        self.streams.pop(event.stream_id, None)
        self.sockets.pop(event.stream_id, None)

    # -- requests and responses

    def _parse(self, stream: _Stream) -> resources.Request:
        method = target = b""
        fields: list[tuple[str, str]] = []
        for name, value in stream.headers:
            if name == b":method":
                method = value
            elif name == b":path":
                target = value
            elif not name.startswith(b":"):
                fields.append((name.decode("latin-1"), value.decode("latin-1")))
        text = target.decode("latin-1")
        path = text if text == "*" else text.split("?", 1)[0]
        return resources.Request(
            method=method.decode("latin-1"),
            target=text,
            path=path,
            version="HTTP/2",
            headers=tuple(fields),
            body=bytes(stream.body),
        )

    def _respond(self, stream_id: int, response: resources.Response, *, head: bool = False) -> None:
        stream = self.streams.setdefault(stream_id, _Stream())
        stream.answered = True
        stream.head_only = head
        headers = [
            (b":status", str(response.status).encode()),
            (b"date", email.utils.formatdate(usegmt=True).encode()),
            (b"server", resources.SERVER.encode()),
        ]
        headers += [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in response.headers]
        has_content = response.status not in (204, 304) and not 100 <= response.status < 200
        if has_content:
            headers.append((b"content-length", str(len(response.body)).encode()))
        body = response.body if has_content and not head else b""
        try:
            self.conn.send_headers(stream_id, headers, end_stream=not body)
        except STREAM_GONE:
            # The client reset the stream in the same read as it ended it (h2 has handled
            # both before we answer): there is no one to answer.
            self.streams.pop(stream_id, None)
            return
        stream.pending = body
        if body:
            self._send_pending(stream_id)

    def _send_pending(self, stream_id: int) -> None:
        """Send what flow control allows of every waiting response (of one, or of all for 0)."""
        for sid in [stream_id] if stream_id else list(self.sockets):
            self._send_ws(sid)
        ids = [stream_id] if stream_id else list(self.streams)
        for sid in ids:
            stream = self.streams.get(sid)
            if stream is None or not stream.pending:
                continue
            try:
                window = self.conn.local_flow_control_window(sid)
                size = min(window, len(stream.pending), self.conn.max_outbound_frame_size)
                while size > 0:
                    chunk, stream.pending = stream.pending[:size], stream.pending[size:]
                    self.conn.send_data(sid, chunk, end_stream=not stream.pending)
                    window -= size
                    size = min(window, len(stream.pending), self.conn.max_outbound_frame_size)
            except STREAM_GONE:
                stream.pending = b""
            if not stream.pending and sid in self.streams:
                del self.streams[sid]
        self._flush()

    def _stream_error(self, stream_id: int, code: ErrorCodes) -> None:
        self.streams.pop(stream_id, None)
        with contextlib.suppress(*STREAM_GONE):
            self.conn.reset_stream(stream_id, code)

    def _connection_error(self, code: ErrorCodes) -> None:
        self.conn.close_connection(error_code=code)
        self._flush()
        self._close_after_goaway()

    # -- output and closing

    def _invalid_preface(self) -> None:
        frame = GoAwayFrame(0, last_stream_id=0, error_code=ErrorCodes.PROTOCOL_ERROR)
        self.transport.write(frame.serialize())
        self._close_after_goaway()

    def shut_down(self) -> None:
        """The server is stopping: GOAWAY (NO_ERROR, §6.8), then close; abort after a
        moment if the client does not read."""
        if self.transport is None:
            return
        if not self.closing:
            with contextlib.suppress(h2.exceptions.ProtocolError):
                self.conn.close_connection(error_code=ErrorCodes.NO_ERROR)
            self._flush()
            self.closing = True
        self.transport.loseConnection()
        self.linger = self.factory.reactor.callLater(LINGER_SECONDS, self.transport.abortConnection)

    def _flush(self) -> None:
        data = self.conn.data_to_send()
        if data and self.transport is not None:
            self.transport.write(data)

    def _close_after_goaway(self) -> None:
        """Stop reading, let the GOAWAY reach the client, then close (§6.8: the sender of a
        GOAWAY for an error closes the connection)."""
        if self.closing:
            return
        self.closing = True
        self.linger = self.factory.reactor.callLater(LINGER_SECONDS, self.transport.loseConnection)
        lose_write = getattr(self.transport, "loseWriteConnection", None)
        if lose_write is not None:
            lose_write()


class H2Factory(protocol.Factory):
    """Makes an :class:`H2Channel` per connection and can close them all."""

    def __init__(self, reactor: Any, *, upgrades: bool = False) -> None:
        self.reactor = reactor
        self.upgrades = upgrades  # HTTP/1.1 requests may ask for h2c (plain ports only)
        self.connections: set[H2Channel] = set()
        self._waiting: list[defer.Deferred[None]] = []

    def buildProtocol(self, addr: Any) -> H2Channel:  # noqa: N802
        channel = H2Channel(self)
        return channel

    def lost(self, channel: H2Channel) -> None:
        if not self.connections:
            waiting, self._waiting = self._waiting, []
            for waiter in waiting:
                waiter.callback(None)

    def close_all(self) -> defer.Deferred[None]:
        """Close every open connection; fires when all are gone."""
        if not self.connections:
            return defer.succeed(None)
        waiter: defer.Deferred[None] = defer.Deferred()
        self._waiting.append(waiter)
        for channel in list(self.connections):
            channel.shut_down()
        return waiter


# -- TLS


@dataclass(frozen=True)
class SelfSigned:
    """A certificate for 127.0.0.1, ::1 and localhost, and its key, both PEM."""

    certificate_pem: bytes
    key_pem: bytes


def make_self_signed(hostnames: Iterator[str] | None = None) -> SelfSigned:
    """A fresh self-signed certificate (EC P-256, one day) for the loopback names."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "conformance reference target")])
    now = datetime.datetime.now(datetime.UTC)
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    names += [x509.DNSName(h) for h in hostnames or ()]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return SelfSigned(
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def self_signed_tls_options(pair: SelfSigned) -> Any:
    """Twisted server TLS options offering ALPN ``h2`` (RFC 9113 §3.2), then ``http/1.1``."""
    from OpenSSL import crypto
    from twisted.internet import ssl

    return ssl.CertificateOptions(
        privateKey=crypto.load_privatekey(crypto.FILETYPE_PEM, pair.key_pem),
        certificate=crypto.load_certificate(crypto.FILETYPE_PEM, pair.certificate_pem),
        acceptableProtocols=[b"h2", b"http/1.1"],
        # https://www.rfc-editor.org/rfc/rfc9113#section-9.2: TLS 1.2 or later.
        raiseMinimumTo=ssl.TLSVersion.TLSv1_2,
    )
