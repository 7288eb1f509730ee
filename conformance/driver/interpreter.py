"""Run one case against one target: open connections, play the steps, judge, record."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, replace

from twisted.internet import defer
from twisted.internet.error import ConnectError, DNSLookupError, TCPTimedOutError
from twisted.internet.error import TimeoutError as ConnectTimeoutError
from twisted.internet.task import deferLater

# The protocol drivers (HTTP/2, WebSocket, WebSocket over HTTP/2) register their sessions
# and openings when imported; the registry they register with imports nothing from here.
import conformance.driver.protocols  # noqa: F401, I001
from conformance.codecs.http1 import Response
from conformance.driver.connection import WireProtocol
from conformance.driver.context import CaseError, RunOptions, connect_error_reason, tls_error_reason
from conformance.driver.endpoints import connect, endpoint_for
from conformance.driver.openers import OPENERS, NotApplicable, OpeningContext, OpeningFailed, not_applicable
from conformance.driver.recording import Recorder
from conformance.driver.sessions import session_for
from conformance.results import CaseResult
from conformance.scenario import model
from conformance.target import Target
from conformance.verdicts.expectations import (
    Cursor,
    Expectation,
    Grade,
    Matched,
    Mismatch,
    Observation,
    Pending,
    consumed,
)
from conformance.verdicts.judge import StepFailure, judge, skipped
from conformance.verdicts.verdict import Verdict

#: Seconds, at most, that a closing handshake under way when a case's steps are over is given
#: to end (the target closing the TCP connection) before the closing is judged.
CLOSING_GRACE = 1.0

#: ALPN offered over TLS by transport-only connect modes, per protocol.
DEFAULT_ALPN = {"h1": ("http/1.1",), "h2": ("h2",), "ws": ("http/1.1",)}


class CaseRun:
    def __init__(self, reactor: object, case: model.Case, target: Target, options: RunOptions) -> None:
        self.reactor = reactor
        self.case = case
        self.target = options.resolve(target)
        self.options = options
        self.recorder = (
            Recorder(reactor) if case.transcript is None else Recorder(reactor, byte_cap=case.transcript)
        )
        self.connection: WireProtocol | None = None
        self.cursor = Cursor(index=0, received=0)
        self.connected_once = False
        self.grades: list[Grade] = []
        self.failure: StepFailure | None = None
        self.observed: list[str] = []  # what each matched expect step consumed
        self.past_events: list[object] = []  # events of connections already replaced
        self.waited_out = False  # the verdict rests on a deadline running out
        self.received = 0  # bytes received on every connection of the case
        self.captured: dict[str, str] = {}  # template name -> value, from ``capture`` steps

    @property
    def step_timeout(self) -> float:
        return self.case.timeout if self.case.timeout is not None else self.options.timeout

    async def run(self) -> None:
        for index, step in enumerate(self.case.steps, start=1):
            self.recorder.event(f"step {index}: {step.describe()}")
            if not await self._step(index, step):
                return

    async def _step(self, index: int, step: model.Step) -> bool:
        """Play one step; False when the case ends with it."""
        if isinstance(step, model.Connect):
            return await self._connect(index, step)
        if isinstance(step, model.Send):
            return await self._send(index, step)
        if isinstance(step, model.Expect):
            return await self._expect(index, step) and not self._feature_absent_and_closed(index)
        if isinstance(step, model.Capture):
            return self._capture(index, step)
        if isinstance(step, model.Wait):
            await _sleep(self.reactor, step.ms / 1000)
        elif isinstance(step, model.Shutdown):
            self._require_connection().half_close()
        elif isinstance(step, model.Abort):
            self._require_connection().abort()
        else:  # pragma: no cover - the loader builds only the kinds above
            raise CaseError(f"unknown step {step!r}")
        return True

    async def settle_closing(self) -> None:
        """Once the steps are over, give a closing handshake under way a short, bounded time to
        end before it is judged: a target that closes the TCP connection a moment after its
        close frame (RFC 6455 §7.1.1: once it has sent and received one) closed cleanly, even
        when the case's verdict was decided by that close frame, before the TCP close came."""
        connection = self.connection
        facts_of = getattr(connection.session, "closing_facts", None) if connection is not None else None
        if connection is None or facts_of is None:
            return
        grace = min(self.step_timeout, CLOSING_GRACE)
        deadline = self.reactor.seconds() + grace
        noted = False
        while not connection.ended:
            facts = facts_of()
            if facts is None or facts.eof or not (facts.target_closed or facts.harness_closed):
                return
            left = deadline - self.reactor.seconds()
            if left <= 0:
                return
            if not noted:
                self.recorder.event(f"closing handshake under way: waiting up to {grace:g} s for its end")
                noted = True
            await connection.changed(left)

    def _require_connection(self) -> WireProtocol:
        if self.connection is None:
            raise CaseError("no connection: the case has no connect step")
        return self.connection

    async def _connect(self, index: int, step: model.Connect) -> bool:
        """Open a connection (and run the mode's protocol opening): False when the target
        failed the opening, which decides the case."""
        if self.connection is not None:
            self.past_events.extend(self.connection.events)
            self.received += self.connection.received
            self.connection.abort()
            release_session(self.connection)
        opener = OPENERS.get(step.mode)
        if opener is not None:
            opener = opener.for_target(self.target)
        if opener is None and step.mode not in ("target", "tcp", "tls"):
            raise CaseError(f"connect mode {step.mode!r} has no opening in this version of the driver")
        tls = step.mode == "tls" or (step.mode != "tcp" and self.target.tls)
        default_alpn = opener.alpn if opener is not None and opener.alpn else DEFAULT_ALPN[self.case.protocol]
        alpn = step.alpn or (default_alpn if tls else ())
        endpoint = endpoint_for(
            self.reactor,
            self.target,
            tls=tls,
            alpn=alpn,
            settings=self.options.tls,
            timeout=self.options.connect_timeout,
        )
        self.recorder.connection += 1
        protocol = WireProtocol(
            session=opener.session()
            if opener is not None and opener.session
            else session_for(self.case.protocol),
            recorder=self.recorder,
            reactor=self.reactor,
            byte_cap=self.options.byte_cap,
        )
        try:
            await connect(endpoint, protocol)
        except (ConnectError, DNSLookupError, OSError) as exc:
            # A connection attempt that timed out met a full listen queue or a starved
            # machine as often as a dead server: like a deadline run out, it earns the case
            # a second run, alone, when the target answered other cases (see run_suite).
            self.waited_out = isinstance(exc, (ConnectTimeoutError, TCPTimedOutError))
            raise CaseError(
                f"could not connect to {self.target.host}:{self.target.port}: {connect_error_reason(exc)}"
            ) from None
        if tls:
            await self._handshake(protocol)
        self.connected_once = True
        self.connection = protocol
        self.cursor = Cursor(index=0, received=0)
        self.recorder.event(f"connected to {self.target.host}:{self.target.port}" + (" (TLS)" if tls else ""))
        if opener is None:
            return True
        opened_at = self.reactor.seconds()
        try:
            consumed = await opener.open(OpeningContext(run=self, connection=protocol, step=step))
        except OpeningFailed as exc:
            if exc.unimplemented:
                self.grades.append(Grade.UNIMPLEMENTED)
                self.observed.append(exc.observed)
                self.recorder.event(f"step {index}: optional feature not offered: {exc.observed}")
            elif exc.acceptable:
                self.grades.append(Grade.NON_STRICT)
                self.observed.append(f"{exc.observed} (an acceptable, not preferred, outcome)")
                self.recorder.event(f"step {index}: the case ends, acceptably: {exc.observed}")
            else:
                # As for an expect step: an opening that ran out of time may have met a target
                # busy with other connections (a handshake is a step with the same deadline).
                timed_out = self.reactor.seconds() - opened_at >= self.step_timeout
                self.waited_out = _busy(protocol, timed_out, self.step_timeout)
                self.failure = StepFailure(
                    index=index, step=step, observed=exc.observed, expected=exc.expected
                )
                self.recorder.event(f"step {index} did not match: {exc.observed}")
            return False
        # The opening consumed the events it returned a count of (all, when it returned none):
        # what came after its part (an HTTP/2 SETTINGS ACK) is for the case's steps.
        index = consumed if isinstance(consumed, int) else len(protocol.events)
        self.cursor = Cursor(index=min(index, len(protocol.events)), received=_progress(protocol))
        return True

    async def _handshake(self, protocol: WireProtocol) -> None:
        """Wait for the TLS handshake: a failed one is the harness's ERROR, with the reason,
        not a FAIL of the target's HTTP."""
        done = protocol.handshake()
        done.addTimeout(self.options.connect_timeout, self.reactor)
        where = f"{self.target.host}:{self.target.port}"
        try:
            await done
        except defer.TimeoutError:
            protocol.abort()
            raise CaseError(
                f"TLS handshake with {where} did not finish within {self.options.connect_timeout:g} s"
            ) from None
        except Exception as exc:  # the connection was lost during the handshake
            raise CaseError(f"TLS handshake with {where} failed: {tls_error_reason(exc)}") from None
        self.recorder.event("TLS handshake done")

    def _feature_absent_and_closed(self, index: int) -> bool:
        """Whether the case ends, UNIMPLEMENTED, after an expect step: when the step just
        matched an ``unimplemented`` alternative (the target lacks the optional feature the
        rest of the case is about: later steps would test nothing), or an earlier one did and
        the target has since closed the connection (an HTTP/1.0 server that does not keep
        connections, say) — unless the next step opens a new connection."""
        connection = self.connection
        if self.grades and self.grades[-1] is Grade.UNEXERCISED:
            # The target answered in a way the RFC allows that never reached the rule
            # under test: later steps would judge nothing (the case ends SKIPPED).
            self.recorder.event(f"step {index}: the case ends (the rule under test was not exercised)")
            return True
        if Grade.UNIMPLEMENTED not in self.grades:
            return False
        following = self.case.steps[index : index + 1]
        if following and isinstance(following[0], model.Connect):
            return False
        if self.grades[-1] is not Grade.UNIMPLEMENTED and connection is not None and not connection.ended:
            return False
        self.recorder.event(f"step {index}: the case ends (optional feature not offered)")
        return True

    def _capture(self, index: int, step: model.Capture) -> bool:
        """Take values from the last final response the case matched so far. The case ends
        here when an earlier step matched an unimplemented alternative (UNIMPLEMENTED: the
        resource has no such validator, say), or when a value is missing (FAIL)."""
        if Grade.UNIMPLEMENTED in self.grades:
            self.recorder.event(f"step {index}: nothing to capture from: the feature is not offered")
            return False
        connection = self._require_connection()
        final = [
            e for e in connection.events[: self.cursor.index] if isinstance(e, Response) and not e.is_interim
        ]
        response = final[-1] if final else None
        for wanted in step.fields:
            value = captured_value(response, wanted)
            if value is None:
                where = response.describe() if response is not None else "no response"
                observed = f"no {wanted.describe()} in {where}"
                self.recorder.event(f"step {index}: {observed}")
                self.failure = StepFailure(
                    index=index, step=step, observed=observed, expected=f"a value for {wanted.describe()}"
                )
                return False
            self.captured[wanted.name] = value
        self.recorder.event(
            f"step {index}: captured " + ", ".join(f"{f.name}={self.captured[f.name]!r}" for f in step.fields)
        )
        return True

    async def _send(self, index: int, step: model.Send) -> bool:
        """Write a payload; False when the target makes the payload impossible to build (the
        case ends UNIMPLEMENTED)."""
        connection = self._require_connection()
        context = self.target.context()
        if self.captured:
            context = replace(context, captured=tuple(self.captured.items()))
        try:
            render_chunks = getattr(connection.session, "render_chunks", None)
            if render_chunks is not None and step.split is None:
                # Written as produced: a large payload (a 16 MiB frame) never exists whole.
                await connection.write_stream(
                    render_chunks(step.payload, context), stall_timeout=self.step_timeout
                )
                return True
            # A session that frames what it sends (WebSocket in HTTP/2 DATA) cuts the inner
            # protocol's octets and frames each piece as it is written.
            frame_piece = getattr(connection.session, "frame_piece", None) if step.split else None
            if frame_piece is not None:
                data = connection.session.render_unframed(step.payload, context)
            else:
                data = connection.session.render(step.payload, context)
        except NotApplicable as exc:
            self.grades.append(Grade.UNIMPLEMENTED)
            self.observed.append(str(exc))
            self.recorder.event(f"step {index}: not applicable to this target: {exc}")
            return False
        pieces = step.pieces(data)
        for number, piece in enumerate(pieces):
            if number:
                await _sleep(self.reactor, step.delay_ms / 1000)
            if frame_piece is not None:
                piece = frame_piece(piece)
            if not connection.write(piece):
                return True
        return True

    async def _expect(self, index: int, step: model.Expect) -> bool:
        connection = self._require_connection()
        expectation = step.expectation
        start = self.reactor.seconds()
        budget = self._expect_budget(expectation)
        cursor = Cursor(index=self.cursor.index, received=_progress(connection))
        timed_out = False
        while True:
            elapsed = self.reactor.seconds() - start
            timed_out = timed_out or elapsed >= budget
            if timed_out:
                self._deadline_passed(connection)
            observation = Observation(
                events=connection.events,
                received=_progress(connection),
                elapsed=elapsed,
                timed_out=timed_out or self._settled(connection),
            )
            outcome = expectation.evaluate(observation, cursor)
            if isinstance(outcome, Matched):
                self.grades.append(outcome.grade)
                self.observed.append(
                    consumed(connection.events, cursor.index, outcome.end) or expectation.describe()
                )
                self.cursor = Cursor(index=outcome.end, received=_progress(connection))
                self.recorder.event(
                    f"step {index} matched"
                    + (
                        ""
                        if outcome.grade is Grade.PASS
                        else f" ({outcome.grade.name.lower().replace('_', '-')})"
                    )
                )
                return True
            if isinstance(outcome, Mismatch):
                self.waited_out = _busy(connection, timed_out, budget)
                self.failure = StepFailure(index=index, step=step, observed=outcome.observed)
                self.recorder.event(f"step {index} did not match: {outcome.observed}")
                return False
            assert isinstance(outcome, Pending)
            wait = budget - elapsed
            if outcome.wake_after is not None:
                wait = min(wait, max(0.0, outcome.wake_after - elapsed))
            await self._wait_for_change(connection, wait)
            # One more reactor turn before judging: a timer (a silence, a deadline) runs before
            # the I/O of the same reactor iteration, so bytes or a close that had arrived by
            # then are read first, even when the reactor is slow (many cases in flight).
            await _sleep(self.reactor, 0)

    # -- what the client role (driver/client_role.py) plays differently; the server role's here

    def _expect_budget(self, expectation: Expectation) -> float:
        """Seconds an expect step waits for its outcome."""
        return max(self.step_timeout, expectation.min_duration + 0.5)

    def _settled(self, connection: WireProtocol) -> bool:
        """Whether nothing more can be observed on ``connection``."""
        return connection.ended

    async def _wait_for_change(self, connection: WireProtocol, wait: float) -> None:
        await connection.changed(wait)

    def _deadline_passed(self, connection: WireProtocol) -> None:
        """An expect step's deadline passed (the client role ends the client's process here)."""


def _busy(connection: WireProtocol, timed_out: bool, budget: float) -> bool:
    """Whether a step's deadline ran out on a connection the target answered late or never:
    it may have been busy with other connections (a single worker), not wrong — the case is
    run again, alone (see runner.run_suite)."""
    delay = connection.answer_delay()
    return timed_out and not connection.ended and (delay is None or delay > budget / 2)


def _progress(connection: WireProtocol) -> int:
    """Bytes received that count as the target saying something: all of them, or for a
    session that carries one protocol inside another (WebSocket in HTTP/2 streams) the
    inner protocol's only, so that a WINDOW_UPDATE does not break a ``silence``."""
    inner = getattr(connection.session, "inner_received", None)
    return inner if isinstance(inner, int) else connection.received


def captured_value(response: Response | None, field: model.Captured) -> str | None:
    """The value ``field`` takes from ``response``, or None when it has none."""
    if response is None:
        return None
    value = response.header(field.header)
    if value is None:
        return None
    if field.pattern is not None:
        match = re.search(field.pattern, value)
        if match is None or match.group(1) is None:
            return None
        value = match.group(1)
    if field.date_form is not None:
        return reformat_http_date(value, field.date_form)
    return value


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def reformat_http_date(value: str, form: str) -> str | None:
    """An IMF-fixdate rewritten as ``form`` (https://www.rfc-editor.org/rfc/rfc9110#section-5.6.7),
    or None when ``value`` is no IMF-fixdate."""
    match = re.fullmatch(
        r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{2}) (" + "|".join(_MONTHS) + r") ([0-9]{4}) "
        r"([0-9]{2}:[0-9]{2}:[0-9]{2}) GMT",
        value.strip(),
    )
    if match is None:
        return None
    day, month, year, clock = match.groups()
    try:
        weekday = datetime.date(int(year), _MONTHS.index(month) + 1, int(day)).weekday()
    except ValueError:
        return None
    if form == "rfc850-date":
        return f"{_DAYS[weekday]}, {day}-{month}-{year[2:]} {clock} GMT"
    if form == "asctime-date":
        return f"{_DAYS[weekday][:3]} {month} {int(day):2d} {clock} {year}"
    return value.strip()


def _sleep(reactor: object, seconds: float) -> defer.Deferred[None]:
    """A Deferred that fires ``seconds`` from now (0: after a reactor turn), to be awaited.
    Called once per piece of a split send and after every wake of an expect step (145,000
    times in a default run): the Deferred itself, not a coroutine wrapped around it."""
    return deferLater(reactor, seconds, _nothing)  # type: ignore[arg-type]


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class CaseOutcome:
    result: CaseResult
    connected: bool  # a connection could be made at all
    answered: bool  # the target sent at least one byte
    waited_out: bool  # the verdict rests on a deadline: the target may only have been busy


def skip_reason(case: model.Case, target: Target, options: RunOptions) -> str:
    """Why ``case`` does not run against ``target`` (SKIPPED), or "" when it does."""
    from conformance.scenario.registry import CAPABILITIES

    if case.role != "server":
        return "a client-role case: `conformance client` runs it against a client"
    resolved = options.resolve(target)
    missing = [name for name in case.requires if resolved.resource(name) is None]
    return "; ".join(CAPABILITIES[name].skip_reason for name in missing) or not_applicable(case, target) or ""


async def run_case(reactor: object, case: model.Case, target: Target, options: RunOptions) -> CaseOutcome:
    """Run a case to its verdict."""
    reason = skip_reason(case, target, options)
    if reason:
        return CaseOutcome(result=skipped(case, reason), connected=False, answered=False, waited_out=False)
    run = CaseRun(reactor, case, target, options)
    start = reactor.seconds()
    error: str | None = None
    inner = defer.Deferred.fromCoroutine(run.run())
    inner.addTimeout(options.case_timeout, reactor)
    try:
        await inner
        await run.settle_closing()
    except (defer.TimeoutError, defer.CancelledError):
        error = f"the case did not finish within its budget of {options.case_timeout:g} s"
        run.waited_out = True
    except CaseError as exc:
        error = str(exc)
    except Exception as exc:  # a harness bug must not take the run down
        error = f"harness error: {type(exc).__name__}: {exc}"
    finally:
        if run.connection is not None:
            run.connection.abort()
    if error:
        run.recorder.event(f"error: {error}")
    result = judge(
        case,
        grades=run.grades,
        failure=run.failure,
        error=error,
        events=[*run.past_events, *(run.connection.events if run.connection else [])],
        matched=run.observed,
        duration=reactor.seconds() - start,
        transcript=tuple(run.recorder.entries),
        truncated=run.recorder.truncated,
        closing=run.connection.session.closing_facts()
        if run.connection is not None and hasattr(run.connection.session, "closing_facts")
        else None,
    )
    if options.transcripts != "all" and result.verdict is Verdict.PASS and result.transcript:
        result = replace(result, transcript=(), transcript_omitted=len(result.transcript))
    received = run.received + (run.connection.received if run.connection else 0)
    if run.connection is not None:
        release_session(run.connection)
    return CaseOutcome(
        result=result, connected=run.connected_once, answered=received > 0, waited_out=run.waited_out
    )


def release_session(connection: WireProtocol) -> None:
    """Let a finished connection's session drop what it holds (compression contexts of a
    few hundred KiB): Twisted may keep the protocol object a while after the case."""
    release = getattr(connection.session, "release", None)
    if release is not None:
        release()
