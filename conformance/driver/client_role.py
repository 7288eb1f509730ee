"""The client role: the harness listens, starts the client under test, and plays the server.

Per case: a fresh listening port on 127.0.0.1, the client's command started with that port's
``{url}`` (:mod:`conformance.driver.client_process`), its connection accepted by an ``accept``
step, and then the same steps as the server role (``send``, ``expect``, ``wait``,
``shutdown``, ``abort``) played by the same interpreter (:class:`CaseRun`) on the accepted
connection. What differs is only what this module overrides: where the connection comes
from, that the client's exit is one more event (:class:`~conformance.verdicts.client.ClientExited`),
and that a connection the client closed is not the end of what can be observed while its
process still runs. Whatever happens, the process (and its session) is ended and the port
closed before the case's verdict is returned.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from twisted.internet import defer
from twisted.internet.protocol import Factory

from conformance.codecs.common import Event
from conformance.codecs.http1_requests import RequestParser
from conformance.driver.client_process import ClientProcess, argv_for
from conformance.driver.connection import WireProtocol
from conformance.driver.context import CaseError, RunOptions
from conformance.driver.endpoints import listen
from conformance.driver.interpreter import CaseOutcome, CaseRun
from conformance.driver.openers import ACCEPTORS, OpeningContext, OpeningFailed
from conformance.driver.sessions import SERVER_SESSIONS
from conformance.scenario import model
from conformance.scenario.payloads import Payload
from conformance.scenario.templates import TargetContext
from conformance.target import Target
from conformance.verdicts.client import ClientExited
from conformance.verdicts.expectations import Cursor, Expectation, Grade
from conformance.verdicts.judge import StepFailure, judge, skipped
from conformance.verdicts.verdict import Verdict

#: Seconds a client is given, at the least, to start and connect, and to end once the case has
#: said all it had to: starting a process (a Python interpreter, say) on a loaded machine
#: takes longer than an expect step's default deadline.
START_GRACE = 10.0
#: Schemes of the ``{url}`` a client is handed, per suite: over TCP, and with ``--tls``.
URL_SCHEMES = {"h1": "http", "h2": "http", "ws": "ws"}
TLS_URL_SCHEMES = {"h1": "https", "h2": "https", "ws": "wss"}


def url_scheme(suite: str, options: RunOptions) -> str:
    """The scheme of the URLs a client of ``suite`` is handed in a run with ``options``."""
    return (URL_SCHEMES if options.serve_tls is None else TLS_URL_SCHEMES)[suite]


@dataclass(frozen=True, kw_only=True)
class ClientTarget:
    """A client under test: a name and the command that runs it (``{url}`` and the other
    placeholders filled per case). ``url`` is what reports show where a server's URL goes."""

    name: str
    command: str
    suites: tuple[str, ...]
    # A server target's resource paths (Target.resources); a client serves none.
    resources: tuple[tuple[str, str], ...] = ()

    @property
    def url(self) -> str:
        return self.command

    def resource(self, capability: str) -> str | None:
        return None


class H1ServerSession:
    """HTTP/1.1 as a server reads it: the client's requests become events; what the case
    sends is written as it is (raw response bytes)."""

    def __init__(self) -> None:
        self.parser = RequestParser()

    def sent(self, data: bytes) -> None:
        pass

    def receive(self, data: bytes) -> list[Event]:
        return list(self.parser.feed(data))

    def receive_eof(self) -> list[Event]:
        return list(self.parser.feed_eof())

    def outgoing(self) -> bytes:
        return b""

    def render(self, payload: Payload, context: TargetContext) -> bytes:
        return payload.render(context)


def _ws_server_session() -> Any:
    from conformance.driver.ws_server import WsServerSession

    return WsServerSession()


# protocol -> the session of a connection the harness accepted, as a server (HTTP/2's is
# registered by conformance.driver.h2_server).
SERVER_SESSIONS.setdefault("h1", H1ServerSession)
SERVER_SESSIONS.setdefault("ws", _ws_server_session)


class _Listener:
    """One listening port; connections accepted are queued for ``accept`` steps."""

    def __init__(self, run: ClientCaseRun) -> None:
        self.run = run
        self.accepted: list[WireProtocol] = []
        self._waiters: list[defer.Deferred[None]] = []
        factory = Factory.forProtocol(self._protocol)
        self.port: Any = listen(run.reactor, 0, factory, tls=run.options.serve_tls, suite=run.case.protocol)

    def _protocol(self) -> WireProtocol:
        run = self.run
        run.recorder.connection += 1
        protocol = AcceptedProtocol(
            session=SERVER_SESSIONS[run.case.protocol](),
            recorder=run.recorder,
            reactor=run.reactor,
            byte_cap=run.options.byte_cap,
        )
        protocol.listener = self
        return protocol

    def made(self, protocol: WireProtocol) -> None:
        self.accepted.append(protocol)
        self.wake()

    def wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.called:
                waiter.callback(None)

    async def changed(self, timeout: float) -> None:
        waiter: defer.Deferred[None] = defer.Deferred()
        self._waiters.append(waiter)
        timer = self.run.reactor.callLater(max(0.0, timeout), self.wake)  # type: ignore[attr-defined]
        try:
            await waiter
        finally:
            if timer.active():
                timer.cancel()

    def close(self) -> None:
        self.port.stopListening()
        for protocol in self.accepted:
            protocol.abort()


class AcceptedProtocol(WireProtocol):
    """A connection the harness accepted: as a server, it closes the TCP connection once the
    WebSocket closing handshake is complete (the Autobahn endpoint's connections are these too)."""

    listener: _Listener
    _closing = False
    _tls_seen = False

    def connectionMade(self) -> None:  # noqa: N802 - Twisted's name
        super().connectionMade()
        self.listener.made(self)

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted's name
        if not self._tls_seen and hasattr(self.transport, "negotiatedProtocol"):
            # The first bytes over TLS: the handshake is done, and what ALPN chose is known.
            self._tls_seen = True
            chosen = getattr(self.transport, "negotiatedProtocol", None)
            self.recorder.event(
                "TLS handshake complete; ALPN: " + (chosen.decode("ascii", "replace") if chosen else "none")
            )
        super().dataReceived(data)
        self._close_if_done()

    def write(self, data: bytes) -> bool:
        written = super().write(data)
        self._close_if_done()
        return written

    def _close_if_done(self) -> None:
        # WebSocket: once close frames went both ways, "the server MUST close the underlying
        # TCP connection immediately" (RFC 6455 §7.1.1) -- the harness is the server here.
        if getattr(self.session, "close_now", False) and not self._closing and self.transport is not None:
            self._closing = True
            self.recorder.event("closing handshake complete: the harness closes the TCP connection")
            self.transport.loseConnection()


class ClientCaseRun(CaseRun):
    """A case with the client under test: the interpreter's steps, on accepted connections."""

    def __init__(self, reactor: object, case: model.Case, client: ClientTarget, options: RunOptions) -> None:
        self.listener: _Listener | None = None
        self.process: ClientProcess | None = None
        self.client = client
        self.taken = 0  # accepted connections handed to ``accept`` steps so far
        self.exit_seen = False
        # Templates of what is sent ({host}, {port}, {path}) are the listening side's.
        super().__init__(reactor, case, _placeholder_target(client), options)

    # -- starting and ending the client

    def start(self) -> None:
        self.listener = _Listener(self)
        port = self.listener.port.getHost().port
        path = next((s.path for s in self.case.steps if isinstance(s, model.Accept)), "/")
        tls = self.options.serve_tls
        scheme = url_scheme(self.case.protocol, self.options)
        url = f"{scheme}://127.0.0.1:{port}{path}"
        self.target = replace(
            self.target,
            url=url,
            port=port,
            path=path or "/",
            scheme=scheme,
            tls=tls is not None,
        )
        values = {"url": url, "host": "127.0.0.1", "port": str(port), "path": path, "case": self.case.id}
        if tls is not None:
            values["ca"] = str(tls.ca_file)
        try:
            argv = argv_for(self.client.command, values)
        except ValueError as exc:
            raise CaseError(f"cannot split the client command {self.client.command!r}: {exc}") from None
        if not argv:
            raise CaseError("the client command is empty")
        self.recorder.event(f"listening on 127.0.0.1:{port}; starting the client: {_shown(argv)}")
        try:
            self.process = ClientProcess(self.reactor, argv, on_exit=self._exited)
        except OSError as exc:
            raise CaseError(f"cannot start the client {argv[0]!r}: {exc.strerror or exc}") from None

    def _exited(self, exited: ClientExited) -> None:
        if self.connection is not None:
            self.connection.observe(exited)  # recorded as an event of the connection
            self.exit_seen = True
        else:
            self.recorder.event(exited.describe(), exited.detail())
        if self.listener is not None:
            self.listener.wake()

    def finish(self) -> None:
        if self.process is not None:
            self.process.kill()
        if self.listener is not None:
            self.listener.close()

    # -- steps

    async def _step(self, index: int, step: model.Step) -> bool:
        if isinstance(step, model.Accept):
            return await self._accept(index, step)
        if isinstance(step, model.Connect):  # pragma: no cover - the loader builds none
            raise CaseError("a client case connects nowhere: it accepts (accept step)")
        return await super()._step(index, step)

    async def _accept(self, index: int, step: model.Accept) -> bool:
        listener = self.listener
        assert listener is not None and self.process is not None
        grace = max(self.step_timeout, START_GRACE)
        deadline = self.reactor.seconds() + grace
        while len(listener.accepted) <= self.taken:
            if self.process.exited is not None:
                raise CaseError(
                    f"the client never connected: {self.process.exited.describe()} "
                    f"(command: {_shown(self.process.argv)})"
                )
            left = deadline - self.reactor.seconds()
            if left <= 0:
                raise CaseError(
                    f"the client did not connect within {max(self.step_timeout, START_GRACE):g} s"
                )
            await listener.changed(left)
        if self.connection is not None:
            self.past_events.extend(self.connection.events)
            self.received += self.connection.received
        self.connection = listener.accepted[self.taken]
        self.taken += 1
        self.connected_once = True
        self.cursor = type(self.cursor)(index=0, received=0)
        peer = self.connection.transport.getPeer() if self.connection.transport else None
        self.recorder.event(f"accepted a connection from {peer.host}:{peer.port}" if peer else "accepted")
        if self.process.exited is not None and not self.exit_seen:
            self.connection.observe(self.process.exited)
            self.exit_seen = True
        if step.answer is not None:
            return await self._ws_handshake(index, step)
        acceptor = ACCEPTORS.get(self.case.protocol)
        if acceptor is None:
            return True
        # The protocol's opening from the server's side (HTTP/2: the prefaces, RFC 9113 §3.4).
        # The step's typed options stand where a connect step's do.
        try:
            consumed = await acceptor.open(OpeningContext(run=self, connection=self.connection, step=step))  # type: ignore[arg-type]
        except OpeningFailed as exc:
            if exc.unimplemented or exc.acceptable:
                grade = Grade.UNIMPLEMENTED if exc.unimplemented else Grade.NON_STRICT
                self.grades.append(grade)
                self.observed.append(exc.observed)
                self.recorder.event(f"step {index}: the case ends: {exc.observed}")
            else:
                self.failure = StepFailure(
                    index=index, step=step, observed=exc.observed, expected=exc.expected
                )
                self.recorder.event(f"step {index} did not match: {exc.observed}")
            return False
        events = self.connection.events
        at = consumed if isinstance(consumed, int) else len(events)
        self.cursor = Cursor(index=min(at, len(events)), received=self.connection.received)
        return True

    async def _ws_handshake(self, index: int, step: model.Accept) -> bool:
        """Read the client's opening handshake, judge it (RFC 6455 §4.1) and answer it as the
        case says: False (the case FAILs) when the client sent none or a wrong one."""
        from conformance.codecs.ws.answer import WsAnswer
        from conformance.driver.ws_server import ClientHandshake, WsServerSession
        from conformance.verdicts.expectations import Cursor
        from conformance.verdicts.judge import StepFailure

        connection = self.connection
        assert connection is not None
        session = connection.session
        assert isinstance(session, WsServerSession) and isinstance(step.answer, WsAnswer)
        expected = "an opening handshake as RFC 6455 §4.1 requires of a client"
        deadline = self.reactor.seconds() + max(self.step_timeout, START_GRACE)
        observed = ""
        while True:
            found = [e for e in connection.events if not getattr(e, "beside_the_wire", False)]
            if found:
                first = found[0]
                if isinstance(first, ClientHandshake) and not first.problems:
                    break
                observed = first.describe()
            elif connection.ended:
                observed = "the connection closed before a handshake"
            elif self.reactor.seconds() >= deadline:
                observed = f"no opening handshake within {max(self.step_timeout, START_GRACE):g} s"
            if observed:
                self.failure = StepFailure(index=index, step=step, observed=observed, expected=expected)
                self.recorder.event(f"step {index} did not match: {observed}")
                return False
            await connection.changed(deadline - self.reactor.seconds())
        agreed = session.agree(step.answer)
        if isinstance(agreed, str):
            # permessage-deflate is optional (RFC 7692): a client that does not offer what the
            # case needs leaves it nothing to exercise.
            self.grades.append(Grade.UNIMPLEMENTED)
            self.observed.append(agreed)
            self.recorder.event(f"step {index}: the case ends: {agreed}")
            return False
        data, early = session.answer(step.answer, agreed)
        self.recorder.event(f"answering the handshake: {step.answer.describe()}")
        consumed = len(connection.events)
        connection.write(data)
        for event in early:
            connection.observe(event)
        self.cursor = Cursor(index=consumed, received=connection.received)
        return True

    # -- the interpreter's hooks

    def _expect_budget(self, expectation: Expectation) -> float:
        budget = super()._expect_budget(expectation)
        if _waits_for_exit(expectation):
            return max(budget, START_GRACE)
        return budget

    def _settled(self, connection: WireProtocol) -> bool:
        return connection.ended and (self.process is None or self.process.exited is not None)

    async def _wait_for_change(self, connection: WireProtocol, wait: float) -> None:
        if not connection.ended:
            await connection.changed(wait)
        elif self.process is not None:
            await self.process.wait(wait)

    def _deadline_passed(self, connection: WireProtocol) -> None:
        # The step's deadline passed: a client still running is ended now, so that the
        # step judges its end (killed) rather than nothing.
        if self.process is not None and self.process.exited is None:
            self.process.kill()


def _waits_for_exit(expectation: Expectation) -> bool:
    from conformance.verdicts.client import ExitPattern

    if isinstance(expectation, ExitPattern):
        return True
    inner = [
        *getattr(expectation, "alternatives", ()),
        *getattr(expectation, "items", ()),
    ]
    return any(_waits_for_exit(item) for item in inner if isinstance(item, Expectation))


def _placeholder_target(client: ClientTarget) -> Target:
    return Target(
        name=client.name,
        url=client.command,
        scheme="http",
        host="127.0.0.1",
        port=0,
        path="/",
        tls=False,
        suites=client.suites,
    )


def _shown(argv: list[str]) -> str:
    import shlex

    return " ".join(shlex.quote(word) for word in argv)


async def run_client_case(
    reactor: object, case: model.Case, client: ClientTarget, options: RunOptions
) -> CaseOutcome:
    """Run a client case to its verdict: listen, start the client, play the steps, judge;
    the client's process and the listening port are gone when this returns."""
    if case.role != "client":
        result = skipped(case, "a server-role case: `conformance run` runs it against a server")
        return CaseOutcome(result=result, connected=False, answered=False, waited_out=False)
    run = ClientCaseRun(reactor, case, client, options)
    start = reactor.seconds()  # type: ignore[attr-defined]
    error: str | None = None
    try:
        run.start()
        inner = defer.Deferred.fromCoroutine(run.run())
        inner.addTimeout(options.case_timeout, reactor)
        await inner
    except (defer.TimeoutError, defer.CancelledError):
        error = f"the case did not finish within its budget of {options.case_timeout:g} s"
    except CaseError as exc:
        error = str(exc)
    except Exception as exc:  # a harness bug must not take the run down
        error = f"harness error: {type(exc).__name__}: {exc}"
    finally:
        run.finish()
    if error:
        run.recorder.event(f"error: {error}")
    events = [*run.past_events, *(run.connection.events if run.connection else [])]
    result = judge(
        case,
        grades=run.grades,
        failure=run.failure,
        error=error,
        events=events,
        matched=run.observed,
        duration=reactor.seconds() - start,  # type: ignore[attr-defined]
        transcript=tuple(run.recorder.entries),
        truncated=run.recorder.truncated,
    )
    if options.transcripts != "all" and result.verdict is Verdict.PASS and result.transcript:
        result = replace(result, transcript=(), transcript_omitted=len(result.transcript))
    received = run.received + (run.connection.received if run.connection else 0)
    return CaseOutcome(result=result, connected=run.connected_once, answered=received > 0, waited_out=False)


def parse_client(spec: str, suite: str) -> ClientTarget:
    """``[NAME=]COMMAND``: NAME (letters, digits, ``.``, ``_``, ``-``) defaults to the
    command's program name."""
    import os
    import re
    import shlex

    match = re.match(r"([A-Za-z0-9._-]+)=(.*)", spec, re.DOTALL)
    command = spec
    name = None
    if match:
        name, command = match.group(1), match.group(2)
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise ValueError(f"cannot split {command!r} as a shell would: {exc}") from None
    if not words:
        raise ValueError(f"client {spec!r}: no command")
    return ClientTarget(name=name or os.path.basename(words[0]), command=command, suites=(suite,))
