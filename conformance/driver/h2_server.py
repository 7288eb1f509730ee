"""HTTP/2 as the server side of a connection (client mode): the client's preface, frames and
header blocks as events, and the accepting opening of ``accept`` steps in ``h2`` client cases.

The harness accepts the connection of the client under test, which speaks first (RFC 9113
§3.4: the client connection preface is the magic string followed by SETTINGS); the harness
then sends its own SETTINGS (the server connection preface) and acknowledges the client's.
Everything else is :class:`~conformance.driver.h2.H2Session`'s: the frame decoder, flow
control of what the peer sends and of what we send, HPACK. What differs as the server is
only which side opens streams (the client's odd streams are its requests, not frames on idle
streams) and that a header block the peer sends is a request, judged as one (§8.3.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.codecs import h2fields
from conformance.codecs import h2frames as fr
from conformance.codecs.common import Event, Violation, printable
from conformance.driver.h2 import H2Session, _check_alpn, _wait_for
from conformance.driver.openers import ACCEPTORS, Opener, OpeningContext, OpeningFailed
from conformance.driver.sessions import SERVER_SESSIONS
from conformance.scenario.h2payloads import H2ConnectOptions


@dataclass(frozen=True, kw_only=True)
class ClientPreface:
    """The first 24 octets from the client: the connection preface (RFC 9113 §3.4), or not."""

    data: bytes

    @property
    def ok(self) -> bool:
        return self.data == fr.PREFACE

    def describe(self) -> str:
        if self.ok:
            return "the client connection preface (PRI * HTTP/2.0 ... SM)"
        return f'not the client connection preface: "{printable(self.data, 40)}"'

    def detail(self) -> dict[str, Any]:
        return {"type": "h2-client-preface", "ok": self.ok, "data": self.data.hex()}


class H2ServerSession(H2Session):
    """HTTP/2 on a connection the harness accepted: the client's output becomes events."""

    def __init__(self) -> None:
        super().__init__()
        self._preface = bytearray()
        self.preface: ClientPreface | None = None
        self.preface_at = 0  # the index of the first frame event after the preface
        self._events_seen = 0

    def receive(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        if self.preface is None:
            self._preface += data
            if len(self._preface) < len(fr.PREFACE) and fr.PREFACE.startswith(bytes(self._preface)):
                return events
            cut = len(fr.PREFACE)
            self.preface = ClientPreface(data=bytes(self._preface[:cut]))
            data = bytes(self._preface[cut:]) if self.preface.ok else b""
            self._preface = bytearray()
            events.append(self.preface)
            if not self.preface.ok:
                return events  # not HTTP/2: what follows is not read as frames
        self._seen_bytes = True  # never an HTTP/1.1 response head: this is the server side
        for frame in self.frames.feed(data):
            events += self._on_frame(frame)
        return events

    def _on_frame(self, frame: fr.Frame) -> list[Event]:
        # The client opens its odd-numbered streams with HEADERS (§5.1.1): a request, not a
        # frame on a stream we never opened.
        if (
            isinstance(frame, fr.HeadersFrame)
            and frame.stream_id % 2 == 1
            and frame.stream_id not in self._opened
        ):
            self._opened.add(frame.stream_id)
            self._stream_windows.setdefault(frame.stream_id, self._initial_window)
        return super()._on_frame(frame)

    def _end_block(self) -> list[Event]:
        assert self._block is not None
        first, fragments, _size = self._block
        self._block = None
        fields, error = self.blocks.decode(b"".join(fragments))
        violations: list[Violation] = []
        if error is not None:
            violations.append(
                Violation(
                    code="h2-hpack-error",
                    message=f"the header block on stream {first.stream_id} does not decode: {error}"
                    " (§4.3: COMPRESSION_ERROR)",
                )
            )
        elif first.stream_id in self._responded:
            violations += h2fields.field_violations(fields, pseudo=h2fields.REQUEST_PSEUDO, trailers=True)
        else:
            self._responded.add(first.stream_id)
            violations += h2fields.request_violations(fields)
        return [
            h2fields.HeaderBlock(
                stream_id=first.stream_id,
                frame=first.name,
                fields=fields,
                end_stream=bool(first.flags & fr.Flag.END_STREAM),
                error=error,
                violations=tuple(violations),
            )
        ]


SERVER_SESSIONS["h2"] = H2ServerSession


def _options(ctx: OpeningContext) -> H2ConnectOptions:
    options = getattr(ctx.step, "options", None)
    return options if isinstance(options, H2ConnectOptions) else H2ConnectOptions()


async def _accept_h2(ctx: OpeningContext) -> int | None:
    """Send our SETTINGS (the server connection preface), then read the client's: the magic
    string and a SETTINGS frame (RFC 9113 §3.4). Returns the number of events the opening
    consumed (up to the client's SETTINGS): what follows is for the case's steps."""
    session = ctx.connection.session
    if not isinstance(session, H2ServerSession):  # pragma: no cover - h2 client cases get these
        raise OpeningFailed(expected="an HTTP/2 connection", observed="not an HTTP/2 server session")
    options = _options(ctx)
    session.ack_settings = options.ack_settings
    if options.preface:
        ctx.connection.write(fr.encode_frame(fr.FrameType.SETTINGS, fr.settings_payload(options.settings)))
    held = session.outgoing()  # a SETTINGS ACK for a client SETTINGS read before our preface
    if held:
        ctx.connection.write(held)
    if not options.wait_settings:
        return None
    await _wait_for(
        ctx, lambda: session.first_frame is not None or _bad_preface(session), "the client preface"
    )
    _check_alpn(ctx, peer="client")
    expected = (
        "the client connection preface: PRI * HTTP/2.0 ... followed by a SETTINGS frame (RFC 9113 §3.4)"
    )
    if session.preface is None or not session.preface.ok:
        observed = (
            session.preface.describe()
            if session.preface is not None
            else (
                "the connection closed"
                if ctx.connection.ended
                else f"nothing within {ctx.run.step_timeout:g} s"
            )
        )
        raise OpeningFailed(expected=expected, observed=observed)
    first = session.first_frame
    if first is None:
        observed = (
            "the connection closed" if ctx.connection.ended else f"no frame within {ctx.run.step_timeout:g} s"
        )
        raise OpeningFailed(expected=expected, observed=f"the magic string, then {observed}")
    if not isinstance(first, fr.SettingsFrame) or first.flags & fr.Flag.ACK:
        raise OpeningFailed(expected=expected, observed=f"the magic string, then {first.describe()}")
    return next((i + 1 for i, event in enumerate(ctx.connection.events) if event is first), None) or 0


def _bad_preface(session: H2ServerSession) -> bool:
    return session.preface is not None and not session.preface.ok


ACCEPTORS["h2"] = Opener(open=_accept_h2)

__all__ = ["ClientPreface", "H2ServerSession"]
