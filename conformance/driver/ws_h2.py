"""WebSocket over HTTP/2 (RFC 8441): the session that carries WebSocket connections in the
streams of one HTTP/2 connection, and the openings of the ``websocket`` mode against h2c://
and https:// targets and of the ``websocket-h2`` mode.

https://www.rfc-editor.org/rfc/rfc8441#section-5: after a 2xx answer to the extended
CONNECT, the stream is used "as if it were the TCP connection" of RFC 6455: WebSocket
frames travel in DATA frames; an orderly TCP close becomes END_STREAM, an abortive one an
RST_STREAM. So the events a case sees are the same as over HTTP/1.1 — frames, messages, a
close — and the end of the stream takes the place of the end of the connection
(:class:`StreamEnded`, a kind of :class:`ConnectionClosed`).

The session is an HTTP/2 client underneath: it acknowledges SETTINGS and PINGs, keeps to the
server's flow-control windows (what does not fit waits for WINDOW_UPDATE) and gives back,
with WINDOW_UPDATE, what it reads. The HTTP/2 frames themselves go to the transcript, not
to the events (a WINDOW_UPDATE is no answer to a WebSocket message); what the server gets
wrong at the HTTP/2 level becomes an :class:`H2Problem` event, which no expectation takes
for what it waits for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from conformance.codecs import h2fields
from conformance.codecs import h2frames as fr
from conformance.codecs import h2hpack as hp
from conformance.codecs.common import ConnectionClosed, Event, Violation
from conformance.codecs.ws.h2handshake import ExtendedConnect, H2Problem, StreamEnded, check_connect_response
from conformance.driver.context import CaseError
from conformance.driver.h2 import H2Session, _check_alpn, _wait_for
from conformance.driver.openers import (
    APPLICABILITY,
    OPENERS,
    Opener,
    OpeningContext,
    OpeningFailed,
    connect_steps,
    register_opener,
)
from conformance.driver.ws import WsSession
from conformance.scenario import model
from conformance.scenario.kinds.ws import H2WebSocketOptions, Handshake, HandshakeOptions
from conformance.scenario.payloads import Concat, Payload, Repeat
from conformance.scenario.templates import TargetContext
from conformance.target import Target
from conformance.verdicts.ws import ClosingFacts, HandshakeResponse

#: What we advertise: no push; a large window so that 16 MiB echoes are not slowed down.
OUR_WINDOW = 1 << 20
OUR_SETTINGS = ((fr.Setting.ENABLE_PUSH, 0), (fr.Setting.INITIAL_WINDOW_SIZE, OUR_WINDOW))
#: The connect modes that open transports only: their ws cases are about HTTP/1.1.
TRANSPORT_MODES = ("target", "tcp", "tls")
STREAM_TRANSPORT = "HTTP/2 stream"


def over_h2(target: Target) -> bool:
    """Whether WebSocket cases reach ``target`` over HTTP/2 (RFC 8441): h2c:// (prior
    knowledge) and https:// (ALPN h2) targets; ws:// and wss:// are HTTP/1.1."""
    return target.scheme in ("h2c", "https")


@dataclass
class _Stream:
    """One WebSocket on one stream: its RFC 6455 session and the DATA waiting to be sent."""

    stream_id: int
    request: ExtendedConnect
    ws: WsSession = field(default_factory=WsSession)
    response: HandshakeResponse | None = None
    window: int = fr.DEFAULT_WINDOW  # what the server lets us send on it
    pending: bytearray = field(default_factory=bytearray)
    end_pending: bool = False  # END_STREAM to follow what is pending
    local_ended: bool = False  # our END_STREAM is sent (or the stream is reset)
    remote_ended: bool = False  # the server's END_STREAM or RST_STREAM came
    unreturned: int = 0  # DATA octets read and not yet given back by WINDOW_UPDATE

    @property
    def accepted(self) -> bool:
        return self.response is not None and not self.response.outcome.problems


class WsH2Session:
    """WebSocket connections in the streams of one HTTP/2 connection (client side)."""

    def __init__(self) -> None:
        self.h2 = H2Session()
        self.note: Callable[[str, dict[str, Any] | None], None] | None = None  # the transcript
        self.context: TargetContext | None = None
        self.streams: dict[int, _Stream] = {}
        self.next_stream = 1
        self.inner_received = 0  # WebSocket octets read from streams (what ``silence`` minds)
        self._out = bytearray()
        self._connection_window = fr.DEFAULT_WINDOW  # what the server lets us send in all
        self._peer_initial = fr.DEFAULT_WINDOW
        self._peer_max_frame = fr.DEFAULT_MAX_FRAME_SIZE
        self.connect_protocol: int | None = None  # the server's SETTINGS_ENABLE_CONNECT_PROTOCOL

    # -- what we send

    @property
    def current(self) -> _Stream | None:
        """The stream ``send`` steps write to: the newest one whose sending side is open (a
        second WebSocket, once closed, gives the floor back to the first), else the newest."""
        open_ = [s for s in self.streams.values() if not s.local_ended]
        if open_:
            return open_[-1]
        return list(self.streams.values())[-1] if self.streams else None

    def open_stream(self, options: HandshakeOptions, context: TargetContext) -> bytes:
        """A HEADERS frame with an extended CONNECT on a new stream (RFC 8441 §4, §5)."""
        scheme = "http" if context.scheme in ("h2c", "http", "ws") else "https"
        request = options.connect_request(context, scheme)
        stream_id = self.next_stream
        self.next_stream += 2
        self.streams[stream_id] = _Stream(stream_id=stream_id, request=request, window=self._peer_initial)
        block = hp.encode_fields([(n.encode("latin-1"), v.encode("latin-1")) for n, v in request.fields()])
        return fr.encode_frame(fr.FrameType.HEADERS, block, flags=fr.Flag.END_HEADERS, stream_id=stream_id)

    def render(self, payload: Payload, context: TargetContext) -> bytes:
        self.context = context
        out = bytearray()
        for part in _parts(payload):
            if isinstance(part, Handshake):
                out += self._take() + self.open_stream(part.options, context)
                continue
            stream = self.current
            if stream is None:
                raise _no_stream()
            if stream.local_ended:
                self._note(f"not sent on stream {stream.stream_id}: the stream is closed", None)
                continue
            data = stream.ws.render(part, context)
            stream.ws.sent(data)  # what the WebSocket session learns of our frames (a close)
            stream.pending += data
        self._pump()
        return bytes(out) + self._take()

    def render_unframed(self, payload: Payload, context: TargetContext) -> bytes:
        """The WebSocket octets of a payload, not yet in DATA frames: a ``send`` cut into
        pieces (``split``) sends each piece as DATA of its own (:meth:`frame_piece`), so that
        the pieces arrive apart as they would over TCP."""
        stream = self.current
        if stream is None or any(isinstance(part, Handshake) for part in _parts(payload)):
            raise _no_stream() if stream is None else _split_handshake()
        data = stream.ws.render(payload, context)
        stream.ws.sent(data)
        return data

    def frame_piece(self, piece: bytes) -> bytes:
        stream = self.current
        if stream is None or stream.local_ended:
            return b""
        stream.pending += piece
        self._pump()
        return self._take()

    def sent(self, data: bytes) -> None:
        self.h2.sent(data)  # our SETTINGS, WINDOW_UPDATEs and streams, for judging the server's

    def outgoing(self) -> bytes:
        self._pump()
        return self._take()

    def _take(self) -> bytes:
        data, self._out = bytes(self._out), bytearray()
        return data

    def _pump(self) -> None:
        """Write what the windows allow of every stream's pending WebSocket octets, then the
        END_STREAM of streams whose sending is done (https://www.rfc-editor.org/rfc/rfc9113#section-6.9)."""
        for stream in self.streams.values():
            if stream.local_ended:
                stream.pending.clear()
                continue
            while stream.pending and self._connection_window > 0 and stream.window > 0:
                size = min(len(stream.pending), self._connection_window, stream.window, self._peer_max_frame)
                chunk = bytes(stream.pending[:size])
                del stream.pending[:size]
                self._connection_window -= size
                stream.window -= size
                last = stream.end_pending and not stream.pending
                self._out += fr.encode_frame(
                    fr.FrameType.DATA,
                    chunk,
                    flags=fr.Flag.END_STREAM if last else 0,
                    stream_id=stream.stream_id,
                )
                stream.local_ended = last
            if stream.end_pending and not stream.pending and not stream.local_ended:
                self._out += fr.encode_frame(
                    fr.FrameType.DATA, flags=fr.Flag.END_STREAM, stream_id=stream.stream_id
                )
                stream.local_ended = True

    # -- what the server sends

    def receive(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        for event in self.h2.receive(data):
            events += self._on(event)
        self._out += self.h2.outgoing()  # SETTINGS acknowledgements
        self._return_windows()
        return events

    def _on(self, event: Event) -> list[Event]:
        if isinstance(event, h2fields.HeaderBlock):
            return self._header_block(event)
        if not isinstance(event, fr.Frame):  # an HTTP/1.1 answer to our preface, say
            return [event]
        self._note(f"HTTP/2: {event.describe()}", event.detail())
        events: list[Event] = []
        problems = list(event.violations)
        stream = self.streams.get(event.stream_id)
        if isinstance(event, fr.SettingsFrame) and not event.flags & fr.Flag.ACK:
            problems += self._settings(event)
        elif isinstance(event, fr.PingFrame) and not event.flags & fr.Flag.ACK:
            # https://www.rfc-editor.org/rfc/rfc9113#section-6.7: a PING is answered with its data.
            self._out += fr.encode_frame(fr.FrameType.PING, event.opaque, flags=fr.Flag.ACK)
        elif isinstance(event, fr.WindowUpdateFrame):
            if event.stream_id == 0:
                self._connection_window += event.increment
            elif stream is not None:
                stream.window += event.increment
        elif isinstance(event, fr.DataFrame):
            if stream is not None:
                stream.unreturned += event.length
                events += self._data(stream, event)
            elif event.length:
                # DATA on no stream of ours: give the connection's window back all the same.
                self._out += fr.encode_frame(
                    fr.FrameType.WINDOW_UPDATE, fr.window_update_payload(event.length)
                )
        elif isinstance(event, fr.RstStreamFrame) and stream is not None and not stream.remote_ended:
            events += self._ended(stream, how="RST_STREAM", error=event.error_code)
        elif isinstance(event, fr.GoAwayFrame):
            for other in self.streams.values():
                abandoned = (
                    other.stream_id > event.last_stream_id or event.error_code != fr.ErrorCode.NO_ERROR
                )
                if abandoned and not other.remote_ended:
                    events += self._ended(
                        other,
                        how="GOAWAY",
                        error=event.error_code,
                        reason=f"last stream {event.last_stream_id}",
                    )
        if problems:
            events.insert(0, H2Problem(frame=event.describe(), violations=tuple(problems)))
        return events

    def _settings(self, frame: fr.SettingsFrame) -> list[Violation]:
        found: list[Violation] = []
        for key, value in frame.settings:
            if key == fr.Setting.INITIAL_WINDOW_SIZE and value <= fr.MAX_WINDOW:
                # §6.9.2: a change applies to every open stream's window, by the difference.
                for stream in self.streams.values():
                    stream.window += value - self._peer_initial
                self._peer_initial = value
            elif (
                key == fr.Setting.MAX_FRAME_SIZE
                and fr.DEFAULT_MAX_FRAME_SIZE <= value <= fr.MAX_FRAME_SIZE_LIMIT
            ):
                self._peer_max_frame = value
            elif key == fr.Setting.ENABLE_CONNECT_PROTOCOL:
                if value not in (0, 1):
                    found.append(
                        Violation(
                            code="h2-bad-setting",
                            message=f"SETTINGS_ENABLE_CONNECT_PROTOCOL={value} (RFC 8441 §3: 0 or 1)",
                        )
                    )
                elif value == 0 and self.connect_protocol == 1:
                    found.append(
                        Violation(
                            code="h2-connect-protocol-withdrawn",
                            message="SETTINGS_ENABLE_CONNECT_PROTOCOL=0 after 1 (RFC 8441 §3: MUST NOT)",
                        )
                    )
                self.connect_protocol = value
        return found

    def _header_block(self, block: h2fields.HeaderBlock) -> list[Event]:
        stream = self.streams.get(block.stream_id)
        self._note(f"HTTP/2: {block.describe()}", block.detail())
        if stream is None:
            return (
                [H2Problem(frame=block.describe(), violations=block.violations)] if block.violations else []
            )
        events: list[Event] = []
        status = block.status
        if stream.response is None and not (status is not None and 100 <= status < 200):
            events.append(self._response(stream, block))
        elif block.violations:
            events.append(H2Problem(frame=block.describe(), violations=block.violations))
        if block.end_stream and not stream.remote_ended:
            events += self._ended(stream, how="END_STREAM")
        return events

    def _response(self, stream: _Stream, block: h2fields.HeaderBlock) -> HandshakeResponse:
        request = stream.request
        regular = tuple(
            (n.decode("latin-1"), v.decode("latin-1")) for n, v in block.fields if not n.startswith(b":")
        )
        outcome = check_connect_response(
            block.status,
            regular,
            subprotocols=request.offered_subprotocols(),
            offered_deflate=request.offered_deflates(),
            offered_names=[offer.name for offer in request.offered_extensions()],
        )
        problems = list(outcome.problems)
        if block.error is not None:
            problems.append(f"the header block does not decode: {block.error}")
        if not problems and block.end_stream:
            problems.append("END_STREAM on the 2xx: the stream that should carry the WebSocket is closed")
        if not problems and block.violations:
            problems += [v.describe() for v in block.violations]
        outcome = replace(outcome, problems=tuple(problems))
        stream.response = HandshakeResponse(
            version="HTTP/2",
            status=block.status,
            reason="",
            headers=regular,
            body=b"",
            body_length=0,
            body_sha256="",
            framing="none",
            violations=block.violations,
            request_method="CONNECT",
            outcome=outcome,
        )
        if not outcome.problems:
            stream.ws.establish(outcome)
        return stream.response

    def _data(self, stream: _Stream, frame: fr.DataFrame) -> list[Event]:
        events: list[Event] = []
        if stream.accepted and not stream.remote_ended:
            self.inner_received += len(frame.data)
            events += stream.ws.receive(frame.data)
            reply = stream.ws.outgoing()  # our answer to the server's close frame
            if reply and not stream.local_ended:
                stream.pending += reply
        if frame.flags & fr.Flag.END_STREAM and not stream.remote_ended:
            events += self._ended(stream, how="END_STREAM")
        return events

    def _ended(self, stream: _Stream, *, how: str, error: int | None = None, reason: str = "") -> list[Event]:
        """The server ended the stream: the WebSocket's transport is gone (RFC 8441 §5)."""
        stream.remote_ended = True
        stream.ws.receive_eof()
        if how != "END_STREAM":
            stream.local_ended = True  # a reset stream takes nothing more
        else:
            # Our side follows, as a client closes its TCP connection after the server's.
            stream.end_pending = True
        return [
            StreamEnded(
                stream_id=stream.stream_id, how=how, error=error, reset=how != "END_STREAM", reason=reason
            )
        ]

    def _return_windows(self) -> None:
        """Give back what was read (https://www.rfc-editor.org/rfc/rfc9113#section-6.9): the
        server is never held up by a window we do not refill."""
        total = 0
        for stream in self.streams.values():
            if stream.unreturned:
                total += stream.unreturned
                if not stream.remote_ended:
                    self._out += fr.encode_frame(
                        fr.FrameType.WINDOW_UPDATE,
                        fr.window_update_payload(stream.unreturned),
                        stream_id=stream.stream_id,
                    )
                stream.unreturned = 0
        if total:
            self._out += fr.encode_frame(fr.FrameType.WINDOW_UPDATE, fr.window_update_payload(total))

    def receive_eof(self) -> list[Event]:
        events = self.h2.receive_eof()
        for stream in self.streams.values():
            stream.ws.receive_eof()
        return [e for e in events if not isinstance(e, h2fields.HeaderBlock)]

    def closing_facts(self) -> ClosingFacts | None:
        """The closing handshake of the case's WebSocket: the first stream's."""
        first = next(iter(self.streams.values()), None)
        if first is None or not first.accepted:
            return None
        return replace(first.ws.closing_facts(), transport=STREAM_TRANSPORT)

    def _note(self, text: str, detail: dict[str, Any] | None = None) -> None:
        if self.note is not None:
            self.note(text, detail)


def _parts(payload: Payload) -> list[Payload]:
    """A payload cut where handshakes are (each opens a stream); the rest goes whole to the
    current stream's WebSocket session."""
    if isinstance(payload, Concat) and any(isinstance(p, Handshake) for p in payload.parts):
        return [q for part in payload.parts for q in _parts(part)]
    if isinstance(payload, Repeat) and isinstance(payload.payload, Handshake):
        return [payload.payload] * payload.count
    return [payload]


def _split_handshake() -> Exception:
    return CaseError("a handshake payload cannot be split over HTTP/2: it is one HEADERS frame")


def _no_stream() -> Exception:
    return CaseError("nothing to send on: no WebSocket stream is open (connect with open: false sends none)")


# ---------------------------------------------------------------- the openings


async def open_websocket_h2(ctx: OpeningContext) -> int | None:
    """The HTTP/2 connection (preface, SETTINGS), the check that the server enables the
    extended CONNECT, and the extended CONNECT itself, answered 2xx (RFC 8441 §3–§5)."""
    connection = ctx.connection
    session = connection.session
    if not isinstance(session, WsH2Session):  # pragma: no cover - the opener sets the session
        raise OpeningFailed(expected="an HTTP/2 connection", observed=type(session).__name__)
    recorder = ctx.run.recorder
    session.note = lambda text, detail=None: recorder.event(text, detail) if recorder.accepting else None
    session.context = ctx.run.target.context()
    options = ctx.step.options
    if isinstance(options, HandshakeOptions):
        options = H2WebSocketOptions(handshake=options)
    elif not isinstance(options, H2WebSocketOptions):
        options = H2WebSocketOptions()
    _check_alpn(ctx)
    connection.write(
        fr.PREFACE
        + fr.encode_frame(fr.FrameType.SETTINGS, fr.settings_payload(OUR_SETTINGS))
        + fr.encode_frame(
            fr.FrameType.WINDOW_UPDATE, fr.window_update_payload(OUR_WINDOW - fr.DEFAULT_WINDOW)
        )
    )
    h2 = session.h2
    await _wait_for(ctx, lambda: h2.first_frame is not None, "the server's SETTINGS")
    first = h2.first_frame
    expected = "the server's connection preface: a SETTINGS frame first (RFC 9113 §3.4)"
    if first is None:
        observed = (
            "the connection closed" if connection.ended else f"nothing within {ctx.run.step_timeout:g} s"
        )
        others = [e for e in connection.events if not isinstance(e, ConnectionClosed)]
        raise OpeningFailed(expected=expected, observed=others[0].describe() if others else observed)
    if not isinstance(first, fr.SettingsFrame) or first.flags & fr.Flag.ACK:
        raise OpeningFailed(expected=expected, observed=f"{first.describe()} first")
    value = session.connect_protocol
    if value != 1:
        shown = (
            "no SETTINGS_ENABLE_CONNECT_PROTOCOL"
            if value is None
            else f"SETTINGS_ENABLE_CONNECT_PROTOCOL={value}"
        )
        if value in (None, 0):
            raise OpeningFailed(
                expected="SETTINGS_ENABLE_CONNECT_PROTOCOL=1: WebSocket over HTTP/2 offered (RFC 8441 §3)",
                observed=f"the server's SETTINGS have {shown}: it does not offer WebSocket over HTTP/2",
                unimplemented=True,
            )
        raise OpeningFailed(
            expected="SETTINGS_ENABLE_CONNECT_PROTOCOL of 0 or 1 (RFC 8441 §3)", observed=shown
        )
    if not options.open:
        return None
    context = ctx.run.target.context()
    connection.write(session.open_stream(options.handshake, context))
    stream = session.streams[session.next_stream - 2]
    deadline = ctx.run.reactor.seconds() + ctx.run.step_timeout
    expected = "a 2xx answer to the extended CONNECT, opening the WebSocket (RFC 8441 §5)"
    while True:
        for index, event in enumerate(connection.events):
            if isinstance(event, HandshakeResponse) and event is stream.response:
                if event.outcome.problems:
                    raise OpeningFailed(expected=expected, observed=event.describe())
                negotiated = {ext.name for ext in event.outcome.extensions}
                missing = [name for name in options.handshake.require if name.lower() not in negotiated]
                if missing:
                    raise OpeningFailed(
                        expected=f"the {', '.join(missing)} extension",
                        observed=f"{event.describe()} without {', '.join(missing)}",
                        unimplemented=True,
                    )
                return index + 1
            if isinstance(event, ConnectionClosed | H2Problem):
                raise OpeningFailed(expected=expected, observed=event.describe())
        left = deadline - ctx.run.reactor.seconds()
        if connection.ended or left <= 0:
            raise OpeningFailed(
                expected=expected,
                observed="the connection closed"
                if connection.ended
                else f"no answer within {ctx.run.step_timeout:g} s",
            )
        await connection.changed(left)


_H2_OPENER = Opener(open=open_websocket_h2, alpn=("h2",), session=WsH2Session)


def _websocket_for(target: Target) -> Opener:
    return _H2_OPENER if over_h2(target) else _H1_OPENER


_H1_OPENER = OPENERS.pop("websocket")
register_opener("websocket", replace(_H1_OPENER, choose=_websocket_for))
register_opener("websocket-h2", _H2_OPENER)


# ---------------------------------------------------------------- which cases run where


def http_version_mismatch(case: model.Case, target: Target) -> str | None:
    """Why a WebSocket case cannot run over the target's HTTP version, if it cannot: the
    opening-handshake cases of RFC 6455 (GET with Upgrade, read byte by byte) are HTTP/1.1's;
    RFC 8441 cases (``websocket-h2``) need an HTTP/2 target."""
    if case.protocol != "ws":
        return None
    connects = connect_steps(case)
    if over_h2(target):
        for step in connects:
            if step.mode in TRANSPORT_MODES:
                return (
                    "an HTTP/1.1 opening-handshake case (it writes its own GET with Upgrade): "
                    "not applicable to WebSocket over HTTP/2, where RFC 8441's extended CONNECT replaces it"
                )
            options = step.options
            if step.mode == "websocket" and isinstance(options, HandshakeOptions) and options.http1_only:
                return (
                    f"the case sets {options.http1_only}, which RFC 8441's extended CONNECT does not have: "
                    "not applicable to WebSocket over HTTP/2"
                )
        return None
    if any(step.mode == "websocket-h2" for step in connects):
        return (
            "a WebSocket over HTTP/2 case (RFC 8441): the target is reached over HTTP/1.1; "
            "give an h2c:// or https:// URL of the WebSocket endpoint (with --suite ws)"
        )
    return None


APPLICABILITY.append(http_version_mismatch)
