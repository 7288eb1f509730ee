"""The driver end to end against tiny scripted servers in the same reactor."""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from twisted.internet import defer, protocol
from twisted.internet.interfaces import IHalfCloseableProtocol
from zope.interface import implementer

from conformance.driver.interpreter import RunOptions
from conformance.results import Direction
from conformance.scenario.loader import load_cases
from conformance.target import Target
from conformance.verdicts.verdict import Verdict

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@implementer(IHalfCloseableProtocol)
class Scripted(protocol.Protocol):
    """Calls ``on_data(self, data)`` for every read; records the reads."""

    def connectionMade(self) -> None:  # noqa: N802
        self.reads: list[bytes] = []
        self.factory.connections.append(self)

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        self.reads.append(data)
        self.factory.on_data(self, data)

    def readConnectionLost(self) -> None:  # noqa: N802 - the client half-closed
        self.factory.on_eof(self)

    def writeConnectionLost(self) -> None:  # noqa: N802
        pass


def serve(
    reactor_thread: Any,
    on_data: Callable[[Scripted, bytes], None],
    on_eof: Callable[[Scripted], None] | None = None,
) -> tuple[Any, Any]:
    factory = protocol.Factory.forProtocol(Scripted)
    factory.on_data = on_data
    factory.on_eof = on_eof or (lambda p: p.transport.loseConnection())
    factory.connections = []

    def listen() -> Any:
        from twisted.internet.interfaces import IHalfCloseableProtocol  # noqa: F401

        return reactor_thread.reactor.listenTCP(0, factory, interface="127.0.0.1")

    return reactor_thread.call(listen), factory


def run(
    reactor_thread: Any, tmp_path: Path, cases_yaml: str, on_data: Any, on_eof: Any = None, **options: Any
) -> tuple[dict[str, Any], Any]:
    path = tmp_path / "cases.yaml"
    path.write_text(
        "protocol: h1\nrfc: 9112\nsection: '9'\ncases:\n" + textwrap.indent(textwrap.dedent(cases_yaml), "  ")
    )
    cases = load_cases([path])
    port, factory = serve(reactor_thread, on_data, on_eof)
    try:
        target = Target.parse(f"http://127.0.0.1:{port.getHost().port}/")
        results = reactor_thread.run(cases, [target], RunOptions(**{"timeout": 1.0, **options}))
    finally:
        reactor_thread.call(port.stopListening)
    return {c.id.rsplit("/", 1)[1]: c for c in results.targets[0].cases}, factory


def answer_ok(p: Scripted, data: bytes) -> None:
    if b"\r\n\r\n" in b"".join(p.reads):
        p.transport.write(OK)


def test_pass_and_fail_with_expected_and_observed(reactor_thread, tmp_path) -> None:  # type: ignore[no-untyped-def]
    results, _ = run(
        reactor_thread,
        tmp_path,
        """
        - id: ok
          title: t
          requirement: MUST
          steps:
            - send: "GET / HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
            - expect: {response: {status: 200, body: "ok"}}
        - id: wants-400
          title: t
          requirement: MUST
          steps:
            - send: "GET / HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
            - expect: {response: {status: 400}}
        """,
        answer_ok,
    )
    assert results["ok"].verdict is Verdict.PASS
    assert results["ok"].observed.startswith("HTTP/1.1 200 OK")
    failed = results["wants-400"]
    assert failed.verdict is Verdict.FAIL
    assert failed.expected == "a response with status 400"
    assert failed.observed.startswith("HTTP/1.1 200 OK") and "status 200" in failed.observed
    assert failed.step == 3 and failed.step_text == "expect a response with status 400"
    sent = [e for e in failed.transcript if e.direction is Direction.SENT]
    received = [e for e in failed.transcript if e.direction is Direction.RECEIVED]
    assert sent[0].data.startswith(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"".join(e.data for e in received) == OK


def test_split_sends_arrive_in_pieces_and_silence_catches_early_answers(reactor_thread, tmp_path) -> None:  # type: ignore[no-untyped-def]
    def early(p: Scripted, data: bytes) -> None:
        p.transport.write(OK)  # answers before the request is complete

    yaml = """
        - id: patient
          title: t
          requirement: MUST
          steps:
            - send: {text: "GET / HTTP/1.1\\r\\nHost: x\\r\\n", split: 8, delay_ms: 10}
            - expect: {silence: 200}
            - send: "\\r\\n"
            - expect: {response: {status: 200}}
        """
    results, factory = run(reactor_thread, tmp_path, yaml, answer_ok)
    assert results["patient"].verdict is Verdict.PASS
    assert len(factory.connections[0].reads) >= 4  # the pieces were not coalesced
    results, _ = run(reactor_thread, tmp_path, yaml, early)
    assert results["patient"].verdict is Verdict.FAIL
    assert results["patient"].expected == "nothing from the target for 200 ms"


def test_close_alternative_is_non_strict(reactor_thread, tmp_path) -> None:  # type: ignore[no-untyped-def]
    results, _ = run(
        reactor_thread,
        tmp_path,
        """
        - id: closes
          title: t
          requirement: MUST
          steps:
            - send: "BAD\\r\\n\\r\\n"
            - expect:
                one_of:
                  - response: {status: 400}
                  - closed: true
                    strict: false
        """,
        lambda p, d: p.transport.loseConnection(),
    )
    assert results["closes"].verdict is Verdict.NON_STRICT
    assert "connection closed by the target" in results["closes"].observed


def test_shutdown_half_closes(reactor_thread, tmp_path) -> None:  # type: ignore[no-untyped-def]
    def on_eof(p: Scripted) -> None:
        p.transport.write(OK)
        p.transport.loseConnection()

    results, _ = run(
        reactor_thread,
        tmp_path,
        """
        - id: half
          title: t
          requirement: MUST
          steps:
            - send: "GET / HTTP/1.0\\r\\n\\r\\n"
            - shutdown: true
            - expect: [{response: {status: 200}}, {closed: true}]
        """,
        lambda p, d: None,
        on_eof,
    )
    assert results["half"].verdict is Verdict.PASS


def test_case_budget_turns_into_error(reactor_thread, tmp_path) -> None:  # type: ignore[no-untyped-def]
    results, _ = run(
        reactor_thread,
        tmp_path,
        """
        - id: slow
          title: t
          requirement: MUST
          steps:
            - wait: 5000
            - expect: {closed: true}
        """,
        lambda p, d: None,
        case_timeout=0.3,
    )
    assert results["slow"].verdict is Verdict.ERROR
    assert "budget of 0.3 s" in results["slow"].observed


def test_info_cases_are_informational_whatever_happens(reactor_thread, tmp_path) -> None:  # type: ignore[no-untyped-def]
    results, _ = run(
        reactor_thread,
        tmp_path,
        """
        - id: info
          title: t
          requirement: INFO
          steps:
            - send: "GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"
            - expect: {response: {status: 400}}
        """,
        answer_ok,
    )
    assert results["info"].verdict is Verdict.INFORMATIONAL
    assert "status 200" in results["info"].observed


@pytest.mark.parametrize("jobs", [1, 4])
def test_progress_callback_sees_every_case(reactor_thread, tmp_path, jobs: int) -> None:  # type: ignore[no-untyped-def]
    from conformance.driver.runner import run_suite

    path = tmp_path / "c.yaml"
    path.write_text(
        "protocol: h1\nrfc: 9112\nsection: '9'\ncases:\n"
        "  - id: n-{n}\n    title: t\n    requirement: MUST\n    params: {n: [1, 2, 3, 4, 5]}\n"
        '    steps:\n      - send: "GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"\n      - expect: {response: {status: 200}}\n'
    )
    cases = load_cases([path])
    port, _ = serve(reactor_thread, answer_ok)
    seen: list[str] = []
    events: list[tuple[str, str]] = []
    try:
        target = Target.parse(f"http://127.0.0.1:{port.getHost().port}/")
        results = reactor_thread.call(
            run_suite,
            reactor_thread.reactor,
            cases,
            [target],
            RunOptions(),
            jobs=jobs,
            on_case_done=lambda t, c: (seen.append(c.id), events.append(("done", c.id))),
            on_case_start=lambda t, case_id: events.append(("start", case_id)),
        )
    finally:
        reactor_thread.call(port.stopListening)
    assert sorted(seen) == sorted(c.id for c in cases)
    # Each case is announced as it starts (the terminal names those still running), before it ends.
    for case in cases:
        assert events.index(("start", case.id)) < events.index(("done", case.id))
    assert results.targets[0].summary["PASS"] == 5


def test_a_run_of_cases_that_end_without_waiting_finishes(reactor_thread, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Cases that end at once (SKIPPED, interrupted) behind ones that wait: each hands its
    slot to the next while the one before is still on the stack; hundreds in a row once
    nested past the recursion limit, lost slots, and the run hung."""
    from twisted.internet import task

    from conformance.driver.interpreter import CaseOutcome
    from conformance.driver.runner import run_suite
    from conformance.verdicts.judge import skipped

    path = tmp_path / "c.yaml"
    path.write_text(
        "protocol: h1\nrfc: 9112\nsection: '9'\ncases:\n"
        "  - id: n-{n}\n    title: t\n    requirement: MUST\n    params: {n: NUMBERS}\n"
        '    steps:\n      - send: "GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"\n'
        "      - expect: {response: {status: 200}}\n".replace("NUMBERS", str(list(range(600))))
    )
    cases = load_cases([path])
    waits, skips = (Target.parse(f"{name}=http://127.0.0.1:9/") for name in ("waits", "skips"))

    async def run_one(reactor: Any, case: Any, target: Any, options: Any) -> CaseOutcome:
        if target is waits:
            await task.deferLater(reactor, 0.001, lambda: None)
        return CaseOutcome(result=skipped(case, "test"), connected=False, answered=False, waited_out=False)

    ended = threading.Event()
    box: list[Any] = []

    def start() -> None:
        running = defer.Deferred.fromCoroutine(
            run_suite(
                reactor_thread.reactor,
                cases,
                [waits, skips],
                RunOptions(preflight=False),
                jobs=16,
                run_one=run_one,
            )
        )
        running.addBoth(lambda result: (box.append(result), ended.set()))

    reactor_thread.reactor.callFromThread(start)
    assert ended.wait(60), "the run never ended"
    results = box[0]
    assert [len(target.cases) for target in results.targets] == [600, 600]


def test_heavy_cases_run_one_at_a_time_and_do_not_queue_behind_the_others(reactor_thread, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A target's heavy cases (big messages) run one at a time, each as soon as the one before
    ends: they do not wait in the queue of the ordinary cases (launched first here, 40 of them
    for 2 slots), which made them the run's tail."""
    from twisted.internet import task

    from conformance.driver.interpreter import CaseOutcome
    from conformance.driver.runner import HEAVY_JOBS, run_suite
    from conformance.verdicts.judge import skipped

    path = tmp_path / "c.yaml"
    path.write_text(
        "protocol: h1\nrfc: 9112\nsection: '9'\ncases:\n"
        "  - id: light-{n}\n    title: t\n    requirement: MUST\n    params: {n: LIGHT}\n"
        '    steps:\n      - send: "x"\n      - expect: {closed: true}\n'
        "  - id: heavy-{n}\n    title: t\n    requirement: MUST\n    tags: [heavy]\n    params: {n: [1, 2, 3]}\n"
        '    steps:\n      - send: "x"\n      - expect: {closed: true}\n'.replace("LIGHT", str(list(range(40))))
    )
    cases = load_cases([path])
    target = Target.parse("t=http://127.0.0.1:9/")
    running: dict[str, int] = {"heavy": 0, "light": 0}
    most: dict[str, int] = {"heavy": 0, "light": 0}
    started: list[tuple[str, float]] = []

    async def run_one(reactor: Any, case: Any, target: Any, options: Any) -> CaseOutcome:
        kind = case.id.rsplit("/", 1)[1].split("-")[0]
        running[kind] += 1
        most[kind] = max(most[kind], running[kind])
        started.append((case.id, reactor.seconds()))
        await task.deferLater(reactor, 0.02, lambda: None)
        running[kind] -= 1
        return CaseOutcome(result=skipped(case, "test"), connected=True, answered=True, waited_out=False)

    results = reactor_thread.call(
        run_suite,
        reactor_thread.reactor,
        cases,
        [target],
        RunOptions(preflight=False),
        jobs=2,
        run_one=run_one,
    )
    assert len(results.targets[0].cases) == 43
    assert most == {"heavy": HEAVY_JOBS, "light": 2}
    # The three heavy cases ran while the light ones were still queued (20 rounds of 0.02 s).
    last_heavy = max(at for case_id, at in started if "/heavy-" in case_id)
    last_light = max(at for case_id, at in started if "/light-" in case_id)
    assert last_heavy < last_light


class OneAtATime(protocol.Protocol):
    """A single-worker server: serves one connection at a time, answering each request with
    200 and closing; the others wait, unread, in the queue."""

    def connectionMade(self) -> None:  # noqa: N802
        self.buffer = b""
        self.factory.queue.append(self)
        if len(self.factory.queue) > 1:
            self.transport.pauseProducing()

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        self.buffer += data
        if b"\r\n\r\n" in self.buffer and b"hold" not in self.buffer:
            self.transport.write(OK)
            self.transport.loseConnection()

    def connectionLost(self, reason: Any = None) -> None:  # noqa: N802
        queue = self.factory.queue
        queue.remove(self)
        if queue:
            queue[0].transport.resumeProducing()


@pytest.mark.parametrize(("retry_budget", "all_pass"), [(30.0, True), (0.0, False)])
def test_a_single_worker_server_is_not_failed_for_our_scheduling(
    reactor_thread: Any, tmp_path: Path, retry_budget: float, all_pass: bool
) -> None:
    path = tmp_path / "cases.yaml"
    quick = "".join(
        f"""
  - id: quick-{n}
    title: quick
    requirement: MUST
    steps:
      - send: "GET / HTTP/1.1\\r\\nHost: {{authority}}\\r\\n\\r\\n"
      - expect:
          response: {{status: 200}}
"""
        for n in range(7)
    )
    hold = """
  - id: hold
    title: holds the only worker for a while
    requirement: MUST
    steps:
      - send: "GET /hold HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect:
          silence: 1200
"""
    # quick-0 is served first (the server is alive), then hold keeps the worker while the
    # other quick cases wait in the queue past their deadline.
    first, rest = quick.split("\n  - id: quick-1", 1)
    path.write_text(
        "protocol: h1\nrfc: 9112\nsection: '9'\ncases:" + first + hold + "\n  - id: quick-1" + rest
    )
    cases = load_cases([path])
    factory = protocol.Factory.forProtocol(OneAtATime)
    factory.queue = []
    port = reactor_thread.call(
        lambda: reactor_thread.reactor.listenTCP(0, factory, interface="127.0.0.1", backlog=50)
    )
    try:
        target = Target.parse(f"http://127.0.0.1:{port.getHost().port}/")
        options = RunOptions(timeout=0.8, retry_budget=retry_budget)
        results = reactor_thread.run(cases, [target], options, jobs=8)
    finally:
        reactor_thread.call(port.stopListening)
    verdicts = {c.id.rsplit("/", 1)[1]: c.verdict for c in results.targets[0].cases}
    assert verdicts["hold"] is Verdict.PASS
    assert verdicts["quick-0"] is Verdict.PASS
    quick_verdicts = {v for k, v in verdicts.items() if k.startswith("quick")}
    assert (quick_verdicts == {Verdict.PASS}) is all_pass, [c.observed for c in results.targets[0].cases]


def test_capture_sends_a_response_field_back_and_stops_when_it_is_missing(reactor_thread, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A captured ETag is sent back in the next request; a value the response lacks ends the
    case as FAIL, or as UNIMPLEMENTED when an earlier step already said the feature is absent."""
    sent: list[bytes] = []

    def conditional(p: Scripted, data: bytes) -> None:
        head = b"".join(p.reads)
        if head.count(b"\r\n\r\n") == 1 and not sent:
            sent.append(head)
            p.transport.write(
                b'HTTP/1.1 200 OK\r\nETag: W/"abc"\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n'
                b"Content-Length: 2\r\n\r\nok"
            )
        elif head.count(b"\r\n\r\n") == 2:
            sent.append(head)
            status = b"304 Not Modified" if b'If-None-Match: W/"abc"' in head else b"200 OK"
            p.transport.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\n\r\n")

    results, _ = run(
        reactor_thread,
        tmp_path,
        """\
        - id: etag
          title: t
          requirement: MUST
          steps:
            - send: "GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"
            - expect: {response: {status: 200}}
            - capture:
                etag: ETag
                opaque: {field: ETag, pattern: '"(.*)"'}
                day: {field: Last-Modified, as: asctime-date}
            - send: "GET / HTTP/1.1\\r\\nHost: x\\r\\nIf-None-Match: {etag}\\r\\nX-Opaque: {opaque}\\r\\nX-Day: {day}\\r\\n\\r\\n"
            - expect: {response: {status: 304}}
        """,
        conditional,
    )
    assert results["etag"].verdict is Verdict.PASS
    assert b"X-Opaque: abc\r\nX-Day: Sun Nov  6 08:49:37 1994\r\n" in sent[-1]

    results, _ = run(
        reactor_thread,
        tmp_path,
        """\
        - id: missing
          title: t
          requirement: MUST
          steps:
            - send: "GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"
            - expect: {response: {status: 200}}
            - capture: {modified: Last-Modified}
        - id: unimplemented
          title: t
          requirement: MUST
          steps:
            - send: "GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"
            - expect:
                one_of:
                  - response: {status: 200, headers: {Last-Modified: true}}
                  - {response: {status: 200}, unimplemented: true}
            - capture: {modified: Last-Modified}
            - send: "GET / HTTP/1.1\\r\\nHost: x\\r\\nIf-Modified-Since: {modified}\\r\\n\\r\\n"
            - expect: {response: {status: 304}}
        """,
        answer_ok,
    )
    assert results["missing"].verdict is Verdict.FAIL
    assert "no {modified} = Last-Modified" in results["missing"].observed
    assert results["unimplemented"].verdict is Verdict.UNIMPLEMENTED


def test_a_feature_not_offered_on_a_closed_connection_ends_the_case(reactor_thread, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An unimplemented alternative that consumed the close ends the case UNIMPLEMENTED: the
    steps after it have no connection to talk to."""

    def answer_and_close(p: Scripted, data: bytes) -> None:
        if b"\r\n\r\n" in b"".join(p.reads):
            p.transport.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
            p.transport.loseConnection()

    results, _ = run(
        reactor_thread,
        tmp_path,
        """\
        - id: persistence
          title: t
          requirement: SHOULD
          steps:
            - send: "GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"
            - expect:
                one_of:
                  - response: {status: 200, headers: {Connection: false}}
                  - [{response: {status: 200}, unimplemented: true}, {closed: true}]
            - send: "GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"
            - expect: {response: {status: 200}}
        """,
        answer_and_close,
    )
    assert results["persistence"].verdict is Verdict.UNIMPLEMENTED


class OneAtATimeWebSocket(OneAtATime):
    """The single worker again, as a WebSocket server: it completes each handshake in turn,
    then keeps a connection opened on /hold and closes the others."""

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        import base64
        import hashlib
        import re

        self.buffer += data
        if b"\r\n\r\n" not in self.buffer or getattr(self, "answered", False):
            return
        self.answered = True
        key = re.search(rb"Sec-WebSocket-Key: *(\S+)", self.buffer, re.IGNORECASE)
        assert key is not None
        accept = base64.b64encode(
            hashlib.sha1(key.group(1) + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()
        )
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        if b"/hold" not in self.buffer:
            self.transport.loseConnection()


def test_a_handshake_a_single_worker_answers_late_is_run_again(reactor_thread: Any, tmp_path: Path) -> None:
    """An opening that runs out of time (a WebSocket handshake here) is judged as an expect
    step that does: run again, alone, when the target answered other cases."""
    quick = "".join(
        f"""
  - id: quick-{n}
    title: quick
    requirement: MUST
    steps:
      - connect: websocket
      - expect: {{closed: true}}
"""
        for n in range(6)
    )
    hold = """
  - id: hold
    title: holds the only worker for a while
    requirement: MUST
    steps:
      - connect: {mode: websocket, path: /hold}
      - expect: {silence: 1200}
"""
    first, rest = quick.split("\n  - id: quick-1", 1)
    path = tmp_path / "cases.yaml"
    path.write_text(
        "protocol: ws\nrfc: 6455\nsection: '4.1'\ncases:" + first + hold + "\n  - id: quick-1" + rest
    )
    cases = load_cases([path])
    factory = protocol.Factory.forProtocol(OneAtATimeWebSocket)
    factory.queue = []
    port = reactor_thread.call(
        lambda: reactor_thread.reactor.listenTCP(0, factory, interface="127.0.0.1", backlog=50)
    )
    try:
        target = Target.parse(f"ws://127.0.0.1:{port.getHost().port}/")
        results = reactor_thread.run(cases, [target], RunOptions(timeout=0.8), jobs=8)
    finally:
        reactor_thread.call(port.stopListening)
    verdicts = {c.id.rsplit("/", 1)[1]: c.verdict for c in results.targets[0].cases}
    assert set(verdicts.values()) == {Verdict.PASS}, [c.observed for c in results.targets[0].cases]


def test_transcripts_failures_keeps_the_wire_of_every_case_but_a_pass(reactor_thread, tmp_path) -> None:  # type: ignore[no-untyped-def]
    yaml = """
        - id: ok
          title: t
          requirement: MUST
          steps:
            - send: "GET / HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
            - expect: {response: {status: 200}}
        - id: wants-400
          title: t
          requirement: MUST
          steps:
            - send: "GET / HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
            - expect: {response: {status: 400}}
        """
    kept, _ = run(reactor_thread, tmp_path, yaml, answer_ok, transcripts="failures")
    assert kept["ok"].transcript == () and kept["ok"].transcript_omitted > 0
    assert kept["ok"].to_json()["transcript_omitted"] == kept["ok"].transcript_omitted
    assert kept["wants-400"].transcript and not kept["wants-400"].transcript_omitted
    everything, _ = run(reactor_thread, tmp_path, yaml, answer_ok)
    assert everything["ok"].transcript and not everything["ok"].transcript_omitted


class CloseThenLingerWebSocket(protocol.Protocol):
    """A WebSocket server that answers any message with a close frame (code 1000), and closes
    the TCP connection a little while after our close frame comes back, as a server that
    finishes its closing handshake on another turn of its event loop does."""

    def connectionMade(self) -> None:  # noqa: N802
        self.buffer = b""
        self.stage = "handshake"

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        import base64
        import hashlib
        import re

        self.buffer += data
        if self.stage == "handshake" and b"\r\n\r\n" in self.buffer:
            key = re.search(rb"Sec-WebSocket-Key: *(\S+)", self.buffer, re.IGNORECASE)
            assert key is not None
            accept = base64.b64encode(
                hashlib.sha1(key.group(1) + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()
            )
            self.transport.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            self.stage, self.buffer = "open", self.buffer[self.buffer.index(b"\r\n\r\n") + 4 :]
        if self.stage == "open" and self.buffer:
            self.transport.write(b"\x88\x02\x03\xe8")  # close, code 1000
            self.stage, self.buffer = "closing", b""
        elif self.stage == "closing" and self.buffer:
            self.stage = "closed"
            self.factory.reactor.callLater(self.factory.linger, self.transport.loseConnection)


def test_the_closing_is_judged_after_the_tcp_close_that_follows_a_failed_step(
    reactor_thread: Any, tmp_path: Path
) -> None:
    """A step decided by the target's close frame (a FAIL: another code) ends the case at once;
    the closing handshake is judged after the TCP close that follows the close frames a moment
    later, not as a connection the target kept open."""
    path = tmp_path / "cases.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            protocol: ws
            rfc: 6455
            section: '7.4'
            cases:
              - id: wrong-code
                title: t
                requirement: MUST
                steps:
                  - connect: websocket
                  - send: {message: {text: "x"}}
                  - expect: {close: {code: 1002}}
            """
        )
    )
    cases = load_cases([path])
    factory = protocol.Factory.forProtocol(CloseThenLingerWebSocket)
    factory.linger = 0.1
    factory.reactor = reactor_thread.reactor
    port = reactor_thread.call(lambda: reactor_thread.reactor.listenTCP(0, factory, interface="127.0.0.1"))
    try:
        target = Target.parse(f"ws://127.0.0.1:{port.getHost().port}/")
        results = reactor_thread.run(cases, [target], RunOptions(timeout=2.0))
    finally:
        reactor_thread.call(port.stopListening)
    (result,) = results.targets[0].cases
    assert result.verdict is Verdict.FAIL, result.observed
    assert result.closing is not None
    assert result.closing["verdict"] == "WRONG CODE", result.closing


def test_a_connection_attempt_that_times_out_earns_a_second_run(reactor_thread, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A full listen queue (a busy single-threaded server) drops the SYN: the case's
    connection attempt times out. That rests on a deadline, as a silent answer does, so the
    outcome says so (run_suite runs such cases again, alone); a refused connection does not."""
    import socket

    from conformance.driver.interpreter import run_case

    path = tmp_path / "c.yaml"
    path.write_text(
        "protocol: h1\nrfc: 9112\nsection: '9'\ncases:\n"
        "  - id: one\n    title: t\n    requirement: MUST\n"
        '    steps:\n      - send: "GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"\n'
        "      - expect: {response: {status: 200}}\n"
    )
    (case,) = load_cases([path])
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)  # never accepted: the queue holds one connection, then SYNs are dropped
        port = server.getsockname()[1]
        fillers = [socket.socket() for _ in range(3)]
        try:
            for filler in fillers:
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
            target = Target.parse(f"http://127.0.0.1:{port}/")
            options = RunOptions(timeout=1.0, connect_timeout=0.5, preflight=False)
            outcome = reactor_thread.call(run_case, reactor_thread.reactor, case, target, options)
        finally:
            for filler in fillers:
                filler.close()
        free = server.getsockname()[1]
    assert outcome.result.verdict is Verdict.ERROR
    assert "could not connect" in outcome.result.observed
    assert outcome.waited_out
    refused = reactor_thread.call(
        run_case, reactor_thread.reactor, case, Target.parse(f"http://127.0.0.1:{free}/"), options
    )
    assert refused.result.verdict is Verdict.ERROR
    assert not refused.waited_out
