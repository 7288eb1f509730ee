"""Autobahn's fuzzingserver URL protocol on one listening port (client mode, ``--serve-autobahn``).

The client under test is not started by the harness: a test script written for Autobahn's
fuzzingserver comes to it, one WebSocket connection per request, and the request's path says
what it wants (the catalogue and its records: :mod:`conformance.autobahn`):

- ``/getCaseCount``: one text message, the number of cases served (a JSON number), then a close;
- ``/getCaseInfo?case=N`` (or ``casetuple=ID``): ``{"id": ..., "description": ...}``, then a close;
- ``/runCase?case=N&agent=A`` (or ``casetuple=ID``): case N is played on this very connection,
  from its ``accept`` step on (the opening handshake is the one this request carried), by the
  client role's interpreter (:class:`ServedCaseRun`); when its steps are over, a connection
  still open is closed with a closing handshake, so that the script's echo loop ends;
- ``/getCaseStatus?case=N&agent=A``: ``{"behavior": ...}`` once case N of agent A has a verdict
  (waiting for one being played), then a close;
- ``/updateReports?agent=A``: the reports written once A's cases in play have their verdicts
  (before the handshake is answered, so that a script that leaves at once finds them), then a
  close; ``shutdownOnComplete=true`` stops serving;
- ``/stopServer``: stops serving.

A request the endpoint cannot take (no such case, no agent, an unknown path, a handshake that
is not one) is refused with an HTTP 4xx/5xx answer that says why. Bounds: connections open at
once (past them a new one is dropped), cases played at once (``jobs``; heavy ones one at a
time), agents, and a deadline on every wait.
"""

from __future__ import annotations

import contextlib
import datetime
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

from twisted.internet import defer
from twisted.internet.protocol import Factory, connectionDone
from twisted.python.failure import Failure

from conformance.autobahn import EXIT_NOTE, Catalogue, Played, Scoreboard, ServedCase, behavior
from conformance.codecs.ws.answer import WsAnswer
from conformance.codecs.ws.close import encode_close_payload
from conformance.codecs.ws.frames import Frame, Garbled, Opcode, encode_frame
from conformance.driver.client_role import AcceptedProtocol, ClientCaseRun, ClientTarget, url_scheme
from conformance.driver.connection import WireProtocol
from conformance.driver.context import CaseError, RunOptions
from conformance.driver.endpoints import listen
from conformance.driver.interpreter import CLOSING_GRACE, release_session
from conformance.driver.recording import Recorder
from conformance.driver.ws_server import ClientHandshake, WsServerSession
from conformance.results import CaseResult
from conformance.scenario import model
from conformance.verdicts.expectations import Cursor
from conformance.verdicts.judge import judge
from conformance.verdicts.verdict import Verdict

#: Connections open at once; a connection past them is dropped as it comes.
MAX_CONNECTIONS = 32
#: Seconds a connection is given to send its opening handshake, and a service connection
#: (count, info, status, reports) to close once answered.
HANDSHAKE_TIMEOUT = 10.0
#: Seconds ``getCaseStatus`` waits, at most, for a verdict being reached.
STATUS_WAIT = 60.0


class Refused(Exception):
    """A request the endpoint does not take: answered with ``status`` and the message."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class _ServedProtocol(AcceptedProtocol):
    """A connection to the endpoint: its recorder is the transcript of the case it may play."""

    endpoint: AutobahnEndpoint

    def connectionMade(self) -> None:  # noqa: N802 - Twisted's name
        WireProtocol.connectionMade(self)  # not the client role's listener: the endpoint's
        self.endpoint.made(self)

    def connectionLost(self, reason: Failure = connectionDone) -> None:  # noqa: N802 - Twisted's name
        super().connectionLost(reason)
        self.endpoint.lost(self)


class AutobahnEndpoint:
    """Serves the catalogue; calls ``on_case_done(played)`` as each case ends, ``on_note(text)``
    with what the operator should know that is no verdict (a client that left before its case
    began), ``on_reports()`` for ``/updateReports``; :attr:`stopped` fires (with the
    reason) when a request or the idle timeout asks serving to end."""

    def __init__(
        self,
        reactor: Any,
        catalogue: Catalogue,
        scoreboard: Scoreboard,
        options: RunOptions,
        *,
        jobs: int = 4,
        on_note: Callable[[str], None] | None = None,
        on_case_done: Callable[[Played], None] | None = None,
        on_reports: Callable[[], None] | None = None,
        stop_after_reports: bool = False,
        idle_timeout: float | None = None,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.reactor = reactor
        self.catalogue = catalogue
        self.scoreboard = scoreboard
        self.options = options
        self.on_note = on_note
        self.on_case_done = on_case_done
        self.on_reports = on_reports
        self.stop_after_reports = stop_after_reports
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.port: Any = None
        self.stopped: defer.Deferred[str] = defer.Deferred()
        self.connections: set[_ServedProtocol] = set()
        self._slots = defer.DeferredSemaphore(jobs)
        self._heavy = defer.DeferredSemaphore(1)
        self._playing: dict[tuple[str, int], list[defer.Deferred[None]]] = {}
        self._tasks: set[defer.Deferred[None]] = set()
        self._last_activity = reactor.seconds()
        self._idle_timer: Any = None

    # -- listening and lifetime

    def listen(self, port: int) -> int:
        """Start listening (loopback); the port bound (``port`` 0: a free one)."""
        factory = Factory.forProtocol(self._protocol)
        self.port = listen(self.reactor, port, factory, tls=self.options.serve_tls, suite="ws")
        if self.idle_timeout is not None:
            self._idle_timer = self.reactor.callLater(self.idle_timeout, self._idle_check)
        return int(self.port.getHost().port)

    @property
    def bound_port(self) -> int:
        return int(self.port.getHost().port) if self.port is not None else 0

    def stop(self, reason: str) -> None:
        """Ask serving to end (the caller then calls :meth:`close`)."""
        if not self.stopped.called:
            self.stopped.callback(reason)

    async def close(self) -> int:
        """Stop listening, cancel the cases being played and drop every connection; the number
        of cases that were cancelled (their verdicts lost)."""
        if self._idle_timer is not None and self._idle_timer.active():
            self._idle_timer.cancel()
        if self.port is not None:
            await self.port.stopListening()
        cancelled = len(self._playing)
        for task in list(self._tasks):
            task.cancel()
        for connection in list(self.connections):
            connection.abort()
        return cancelled

    def _idle_check(self) -> None:
        assert self.idle_timeout is not None
        idle_for = self.reactor.seconds() - self._last_activity
        if not self.connections and idle_for >= self.idle_timeout:
            self.stop(f"no connection for {self.idle_timeout:g} s (--idle-timeout)")
            return
        wait = self.idle_timeout - idle_for if not self.connections else self.idle_timeout
        self._idle_timer = self.reactor.callLater(max(0.05, wait), self._idle_check)

    # -- connections

    def _protocol(self) -> _ServedProtocol:
        protocol = _ServedProtocol(
            session=WsServerSession(),
            recorder=Recorder(self.reactor),
            reactor=self.reactor,
            byte_cap=self.options.byte_cap,
        )
        protocol.endpoint = self
        return protocol

    def made(self, connection: _ServedProtocol) -> None:
        self._last_activity = self.reactor.seconds()
        if len(self.connections) >= self.max_connections:
            connection.abort()
            return
        self.connections.add(connection)
        connection.recorder.connection = 1
        peer = connection.transport.getPeer() if connection.transport else None
        connection.recorder.event(
            f"accepted a connection from {peer.host}:{peer.port}" if peer else "accepted"
        )
        task = defer.Deferred.fromCoroutine(self._serve(connection))
        self._tasks.add(task)
        task.addErrback(self._failed, connection)
        task.addBoth(lambda _: self._tasks.discard(task))

    def _failed(self, failure: Failure, connection: _ServedProtocol) -> None:
        """A connection's handling ended in an exception: cancelled when serving stops, else a
        harness defect, said (with its traceback) but not fatal to the other connections."""
        connection.abort()
        if failure.check(defer.CancelledError) or self.on_note is None:
            return
        self.on_note(
            "internal error while serving a connection (please report it):\n" + failure.getTraceback()
        )

    def lost(self, connection: _ServedProtocol) -> None:
        self._last_activity = self.reactor.seconds()
        self.connections.discard(connection)

    async def _serve(self, connection: _ServedProtocol) -> None:
        handshake = await self._handshake_of(connection)
        if handshake is None:
            connection.abort()
            return
        parts = urlsplit(handshake.request.target)
        query = parse_qs(parts.query)
        try:
            if handshake.problems:
                raise Refused(
                    400, "Bad Request", "not a WebSocket opening handshake: " + "; ".join(handshake.problems)
                )
            await self._route(connection, parts.path, query)
        except Refused as exc:
            self._refuse(connection, exc)

    async def _handshake_of(self, connection: _ServedProtocol) -> ClientHandshake | None:
        deadline = self.reactor.seconds() + HANDSHAKE_TIMEOUT
        while not connection.events:
            left = deadline - self.reactor.seconds()
            if connection.ended or left <= 0:
                return None
            await connection.changed(left)
        first = connection.events[0]
        return first if isinstance(first, ClientHandshake) else None

    async def _route(self, connection: _ServedProtocol, path: str, query: dict[str, list[str]]) -> None:
        if path == "/getCaseCount":
            await self._say(connection, json.dumps(len(self.catalogue.served)))
        elif path == "/getCaseInfo":
            served = self._case_of(query)
            await self._say(connection, json.dumps({"id": served.id, "description": served.description}))
        elif path == "/getCaseStatus":
            served = self._case_of(query)
            agent = self._agent_of(query)
            played = await self._verdict_of(agent, served)
            await self._say(connection, json.dumps({"behavior": behavior(played.result)}))
        elif path == "/runCase":
            served = self._case_of(query)
            agent = self._agent_of(query)
            if not self.scoreboard.admits(agent):
                raise Refused(
                    503, "Service Unavailable", f"too many agents (at most {self.scoreboard.max_agents})"
                )
            await self._play(connection, served, agent)
        elif path == "/updateReports":
            # A case whose connection the script just closed may still be being judged: the
            # reports wait for the agent's cases in play (as /getCaseStatus does for one).
            agent = query.get("agent", [""])[-1].strip()
            in_play = [key for key in self._playing if not agent or key[0] == agent]
            await defer.DeferredList([defer.Deferred.fromCoroutine(self._finished(key)) for key in in_play])
            if self.on_reports is not None:
                self.on_reports()
            await self._say(connection, None)
            if self.stop_after_reports or _true(query.get("shutdownOnComplete", [""])[-1]):
                self.stop(
                    "the reports were updated ("
                    + ("--stop-after-reports)" if self.stop_after_reports else "shutdownOnComplete)")
                )
        elif path == "/stopServer":
            await self._say(connection, None)
            self.stop("/stopServer")
        else:
            raise Refused(
                404,
                "Not Found",
                f"no such path {path!r}: /getCaseCount, /getCaseInfo, /getCaseStatus, /runCase, "
                "/updateReports",
            )

    def _case_of(self, query: dict[str, list[str]]) -> ServedCase:
        if "casetuple" in query:
            case_id = query["casetuple"][-1].strip()
            found = self.catalogue.find(case_id=case_id)
            if found is None:
                raise Refused(404, "Not Found", f"no case {case_id!r} is served")
            return found
        values = query.get("case")
        if not values:
            raise Refused(400, "Bad Request", "the request names no case (case=N)")
        try:
            number = int(values[-1])
        except ValueError:
            raise Refused(400, "Bad Request", f"case={values[-1]!r} is not a number") from None
        found = self.catalogue.find(number=number)
        if found is None:
            raise Refused(
                404, "Not Found", f"no case {number}: cases 1 to {len(self.catalogue.served)} are served"
            )
        return found

    @staticmethod
    def _agent_of(query: dict[str, list[str]]) -> str:
        values = query.get("agent")
        agent = values[-1].strip() if values else ""
        if not agent:
            raise Refused(400, "Bad Request", "the request names no agent (agent=NAME)")
        if len(agent) > 100:
            raise Refused(400, "Bad Request", "the agent's name is longer than 100 characters")
        return agent

    async def _finished(self, key: tuple[str, int]) -> None:
        """Until the case ``key`` (agent, number) in play has its verdict, or STATUS_WAIT passed."""
        if key in self._playing:
            waiter: defer.Deferred[None] = defer.Deferred()
            self._playing[key].append(waiter)
            waiter.addTimeout(STATUS_WAIT, self.reactor)
            with contextlib.suppress(defer.TimeoutError):
                await waiter

    async def _verdict_of(self, agent: str, served: ServedCase) -> Played:
        await self._finished((agent, served.number))
        played = self.scoreboard.get(agent, served.number)
        if played is None:
            raise Refused(
                404, "Not Found", f"agent {agent!r} has not played case {served.number} ({served.id})"
            )
        return played

    # -- answers

    def _refuse(self, connection: _ServedProtocol, refused: Refused) -> None:
        body = (str(refused) + "\n").encode("utf-8")
        head = (
            f"HTTP/1.1 {refused.status} {refused.reason}\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        connection.recorder.event(f"refused: {refused}")
        connection.write(head.encode("latin-1") + body)
        if connection.transport is not None:
            connection.transport.loseConnection()

    async def _say(self, connection: _ServedProtocol, text: str | None) -> None:
        """Answer the handshake, send ``text`` (if any) in one text message, then close."""
        session = connection.session
        assert isinstance(session, WsServerSession)
        data, _ = session.answer(WsAnswer())
        connection.write(data)
        if text is not None:
            connection.write(encode_frame(Opcode.TEXT, text.encode("utf-8"), mask_key=None))
        connection.write(encode_frame(Opcode.CLOSE, encode_close_payload(1000), mask_key=None))
        await _until_ended(self.reactor, connection, HANDSHAKE_TIMEOUT)
        connection.abort()

    # -- cases

    async def _play(self, connection: _ServedProtocol, served: ServedCase, agent: str) -> None:
        key = (agent, served.number)
        if key in self._playing:
            raise Refused(409, "Conflict", f"agent {agent!r} is playing case {served.number} already")
        self._playing[key] = []
        heavy = "heavy" in served.case.tags
        try:
            if heavy:
                await self._heavy.acquire()
            await self._slots.acquire()
            try:
                if connection.ended:
                    # It waited for a slot (other agents' cases) and gave up: no verdict of it.
                    if self.on_note is not None:
                        self.on_note(
                            f"{agent}: case {served.number} ({served.id}) not played: the client closed "
                            "the connection before the case began (cases of other agents held every slot)"
                        )
                    return
                started = (
                    datetime.datetime.now(datetime.UTC)
                    .isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z")
                )
                result = await run_served_case(
                    self.reactor, served.case, connection, agent, self.options, self.bound_port
                )
            finally:
                self.reactor.callLater(0, self._slots.release)
                if heavy:
                    self.reactor.callLater(0, self._heavy.release)
            if served.exit_left_out:
                result = replace(result, notes=(EXIT_NOTE, *result.notes))
            played = Played(agent=agent, served=served, result=result, started=started)
            self.scoreboard.record(played)
            if self.on_case_done is not None:
                self.on_case_done(played)
        finally:
            for waiter in self._playing.pop(key, []):
                if not waiter.called:
                    waiter.callback(None)


def _true(value: str) -> bool:
    return value.strip().lower() in ("true", "yes", "1")


async def _until_ended(reactor: Any, connection: Any, timeout: float) -> bool:
    deadline = reactor.seconds() + timeout
    while not connection.ended:
        left = deadline - reactor.seconds()
        if left <= 0:
            return False
        await connection.changed(left)
    return True


class ServedCaseRun(ClientCaseRun):
    """A client case played on a connection the client made to the endpoint: its ``accept``
    step takes that connection (the handshake it carried is judged and answered as the case
    says); no process is started, so nothing waits for one."""

    def __init__(
        self,
        reactor: object,
        case: model.Case,
        agent: str,
        options: RunOptions,
        connection: _ServedProtocol,
        port: int,
    ) -> None:
        self._scheme = url_scheme("ws", options)
        client = ClientTarget(
            name=agent, command=f"{self._scheme}://127.0.0.1:{port}/runCase?agent={agent}", suites=("ws",)
        )
        super().__init__(reactor, case, client, options)
        self.recorder = connection.recorder  # the transcript holds the request that came
        self._offered: _ServedProtocol | None = connection
        self._port = port

    def start(self) -> None:
        url = f"{self._scheme}://127.0.0.1:{self._port}/"
        tls = self.options.serve_tls is not None
        self.target = replace(self.target, url=url, port=self._port, path="/", scheme=self._scheme, tls=tls)

    def finish(self) -> None:
        pass

    async def _accept(self, index: int, step: model.Accept) -> bool:
        connection, self._offered = self._offered, None
        if connection is None:  # pragma: no cover - served_form serves one accept only
            raise CaseError("a served case accepts one connection")
        self.connection = connection
        self.taken = 1
        self.connected_once = True
        self.cursor = Cursor(index=0, received=0)
        if step.answer is not None:
            return await self._ws_handshake(index, step)
        return True


async def run_served_case(
    reactor: Any, case: model.Case, connection: _ServedProtocol, agent: str, options: RunOptions, port: int
) -> CaseResult:
    """Play ``case`` on ``connection`` to its verdict; the connection is closed (with a closing
    handshake where it is still open) when this returns."""
    run = ServedCaseRun(reactor, case, agent, options, connection, port)
    start = reactor.seconds()
    error: str | None = None
    try:
        run.start()
        inner = defer.Deferred.fromCoroutine(run.run())
        inner.addTimeout(options.case_timeout, reactor)
        await inner
        await run.settle_closing()
        await _close_politely(reactor, connection, min(run.step_timeout, CLOSING_GRACE * 2))
    except defer.TimeoutError:
        error = f"the case did not finish within its budget of {options.case_timeout:g} s"
    except defer.CancelledError:
        raise  # serving stopped while the case was played: it has no verdict
    except CaseError as exc:
        error = str(exc)
    except Exception as exc:  # a harness bug must not take the endpoint down
        error = f"harness error: {type(exc).__name__}: {exc}"
    if error:
        run.recorder.event(f"error: {error}")
    session = connection.session
    # The closing handshake is judged where the client took the connection as open (it sent a
    # frame): a client that rightly failed a bad opening handshake closes the TCP connection
    # with no close frame, and that is no unclean close.
    took_it = any(isinstance(event, Frame | Garbled) for event in connection.events)
    facts = session.closing_facts() if isinstance(session, WsServerSession) and took_it else None
    result = judge(
        case,
        grades=run.grades,
        failure=run.failure,
        error=error,
        events=list(connection.events),
        matched=run.observed,
        duration=reactor.seconds() - start,
        transcript=tuple(run.recorder.entries),
        truncated=run.recorder.truncated,
        closing=facts,
    )
    if options.transcripts != "all" and result.verdict is Verdict.PASS and result.transcript:
        result = replace(result, transcript=(), transcript_omitted=len(result.transcript))
    # Judged: whatever is left of the connection goes (a FIN where the client is done).
    if not connection.ended and connection.transport is not None:
        connection.transport.loseConnection()
        reactor.callLater(CLOSING_GRACE, connection.abort)
    release_session(connection)
    return result


async def _close_politely(reactor: Any, connection: _ServedProtocol, grace: float) -> None:
    """The steps are over: an open WebSocket connection is closed as a server closes one
    (a close frame, 1000, then the TCP close once the client answered: RFC 6455 §7.1.1), so
    that an echo loop written for Autobahn's fuzzingserver ends; ``grace`` seconds at most."""
    session = connection.session
    if connection.ended or not isinstance(session, WsServerSession) or not session.upgraded:
        return
    if not session.facts.harness_closed:
        connection.recorder.event("the case is over: the harness closes the connection (1000)")
        connection.write(encode_frame(Opcode.CLOSE, encode_close_payload(1000), mask_key=None))
    await _until_ended(reactor, connection, grace)
