"""WebSocket expectations (frames, messages, the close) and the closing-handshake verdict:
pure functions of what a connection observed.

Like Autobahn, a WebSocket case has two verdicts: the behaviour (the case's verdict) and
the closing handshake (:func:`closing_verdict`): was the connection closed cleanly, with
an expected code, and who closed it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.codecs.common import ConnectionClosed, Event, printable
from conformance.codecs.http1 import Response
from conformance.codecs.ws.frames import Frame, Garbled, Opcode, is_control
from conformance.codecs.ws.handshake import HandshakeOutcome
from conformance.codecs.ws.messages import Message, ProtocolError
from conformance.verdicts.expectations import (
    Cursor,
    EventPattern,
    Expectation,
    Grade,
    Matched,
    Mismatch,
    Observation,
    Outcome,
    Pending,
    unmatched_after,
)


@dataclass(frozen=True, kw_only=True)
class HandshakeResponse(Response):
    """A 101 answer to a WebSocket opening handshake, with what its check found."""

    outcome: HandshakeOutcome = field(default_factory=lambda: HandshakeOutcome(problems=()))

    def describe(self) -> str:
        base = super().describe()
        if self.outcome.problems:
            return f"{base} — an invalid handshake: {'; '.join(self.outcome.problems)}"
        extras = []
        if self.outcome.subprotocol:
            extras.append(f"subprotocol {self.outcome.subprotocol}")
        if self.outcome.extensions:
            extras.append("extensions " + ", ".join(e.render() for e in self.outcome.extensions))
        return base + (f" ({'; '.join(extras)})" if extras else "")

    def detail(self) -> dict[str, Any]:
        out = super().detail()
        out["handshake_problems"] = list(self.outcome.problems)
        return out


def _data_frame(event: Event) -> bool:
    return isinstance(event, Frame) and event.opcode in (Opcode.CONTINUATION, Opcode.TEXT, Opcode.BINARY)


def _broken(event: Frame | Message) -> str:
    """What the target got wrong in a frame or message it sent (RFC 6455 §5: a server's
    frames are unmasked, minimally encoded, ...)."""
    return f"{event.describe()}, which breaks the rules: " + "; ".join(v.describe() for v in event.violations)


@dataclass(frozen=True, kw_only=True)
class HandshakePattern(EventPattern):
    """A 101 answer that passes every check of RFC 6455 §4.1, with the negotiated
    subprotocol and extensions asked for (None: not checked; "" / (): none)."""

    subprotocol: str | None = None
    extensions: tuple[str, ...] | None = None

    def describe(self) -> str:
        text = "a valid 101 handshake response"
        if self.subprotocol is not None:
            text += (
                f" choosing subprotocol {self.subprotocol}" if self.subprotocol else " with no subprotocol"
            )
        if self.extensions is not None:
            text += (
                f" with extensions {', '.join(self.extensions)}" if self.extensions else " with no extension"
            )
        return text

    def check(self, event: Event) -> str | None:
        if not isinstance(event, HandshakeResponse):
            return event.describe()
        outcome = event.outcome
        if outcome.problems:
            return event.describe()
        if self.subprotocol is not None and (outcome.subprotocol or "") != self.subprotocol.lower():
            return f"subprotocol {outcome.subprotocol or 'none'} chosen"
        if self.extensions is not None:
            names = tuple(ext.name for ext in outcome.extensions)
            if names != tuple(name.lower() for name in self.extensions):
                return f"extensions: {', '.join(names) or 'none'}"
        return None


@dataclass(frozen=True, kw_only=True)
class FramePattern(EventPattern):
    """The next frame (messages, already seen frame by frame, are passed over)."""

    opcode: int | None = None
    payload: bytes | None = None
    fin: bool | None = None
    rsv: tuple[bool | None, bool | None, bool | None] = (None, None, None)

    def describe(self) -> str:
        what = f"a {Opcode.name_of(self.opcode)} frame" if self.opcode is not None else "a frame"
        if self.payload is not None:
            what += f' with payload "{printable(self.payload, 40)}"' if self.payload else " with no payload"
        if self.fin is not None:
            what += " with FIN set" if self.fin else " with FIN clear"
        for n, bit in enumerate(self.rsv, 1):
            if bit is not None:
                what += f", RSV{n} {'set' if bit else 'clear'}"
        return what

    def skips(self, event: Event) -> bool:
        return isinstance(event, Message | ProtocolError)

    def check(self, event: Event) -> str | None:
        if not isinstance(event, Frame):
            return event.describe()
        if event.violations:
            return _broken(event)
        if self.opcode is not None and event.opcode != self.opcode:
            return event.describe()
        if self.payload is not None and (event.payload != self.payload or event.length != len(self.payload)):
            return event.describe()
        if self.fin is not None and event.fin != self.fin:
            return event.describe()
        for want, got in zip(self.rsv, event.rsv, strict=True):
            if want is not None and want != got:
                return event.describe()
        return None


@dataclass(frozen=True, kw_only=True)
class MessagePattern(EventPattern):
    """The next whole data message (its frames are passed over): an exact text or binary
    payload (by SHA-256 for large ones), a length, or ``echo``: equal in type and bytes to the
    oldest message we sent that has not come back yet."""

    kind: str | None = None  # "text" | "binary"
    payload: bytes | None = None
    digest: str | None = None
    length: int | None = None
    echo: bool = False
    count: int = 1  # with echo: this many messages in a row, each the echo of ours
    shown: str = ""  # how the expected payload reads

    def describe(self) -> str:
        if self.echo:
            return "the message we sent, echoed" if self.count == 1 else f"our {self.count} messages, echoed"
        what = f"a {self.kind} message" if self.kind else "a message"
        if self.shown:
            what += f" {self.shown}"
        elif self.length is not None:
            what += f" of {self.length} bytes"
        return what

    def skips(self, event: Event) -> bool:
        return _data_frame(event) or isinstance(event, ProtocolError)

    def _evaluate(self, obs: Observation, cursor: Cursor) -> Outcome:
        seen = 0
        for index in range(cursor.index, len(obs.events)):
            event = obs.events[index]
            if self.skips(event):
                continue
            problem = self.check(event)
            if problem is not None:
                prefix = f"after {seen} echoed messages: " if seen else ""
                return Mismatch(observed=prefix + problem, end=index + 1, at=index)
            seen += 1
            if seen == self.count:
                return Matched(end=index + 1)
        if obs.timed_out:
            if seen:
                observed = f"only {seen} of {self.count} messages echoed within {obs.elapsed:.1f} s"
                return Mismatch(observed=observed, end=len(obs.events))
            return unmatched_after(obs, cursor.index)
        return Pending()

    def check(self, event: Event) -> str | None:
        if not isinstance(event, Message):
            return event.describe()
        if event.violations:
            return _broken(event)
        if self.echo:
            if event.echo:
                return None
            return f"{event.describe()}: {event.echo_problem or 'not an echo of what was sent'}"
        if self.kind is not None and event.kind != self.kind:
            return event.describe()
        if self.length is not None and event.length != self.length:
            return event.describe()
        if self.payload is not None and (event.length != len(self.payload) or event.payload != self.payload):
            return event.describe()
        if self.digest is not None and event.digest != self.digest:
            return f"{event.describe()} with other content"
        return None


@dataclass(frozen=True, kw_only=True)
class ClosePattern(Expectation):
    """The target's close frame, then (waited for, up to the deadline) the TCP close, with
    nothing in between (RFC 6455 §5.5.1: no data frame after a Close frame; a control frame
    there is allowed, not expected: NON-STRICT).

    ``codes``: the close codes accepted (empty: any; ``no_code``: a close frame without a
    code is accepted too). ``clean``: the TCP connection must then close too. With
    ``failing`` (the ``fail`` kind: the target must _Fail the WebSocket Connection_, RFC 6455
    §7.1.7), a close frame with another code, or a TCP close with no close frame at all, is
    acceptable but not preferred (the close frame and its code are SHOULDs). ``earlier``:
    a close that came before this step counts too (for "fail fast" cases, whose later steps
    run whether or not the target already failed the connection)."""

    codes: tuple[int, ...] = ()
    no_code: bool = False
    clean: bool = False
    failing: bool = False
    earlier: bool = False

    def describe(self) -> str:
        if self.codes:
            codes = " or ".join(str(c) for c in self.codes) + (" (or none)" if self.no_code else "")
            frame = f"a close frame with code {codes}"
        else:
            frame = "a close frame"
        if self.failing:
            text = f"the connection failed: {frame}, then the TCP connection (over HTTP/2: the stream) closed"
        else:
            text = frame + (
                ", then the TCP connection (over HTTP/2: the stream) closed" if self.clean else ""
            )
        return text + (" (now or already)" if self.earlier else "")

    def _code_ok(self, frame: Frame) -> bool:
        code = frame.close_code
        if code is None:
            return self.no_code or not self.codes
        return not self.codes or code in self.codes

    def _evaluate(self, obs: Observation, cursor: Cursor) -> Outcome:
        start = cursor.index
        if self.earlier:
            for index in range(cursor.index):
                event = obs.events[index]
                if isinstance(event, Frame) and event.opcode == Opcode.CLOSE:
                    start = index
                    break
                if isinstance(event, ConnectionClosed):
                    start = index
                    break
        return self._from(obs, start)

    def _from(self, obs: Observation, start: int) -> Outcome:
        events = obs.events
        for index in range(start, len(events)):
            event = events[index]
            # A client under test that exits (client mode) is seen beside the wire: its exit
            # may reach the harness before the close frame or the TCP close it wrote first,
            # so it decides nothing here; the wire's next event does.
            if isinstance(event, ProtocolError) or getattr(event, "beside_the_wire", False):
                continue
            if isinstance(event, ConnectionClosed | Garbled):
                if self.failing and not self.clean:
                    return Matched(end=index + 1, grade=Grade.NON_STRICT)
                return Mismatch(observed=f"{event.describe()} without a close frame", end=index + 1, at=index)
            if not (isinstance(event, Frame) and event.opcode == Opcode.CLOSE):
                return Mismatch(observed=event.describe(), end=index + 1, at=index)
            if event.violations and not self.failing:
                return Mismatch(observed=_broken(event), end=index + 1, at=index)
            grade = Grade.PASS
            if not self._code_ok(event):
                if not self.failing:
                    return Mismatch(observed=event.describe(), end=index + 1, at=index)
                grade = Grade.NON_STRICT
            # Wait for the TCP close, to know how the closing handshake ended.
            for after in range(index + 1, len(events)):
                follow = events[after]
                if isinstance(follow, ConnectionClosed):
                    return Matched(end=after + 1, grade=grade)
                if isinstance(follow, Frame) and is_control(follow.opcode) and not follow.violations:
                    # RFC 6455 §5.5.1 forbids only data frames after a Close frame: a pong to a
                    # ping that came after the close (§5.5.2 no longer requires it, nor forbids
                    # it) or a second close is allowed, though not what is expected.
                    grade = Grade.NON_STRICT
                    continue
                if isinstance(follow, Frame | Message):
                    return Mismatch(
                        observed=f"{event.describe()}; then, after it, {follow.describe()}",
                        end=after + 1,
                        at=after,
                    )
            if not obs.timed_out:
                return Pending()
            if self.clean:
                return Mismatch(
                    observed=f"{event.describe()}, then the connection still open after {obs.elapsed:.1f} s",
                    end=len(events),
                    at=index,
                )
            return Matched(end=len(events), grade=grade)
        if obs.timed_out:
            return unmatched_after(obs, start)
        return Pending()


@dataclass(frozen=True, kw_only=True)
class StreamResetPattern(EventPattern):
    """WebSocket over HTTP/2: the target resets the WebSocket's stream (RST_STREAM, RFC 8441
    §5: the abortive close of the TCP connection) with one of ``errors`` (empty: any), or —
    with ``goaway`` — fails the whole connection with a GOAWAY of one of them."""

    errors: tuple[int, ...] = ()
    goaway: bool = False

    def describe(self) -> str:
        from conformance.codecs.h2frames import error_name

        codes = " or ".join(error_name(code) for code in self.errors)
        what = "GOAWAY" if self.goaway else "RST_STREAM"
        return f"the stream reset: {what}" + (f" ({codes})" if codes else "")

    def skips(self, event: Event) -> bool:
        return isinstance(event, ProtocolError)

    def check(self, event: Event) -> str | None:
        from conformance.codecs.ws.h2handshake import StreamEnded

        wanted = "GOAWAY" if self.goaway else "RST_STREAM"
        if not isinstance(event, StreamEnded) or event.how != wanted:
            return event.describe()
        if self.errors and event.error not in self.errors:
            return event.describe()
        return None


# ---------------------------------------------------------------- the closing handshake


class CloseVerdict(enum.Enum):
    """Autobahn's second dimension: how the connection closed."""

    OK = "OK"  # close frames both ways, then the target closed TCP (RFC 6455 §7.1.1)
    # Close frames both ways, then a TCP reset: closed cleanly all the same (§7.1.4), but not
    # the clean TCP close that §7.1.1 says an endpoint SHOULD use.
    NON_STRICT = "NON-STRICT"
    WRONG_CODE = "WRONG CODE"  # the target's close code is not one the case accepts
    UNCLEAN = "UNCLEAN"  # TCP closed (or reset) without a complete closing handshake, or kept open


@dataclass(frozen=True, kw_only=True)
class ClosingFacts:
    """What the WebSocket session saw of the closing handshake."""

    target_code: int | None = None  # the target's close frame (None: no code in it)
    target_closed: bool = False  # the target sent a close frame
    harness_code: int | None = None
    harness_closed: bool = False  # we sent a close frame
    first: str = ""  # "target" | "harness": who sent the first close frame
    eof: bool = False  # the target closed the TCP connection (over HTTP/2: ended the stream)
    # What carries the WebSocket: over HTTP/2 (RFC 8441 §5) the stream's END_STREAM stands
    # for the TCP close, and RST_STREAM for a reset.
    transport: str = "TCP"


@dataclass(frozen=True, kw_only=True)
class Closing:
    verdict: CloseVerdict
    detail: dict[str, Any]

    def describe(self) -> str:
        return f"{self.verdict.value}: {self.detail.get('text', '')}"


def _close_expectations(expectations: Sequence[Expectation]) -> list[ClosePattern]:
    found: list[ClosePattern] = []
    for item in expectations:
        if isinstance(item, ClosePattern):
            found.append(item)
        for child in getattr(item, "alternatives", ()) + getattr(item, "items", ()):
            found += _close_expectations([child])
    return found


def closing_verdict(
    facts: ClosingFacts | None, events: Sequence[Event], expectations: Sequence[Expectation]
) -> Closing | None:
    """The closing-handshake verdict of a case: None when no side began to close."""
    patterns = _close_expectations(expectations)
    if facts is None or not (facts.target_closed or facts.harness_closed or facts.eof):
        return None  # nothing closed: the case was about something else
    reset = any(isinstance(e, ConnectionClosed) and e.reset for e in events)
    detail: dict[str, Any] = {
        "target_code": facts.target_code,
        # Whether the target sent a close frame: tells "no close frame" from one without a code.
        "target_closed": facts.target_closed,
        "harness_code": facts.harness_code,
        "closed_by": facts.first or ("target" if facts.eof else "nobody"),
        "clean": False,
    }
    who = f"closed by the {detail['closed_by']}" if detail["closed_by"] != "nobody" else "not closed"
    carrier = facts.transport
    if carrier != "TCP":
        detail["transport"] = carrier
    code = f"code {facts.target_code}" if facts.target_code is not None else "no code"
    connection = "TCP connection" if carrier == "TCP" else carrier
    handshake_done = facts.target_closed and facts.harness_closed
    if handshake_done and (facts.eof or reset):
        # RFC 6455 §7.1.4: "If the TCP connection was closed after the WebSocket closing
        # handshake was completed, the WebSocket connection is said to have been closed
        # cleanly" -- however it was closed. A reset only misses §7.1.1's "SHOULD use a
        # method that cleanly closes the TCP connection".
        detail["clean"] = True
        if reset:
            verdict = CloseVerdict.NON_STRICT
            text = (
                f"closing handshake completed ({who}, target's {code}), then the {connection} reset"
                " by the target: closed cleanly (RFC 6455 §7.1.4), but not in the orderly way"
                " §7.1.1 says it SHOULD be"
            )
        else:
            verdict = CloseVerdict.OK
            text = f"clean closing handshake, {who}, target's {code}"
    elif facts.eof or reset:
        verdict = CloseVerdict.UNCLEAN
        missing = "no close frame from the target" if not facts.target_closed else "no close frame from us"
        text = f"{carrier} {'reset' if reset else 'closed'} by the target with {missing}"
    elif handshake_done:
        verdict = CloseVerdict.UNCLEAN
        text = f"close frames exchanged ({who}), but the target kept the {connection} open"
    elif facts.harness_closed:
        verdict = CloseVerdict.UNCLEAN
        text = f"no close frame from the target in answer to ours, and the {connection} still open"
    else:
        verdict = CloseVerdict.UNCLEAN
        text = f"the target's close frame ({code}) was not answered, and the {connection} still open"
    codes = {c for p in patterns for c in p.codes}
    if (
        verdict in (CloseVerdict.OK, CloseVerdict.NON_STRICT)
        and codes
        and facts.target_code is not None
        and facts.target_code not in codes
    ):
        expected = " or ".join(str(c) for c in sorted(codes))
        text = f"{who}, target's {code}, expected {expected}" + (
            f"; then the {connection} reset by the target" if verdict is CloseVerdict.NON_STRICT else ""
        )
        verdict = CloseVerdict.WRONG_CODE
    detail["text"] = text
    return Closing(verdict=verdict, detail=detail)
