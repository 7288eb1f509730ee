"""HTTP/2 expectations: frame patterns, the connection- and stream-error verifiers, responses.

HTTP/2 servers send frames a case did not ask about (a SETTINGS acknowledgement, a
WINDOW_UPDATE) at any time, so these patterns look *through* the events from the cursor
for one that decides them, passing over the rest; the connection closing, or the step's
deadline, decides them otherwise.

Sections below are of https://www.rfc-editor.org/rfc/rfc9113.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from conformance.codecs import h2frames as fr
from conformance.codecs.common import ConnectionClosed, Event, printable
from conformance.codecs.h2fields import HeaderBlock
from conformance.verdicts.expectations import (
    LISTED,
    Cursor,
    EventPattern,
    Expectation,
    Grade,
    Matched,
    Mismatch,
    Observation,
    Outcome,
    Pending,
    listing,
)
from conformance.verdicts.http1 import BodySpec, HeaderSpec, StatusSpec


def _shown(event: Event) -> bool:
    """HEADERS and CONTINUATION frames are shown by the header block decoded from them."""
    return not isinstance(event, (fr.HeadersFrame, fr.ContinuationFrame, fr.PushPromiseFrame))


def summary(
    obs: Observation, start: int, *, limit: int = LISTED, end: int | None = None, keep: Collection[int] = ()
) -> str:
    """What arrived from ``start`` on (up to ``end``, just past the event that decided), and how
    the wait ended, in a server author's words: the deciding event, and those in ``keep``, are
    always listed; the count of those left out is given."""
    decided = end is not None
    kept = {*keep, end - 1} if end is not None else set(keep)
    parts = listing(obs.events, start, end, keep=kept, shown=_shown, limit=limit)
    stop = len(obs.events) if end is None else end
    last = obs.events[stop - 1] if stop > start else None
    if not decided and not isinstance(last, ConnectionClosed):
        parts.append(
            f"nothing more within {obs.elapsed:.1f} s" if parts else f"nothing within {obs.elapsed:.1f} s"
        )
    return "; then ".join(parts)


def _mismatch(obs: Observation, start: int, *, end: int | None = None, suffix: str = "") -> Mismatch:
    """A mismatch that lists what arrived (see :func:`summary`); decided by the event just
    before ``end``, or by the deadline when ``end`` is None."""
    return Mismatch(
        observed=summary(obs, start, end=end) + suffix,
        end=len(obs.events) if end is None else end,
        at=None if end is None else end - 1,
        relist=lambda keep: summary(obs, start, end=end, keep=keep) + suffix,
    )


def _codes(codes: frozenset[int]) -> str:
    names = sorted(fr.error_name(code) for code in codes)
    return names[0] if len(names) == 1 else " or ".join(names)


@dataclass(frozen=True, kw_only=True)
class FramePattern(Expectation):
    """A frame matching the pattern arrives (other frames are passed over)."""

    frame_type: int | None = None
    flags: int = 0  # flags that must be set
    no_flags: int = 0  # flags that must not be set
    stream: int | None = None
    errors: frozenset[int] = frozenset()  # RST_STREAM / GOAWAY error codes accepted
    last_stream: int | None = None
    data: bytes | None = None  # PING opaque data, DATA body exactly
    length: int | None = None  # the payload length the frame header declares

    def describe(self) -> str:
        name = fr.type_name(self.frame_type) if self.frame_type is not None else "a frame"
        parts = []
        if self.stream is not None:
            parts.append(f"on stream {self.stream}")
        if self.errors:
            parts.append(f"error {_codes(self.errors)}")
        if self.last_stream is not None:
            parts.append(f"last stream {self.last_stream}")
        set_flags = fr.flag_names(self.frame_type if self.frame_type is not None else -1, self.flags)
        if set_flags:
            parts.append("with " + ", ".join(set_flags))
        cleared = fr.flag_names(self.frame_type if self.frame_type is not None else -1, self.no_flags)
        if cleared:
            parts.append("without " + ", ".join(cleared))
        if self.length is not None:
            parts.append(f"of {self.length} octets")
        if self.data is not None:
            parts.append(f"data {self.data.hex() if len(self.data) <= 16 else printable(self.data, 30)}")
        return f"{name} " + " ".join(parts) if parts else name

    def accepts(self, event: Event) -> bool:
        if not isinstance(event, fr.Frame):
            return False
        if self.frame_type is not None and event.type != self.frame_type:
            return False
        if (event.flags & self.flags) != self.flags or event.flags & self.no_flags:
            return False
        if self.stream is not None and event.stream_id != self.stream:
            return False
        if self.errors and getattr(event, "error_code", None) not in self.errors:
            return False
        if self.last_stream is not None and getattr(event, "last_stream_id", None) != self.last_stream:
            return False
        if self.length is not None and event.length != self.length:
            return False
        if self.data is not None:
            got = getattr(event, "opaque", getattr(event, "data", None))
            if got != self.data:
                return False
        return True

    def _ends_stream(self, event: Event) -> bool:
        """Whether ``event`` is the server resetting the pattern's stream: it then sends
        nothing more on it but PRIORITY (§5.1, closed), so the wait is over."""
        return (
            isinstance(event, fr.RstStreamFrame)
            and self.stream is not None
            and self.stream != 0
            and event.stream_id == self.stream
            and self.frame_type != fr.FrameType.PRIORITY
        )

    def _evaluate(self, obs: Observation, cursor: Cursor) -> Outcome:
        for index in range(cursor.index, len(obs.events)):
            event = obs.events[index]
            if self.accepts(event):
                return Matched(end=index + 1)
            if isinstance(event, ConnectionClosed) or self._ends_stream(event):
                return _mismatch(obs, cursor.index, end=index + 1)
        if obs.timed_out:
            return _mismatch(obs, cursor.index)
        return Pending()


#: §5.4: "an endpoint MAY use any applicable error code when it detects an error condition; a
#: generic error code (such as PROTOCOL_ERROR or INTERNAL_ERROR) can always be used in place
#: of more specific error codes." Allowed wherever a specific code is asked for, but it tells
#: the peer less: NON-STRICT.
GENERIC_ERRORS = frozenset({fr.ErrorCode.PROTOCOL_ERROR, fr.ErrorCode.INTERNAL_ERROR})


def _code_grade(code: int, errors: frozenset[int]) -> Grade | None:
    """The grade of an error ``code`` where one of ``errors`` is asked for; ``None``: wrong."""
    if code in errors:
        return Grade.PASS
    if code in GENERIC_ERRORS:
        return Grade.NON_STRICT
    return None


@dataclass(frozen=True, kw_only=True)
class ConnectionError_(Expectation):
    """§5.4.1: a connection error of one of ``errors``: a GOAWAY with that code (then,
    usually, the close); a close without GOAWAY is allowed ("SHOULD send a GOAWAY") but not
    preferred, so it is NON-STRICT, and so is a generic code (PROTOCOL_ERROR, INTERNAL_ERROR)
    in place of the specific one (§5.4).

    With ``before_ping_ack``, the opaque data of a PING the case sent after the frame under
    test, the step is decided when that PING is acknowledged, not at the deadline: an
    endpoint processes frames in the order received, and one that found a connection error
    stops processing (§5.4.1: it sends GOAWAY and closes), so an acknowledgement of a later
    PING with no GOAWAY or close before it shows the frame was processed without error.
    """

    errors: frozenset[int]
    before_ping_ack: bytes | None = None

    def describe(self) -> str:
        codes = _codes(self.errors)
        return f"a connection error {codes} (GOAWAY {codes}, or the connection closed)"

    def _evaluate(self, obs: Observation, cursor: Cursor) -> Outcome:
        for index in range(cursor.index, len(obs.events)):
            event = obs.events[index]
            if isinstance(event, fr.GoAwayFrame):
                grade = _code_grade(event.error_code, self.errors)
                if grade is not None:
                    return Matched(end=index + 1, grade=grade)
                return _mismatch(obs, cursor.index, end=index + 1)
            if isinstance(event, ConnectionClosed):
                return Matched(end=index + 1, grade=Grade.NON_STRICT)
            if (
                self.before_ping_ack is not None
                and isinstance(event, fr.PingFrame)
                and event.flags & fr.Flag.ACK
                and event.opaque == self.before_ping_ack
            ):
                return _mismatch(obs, cursor.index, end=index + 1)
        if obs.timed_out:
            return _mismatch(obs, cursor.index)
        return Pending()


def _answered(events: Sequence[Event], start: int, end: int, stream: int) -> bool:
    """Whether the server ended ``stream`` with a complete response between the indexes."""
    for event in events[start:end]:
        if isinstance(event, HeaderBlock) and event.stream_id == stream and event.end_stream:
            return True
        if isinstance(event, fr.DataFrame) and event.stream_id == stream and event.flags & fr.Flag.END_STREAM:
            return True
    return False


def _final_status(events: Sequence[Event], start: int, end: int, stream: int) -> int | None:
    for event in events[start:end]:
        if isinstance(event, HeaderBlock) and event.stream_id == stream and event.frame == "HEADERS":
            status = event.status
            if status is not None and status >= 200:
                return status
    return None


#: Statuses a server decides from a request's head alone, whatever its content: no such
#: resource (404), not this method (405), no such method at all (501).
REFUSED_FROM_HEAD = frozenset({404, 405, 501})


@dataclass(frozen=True, kw_only=True)
class StreamError(Expectation):
    """§5.4.2: a stream error of one of ``errors``: RST_STREAM with that code (on ``stream``
    when given), or — an endpoint may treat a stream error as a connection error — a GOAWAY
    with that code; a bare close is accepted as NON-STRICT.

    A server may answer a request before it has read all of it and then reset the stream
    with NO_ERROR (§8.1); it then MUST ignore what arrives on the stream (§5.1, closed): the
    frame under test came too late to be judged, so the rule is not exercised (SKIPPED).
    With ``malformed`` (§8.1.1), a 4xx response that ends the stream is NON-STRICT too:
    "a server MAY send an HTTP response prior to closing or resetting the stream". Where the
    malformed part follows the head (``after_head``: content, trailers), a 404, 405 or 501
    (``REFUSED_FROM_HEAD``) not followed by the RST_STREAM under test says nothing about it:
    not exercised.
    """

    errors: frozenset[int]
    stream: int | None = None
    malformed: bool = False
    #: The malformed part follows the request's head (content, trailers): a refusal the head
    #: alone decides may have come before it was read.
    after_head: bool = False

    def describe(self) -> str:
        where = f" on stream {self.stream}" if self.stream is not None else ""
        codes = _codes(self.errors)
        text = (
            f"a stream error {codes}{where} (RST_STREAM {codes}, or GOAWAY {codes}, or the connection closed)"
        )
        if self.malformed:
            text = (
                f"the request treated as malformed{where}: RST_STREAM {codes} (or GOAWAY {codes});"
                " a 4xx response or a close is acceptable"
            )
        return text

    def _evaluate(self, obs: Observation, cursor: Cursor) -> Outcome:
        for index in range(cursor.index, len(obs.events)):
            event = obs.events[index]
            if isinstance(event, fr.RstStreamFrame) and (
                self.stream is None or event.stream_id == self.stream
            ):
                grade = _code_grade(event.error_code, self.errors)
                if grade is not None:
                    return Matched(end=index + 1, grade=grade)
                if event.error_code == fr.ErrorCode.NO_ERROR and _answered(
                    obs.events, cursor.index, index, event.stream_id
                ):
                    # The server answered from what it had read and stopped reading (§8.1):
                    # the frame under test was never processed, so the rule is not exercised.
                    return Matched(end=index + 1, grade=Grade.UNEXERCISED)
                return _mismatch(obs, cursor.index, end=index + 1)
            if isinstance(event, fr.GoAwayFrame):
                grade = _code_grade(event.error_code, self.errors)
                if grade is not None:
                    return Matched(end=index + 1, grade=grade)
                return _mismatch(obs, cursor.index, end=index + 1)
            if isinstance(event, ConnectionClosed):
                return Matched(end=index + 1, grade=Grade.NON_STRICT)
            if (
                not self.malformed
                and self.stream is not None
                and isinstance(event, (HeaderBlock, fr.DataFrame))
                and event.stream_id == self.stream
                and _answered(obs.events, index, index + 1, self.stream)
            ):
                status = _final_status(obs.events, cursor.index, index + 1, self.stream)
                if status is not None and status < 400:
                    # The named stream was served whole: the error the case waits for is not
                    # coming on it, and waiting out the deadline would only delay the verdict.
                    return _mismatch(obs, cursor.index, end=index + 1)
            if self.malformed and isinstance(event, (HeaderBlock, fr.DataFrame)):
                stream = event.stream_id
                if (self.stream is None or stream == self.stream) and _answered(
                    obs.events, index, index + 1, stream
                ):
                    status = _final_status(obs.events, cursor.index, index + 1, stream)
                    from_head = self.after_head and status in REFUSED_FROM_HEAD
                    if status is not None and (400 <= status < 500 or from_head):
                        # A 4xx and then the RST_STREAM (it usually comes in the same read) is
                        # the preferred handling; the 4xx alone is acceptable.
                        for later in range(index + 1, len(obs.events)):
                            after = obs.events[later]
                            if isinstance(after, fr.RstStreamFrame) and after.stream_id == stream:
                                if after.error_code in self.errors:
                                    return Matched(end=later + 1)
                                if from_head:
                                    break
                        if from_head:
                            # No such resource, or not this method (a static handler's answer
                            # to a POST): decided by the request's head, with or without an
                            # RST_STREAM(NO_ERROR) to stop the upload (§8.1). Nothing shows
                            # the malformed part was read: the rule is not exercised.
                            return Matched(end=index + 1, grade=Grade.UNEXERCISED)
                        return Matched(end=index + 1, grade=Grade.NON_STRICT)
                    return _mismatch(obs, cursor.index, end=index + 1)
        if obs.timed_out:
            return _mismatch(obs, cursor.index)
        return Pending()


@dataclass(frozen=True, kw_only=True)
class H2Response:
    """A response assembled from a stream's header blocks and DATA frames."""

    stream_id: int
    head: HeaderBlock
    body: bytes = b""
    body_length: int = 0
    trailers: HeaderBlock | None = None
    complete: bool = False

    def header(self, name: str) -> str | None:
        return self.head.get(name)

    def describe(self) -> str:
        status = self.head.get(":status") or "(no :status)"
        end = "" if self.complete else ", not ended"
        return f"response {status} on stream {self.stream_id} ({self.body_length}-byte body{end})"


def _left_out(event: Event, stream: int | None) -> bool:
    """Whether ``event`` is a GOAWAY whose last-stream-id leaves ``stream`` out: its sender
    has not processed that stream and will not (§6.8), so no response to it will come."""
    return (
        isinstance(event, fr.GoAwayFrame)
        and stream is not None
        and stream % 2 == 1
        and event.last_stream_id < stream
    )


#: §6.8: the first GOAWAY of a two-phase graceful shutdown says nothing yet.
_SHUTDOWN_NOTICE = (1 << 31) - 1


@dataclass(frozen=True, kw_only=True)
class GracefulGoAway(Expectation):
    """§6.8: a graceful shutdown: a GOAWAY NO_ERROR whose last-stream-id covers every
    stream the server answered on the connection (any stream above it was refused and may
    be retried). A GOAWAY naming 2^31-1 (the notice of a two-phase shutdown) is passed over
    for the GOAWAY that follows it; a GOAWAY with another code, or one whose last-stream-id
    is below a stream the server answered, does not match."""

    def describe(self) -> str:
        return "a graceful GOAWAY (NO_ERROR, its last-stream-id covering the streams answered)"

    def _evaluate(self, obs: Observation, cursor: Cursor) -> Outcome:
        for index in range(cursor.index, len(obs.events)):
            event = obs.events[index]
            if isinstance(event, fr.GoAwayFrame):
                if event.error_code != fr.ErrorCode.NO_ERROR:
                    return _mismatch(obs, cursor.index, end=index + 1)
                if event.last_stream_id == _SHUTDOWN_NOTICE:
                    continue
                answered = [
                    e.stream_id
                    for e in obs.events[:index]
                    if isinstance(e, HeaderBlock) and e.frame == "HEADERS" and e.stream_id % 2 == 1
                ]
                if any(stream > event.last_stream_id for stream in answered):
                    return Mismatch(
                        observed=f"{event.describe()} after answering stream {max(answered)}", end=index + 1
                    )
                return Matched(end=index + 1)
            if isinstance(event, ConnectionClosed):
                return _mismatch(obs, cursor.index, end=index + 1)
        if obs.timed_out:
            return _mismatch(obs, cursor.index)
        return Pending()


@dataclass(frozen=True, kw_only=True)
class ResponsePattern(Expectation):
    """A whole response (final header block, DATA and trailers up to END_STREAM) on
    ``stream`` (any stream when not given) matching the pattern."""

    stream: int | None = None
    status: StatusSpec | None = None
    headers: tuple[HeaderSpec, ...] = ()
    body: BodySpec | None = None
    forbid_violations: bool = False
    body_cap: int = 1 << 20

    def describe(self) -> str:
        parts = [f"status {self.status.describe()}" if self.status else "any status"]
        parts.extend(spec.describe() for spec in self.headers)
        if self.body:
            parts.append(self.body.describe())
        if self.forbid_violations:
            parts.append("no RFC 9113 violations")
        where = f" on stream {self.stream}" if self.stream is not None else ""
        return f"a response{where} with " + ", ".join(parts)

    def _head(self, event: Event) -> bool:
        if not isinstance(event, HeaderBlock) or event.frame != "HEADERS":
            return False
        if self.stream is not None and event.stream_id != self.stream:
            return False
        status = event.status
        wants_interim = self.status is not None and self.status.wants_interim
        return event.error is not None or status is None or not (100 <= status < 200) or wants_interim

    def _evaluate(self, obs: Observation, cursor: Cursor) -> Outcome:
        events = obs.events
        start = None
        for index in range(cursor.index, len(events)):
            event = events[index]
            if self._head(event):
                start = index
                break
            if isinstance(event, fr.RstStreamFrame) and (
                self.stream is None or event.stream_id == self.stream
            ):
                return _mismatch(obs, cursor.index, end=index + 1)
            if isinstance(event, ConnectionClosed) or _left_out(event, self.stream):
                return _mismatch(obs, cursor.index, end=index + 1)
        if start is None:
            if obs.timed_out:
                return _mismatch(obs, cursor.index)
            return Pending()
        head = events[start]
        assert isinstance(head, HeaderBlock)
        if head.error is not None:
            return Mismatch(observed=head.describe(), end=start + 1)
        stream = head.stream_id
        body = bytearray()
        length = 0
        trailers = None
        complete = head.end_stream
        end = start + 1
        for index in range(start + 1, len(events)):
            if complete:
                break
            event = events[index]
            end = index + 1
            if isinstance(event, fr.DataFrame) and event.stream_id == stream:
                length += len(event.data) + event.truncated
                if len(body) < self.body_cap:
                    body += event.data[: self.body_cap - len(body)]
                complete = bool(event.flags & fr.Flag.END_STREAM)
            elif isinstance(event, HeaderBlock) and event.stream_id == stream and event.frame == "HEADERS":
                trailers = event
                complete = event.end_stream
            elif isinstance(event, fr.RstStreamFrame) and event.stream_id == stream:
                return Mismatch(observed=f"{head.describe()}; then {event.describe()}", end=end)
            elif isinstance(event, ConnectionClosed):
                return Mismatch(
                    observed=f"{head.describe()}; then {event.describe()} before END_STREAM", end=end
                )
        response = H2Response(
            stream_id=stream,
            head=head,
            body=bytes(body),
            body_length=length,
            trailers=trailers,
            complete=complete,
        )
        if not complete:
            if obs.timed_out:
                return Mismatch(
                    observed=f"{head.describe()}; the stream did not end within {obs.elapsed:.1f} s", end=end
                )
            return Pending()
        problems = []
        status = head.status
        if self.status and (status is None or not self.status.accepts(status)):
            problems.append(f"status {status if status is not None else 'missing'}")
        for spec in self.headers:
            problem = spec.check(response)  # type: ignore[arg-type]
            if problem:
                problems.append(problem)
        if self.body:
            problem = self.body.check(response)  # type: ignore[arg-type]
            if problem:
                problems.append(problem)
        if self.forbid_violations:
            codes = sorted({v.code for e in events[start:end] for v in getattr(e, "violations", ())})
            if codes:
                problems.append("violations: " + ", ".join(codes))
        if problems:
            return Mismatch(observed=f"{head.describe()} — " + "; ".join(problems), end=end)
        return Matched(end=end)


@dataclass(frozen=True, kw_only=True)
class NoFrame(Expectation):
    """No frame of the pattern arrived on the connection so far (from its start)."""

    pattern: FramePattern

    def describe(self) -> str:
        return f"no {self.pattern.describe()}"

    def _evaluate(self, obs: Observation, cursor: Cursor) -> Outcome:
        found: Sequence[Event] = [e for e in obs.events if self.pattern.accepts(e)]
        if found:
            return Mismatch(observed=found[0].describe(), end=cursor.index)
        return Matched(end=cursor.index)


@dataclass(frozen=True, kw_only=True)
class Closed(Expectation):
    """The target closes the connection; frames before the close are passed over (an HTTP/2
    server may acknowledge SETTINGS or send GOAWAY first)."""

    allow_reset: bool = True
    require_reset: bool = False

    def describe(self) -> str:
        if self.require_reset:
            return "the connection reset (RST)"
        return "the connection closed" if self.allow_reset else "the connection closed cleanly (FIN)"

    def _evaluate(self, obs: Observation, cursor: Cursor) -> Outcome:
        for index in range(cursor.index, len(obs.events)):
            event = obs.events[index]
            if isinstance(event, ConnectionClosed):
                if (event.reset and not self.allow_reset) or (self.require_reset and not event.reset):
                    return Mismatch(observed=event.describe(), end=index + 1)
                return Matched(end=index + 1)
        if obs.timed_out:
            return _mismatch(obs, cursor.index, suffix="; the connection still open")
        return Pending()


@dataclass(frozen=True, kw_only=True)
class NoViolation(Expectation):
    """None of the target's frames or header blocks so far broke these rules (violation
    codes such as ``h2-data-beyond-window``)."""

    codes: tuple[str, ...]

    def describe(self) -> str:
        return "no frame from the target breaking " + ", ".join(self.codes)

    def _evaluate(self, obs: Observation, cursor: Cursor) -> Outcome:
        for event in obs.events:
            for violation in getattr(event, "violations", ()) or ():
                if violation.code in self.codes:
                    return Mismatch(observed=f"{event.describe()}: {violation.describe()}", end=cursor.index)
        return Matched(end=cursor.index)


@dataclass(frozen=True, kw_only=True)
class RequiresSetting(Expectation):
    """The target's SETTINGS (its first) gave ``setting`` the ``value``; an absent setting counts
    as 0 (SETTINGS_ENABLE_PUSH as its initial value, 1). Otherwise the case is about a
    feature the target does not offer (or a situation that does not arise with it): the case
    ends UNIMPLEMENTED."""

    setting: int
    value: int

    def describe(self) -> str:
        return f"the target's SETTINGS_{fr.setting_name(self.setting)} to be {self.value}"

    def _evaluate(self, obs: Observation, cursor: Cursor) -> Outcome:
        for event in obs.events:
            if isinstance(event, fr.SettingsFrame) and not event.flags & fr.Flag.ACK:
                found = event.value(self.setting)
                if found is None:  # left out: its initial value (§6.5.2; ENABLE_PUSH starts at 1)
                    found = 1 if self.setting == fr.Setting.ENABLE_PUSH else 0
                if found == self.value:
                    return Matched(end=cursor.index)
                return Matched(end=cursor.index, grade=Grade.UNIMPLEMENTED)
        if obs.timed_out:
            return Mismatch(observed="no SETTINGS from the target", end=cursor.index)
        return Pending()


@dataclass(frozen=True, kw_only=True)
class NoFrameFor(Expectation):
    """No frame matching the pattern arrives for ``ms`` milliseconds (other frames may)."""

    pattern: FramePattern
    ms: int

    def describe(self) -> str:
        return f"no {self.pattern.describe()} for {self.ms} ms"

    @property
    def min_duration(self) -> float:
        return self.ms / 1000

    def _evaluate(self, obs: Observation, cursor: Cursor) -> Outcome:
        for index in range(cursor.index, len(obs.events)):
            event = obs.events[index]
            if self.pattern.accepts(event):
                return _mismatch(obs, cursor.index, end=index + 1)
            if isinstance(event, ConnectionClosed) and obs.elapsed < self.ms / 1000:
                # A target may close a connection at any time (a busy server resets some):
                # the frame can no longer come, but the wait that would have shown it was
                # cut short, so the rule is not exercised (never a FAIL). The close stays
                # for the steps after this one to see.
                return Matched(end=index, grade=Grade.UNEXERCISED)
        if obs.elapsed >= self.ms / 1000:
            return Matched(end=len(obs.events))
        if obs.timed_out:
            return Mismatch(observed="the wait was cut short", end=len(obs.events))
        return Pending(wake_after=self.ms / 1000)


@dataclass(frozen=True, kw_only=True)
class RequestPattern(EventPattern):
    """Client mode: the client's next request (a HEADERS field block) matches: its
    ``:method`` and ``:path``, its fields, and whether it breaks no rule of RFC 9113 §8
    (``violations: none``). Frames before it (SETTINGS, WINDOW_UPDATE, ...) are passed over."""

    method: str | None = None
    path: str | None = None
    stream: int | None = None
    headers: tuple[HeaderSpec, ...] = ()
    forbid_violations: bool = False

    def describe(self) -> str:
        parts = []
        if self.method is not None:
            parts.append(f":method {self.method}")
        if self.path is not None:
            parts.append(f":path {self.path!r}")
        if self.stream is not None:
            parts.append(f"on stream {self.stream}")
        parts.extend(spec.describe() for spec in self.headers)
        if self.forbid_violations:
            parts.append("breaking no rule of RFC 9113 §8")
        return "an HTTP/2 request" + (" with " + ", ".join(parts) if parts else "")

    def skips(self, event: Event) -> bool:
        if getattr(event, "beside_the_wire", False):
            return True
        if isinstance(event, HeaderBlock):
            return event.frame != "HEADERS"
        return isinstance(event, fr.Frame) and not event.violations

    def check(self, event: Event) -> str | None:
        if not isinstance(event, HeaderBlock):
            return event.describe()
        problems = []
        if self.stream is not None and event.stream_id != self.stream:
            problems.append(f"stream {event.stream_id}")
        if self.method is not None and event.get(":method") != self.method:
            problems.append(f":method {event.get(':method')}")
        if self.path is not None and event.get(":path") != self.path:
            problems.append(f":path {event.get(':path')!r}")
        for spec in self.headers:
            problem = spec.check(_Named(event))  # type: ignore[arg-type]  # duck-typed: .header()
            if problem:
                problems.append(problem)
        if event.error is not None:
            problems.append(f"undecodable: {event.error}")
        if self.forbid_violations and event.violations:
            problems.append("violations: " + ", ".join(sorted({v.code for v in event.violations})))
        return f"{event.describe()} — " + "; ".join(problems) if problems else None


@dataclass(frozen=True)
class _Named:
    """A header block read by name, as :class:`HeaderSpec` reads a response."""

    block: HeaderBlock

    def header(self, name: str) -> str | None:
        return self.block.get(name)
