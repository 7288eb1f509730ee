"""The harness's memory for 16 MiB payloads, on the Python heap (tracemalloc), not the clock.

A case that sends a 16 MiB WebSocket message and reads its 16 MiB echo, or a 16 MiB HTTP/2
DATA or HEADERS frame, must cost the harness about one copy of the payload at most (the echo it reads
is held once, to be digested), not the three or four it cost when messages and frames were
built whole, joined and copied. The server runs in another process (``conformance serve``),
so that only the harness's allocations are counted. These are bounds on allocation, not on
time: a loaded machine makes them no more likely to fail.
"""

from __future__ import annotations

import sys
import textwrap
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.defer import Deferred

from conformance.driver.interpreter import RunOptions
from conformance.scenario.loader import load_cases
from conformance.target import Target
from conformance.verdicts.verdict import Verdict

MiB = 1 << 20
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from reference_process import start_reference  # noqa: E402


@pytest.fixture(scope="module")
def reference_urls() -> Iterator[dict[str, str]]:
    """The reference target in a process of its own: its URLs by suite."""
    server = start_reference()
    try:
        assert {"h2", "ws"} <= set(server.urls), f"the reference target did not start: {server.urls}"
        yield server.urls
    finally:
        server.stop()


def heap_peak(reactor_thread: Any, cases: list[Any], url: str) -> tuple[int, Any]:
    """Bytes the Python heap grew by, at its highest, while the cases ran; and the results."""
    started = tracemalloc.is_tracing()
    if not started:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        results = reactor_thread.run(cases, [Target.parse(url)], RunOptions())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not started:
            tracemalloc.stop()
    return peak - before, results.targets[0].cases


def test_a_16_mib_websocket_echo_costs_about_one_copy(
    reactor_thread: Any, reference_urls: dict[str, str]
) -> None:
    wanted = {"ws/6455/10.4/large-binary-16mib", "ws/6455/10.4/large-text-16mib"}
    cases = [case for case in load_cases() if case.id in wanted]
    assert len(cases) == 2
    for case in cases:
        grown, results = heap_peak(reactor_thread, [case], reference_urls["ws"])
        assert results[0].verdict is Verdict.PASS, results[0].observed
        # One copy: the echo read into one buffer (16 MiB). Sending the message whole cost
        # three more (payload, masked frame, joined frames); reading it, a second copy.
        assert grown < 24 * MiB, f"{case.id}: the heap grew by {grown / MiB:.1f} MiB"


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (
            '{frame: DATA, stream: 1, flags: [END_STREAM], data: {repeat: "a", count: 16777215}}',
            "stream_error",
        ),
        ("{frame: HEADERS, stream: 3, flags: [END_STREAM, END_HEADERS], fill: 16777215}", "connection_error"),
    ],
    ids=["data", "headers-filled"],
)
def test_a_16_mib_http2_frame_is_never_built_whole(
    reactor_thread: Any, reference_urls: dict[str, str], tmp_path: Path, frame: str, expected: str
) -> None:
    # The largest frame a header can declare (DATA, or HEADERS with a field block filled to
    # it), to a target that allows 16384 octets: written
    # while the target reads; the target's FRAME_SIZE_ERROR may cut it short, and must not
    # matter, the frame is never whole in memory.
    path = tmp_path / "big.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            protocol: h2
            rfc: 9113
            section: "4.2"
            cases:
              - id: big
                title: a 16 MiB DATA frame
                requirement: MUST
                steps:
                  - send: {headers: {stream: 1, flags: [END_HEADERS], method: POST}}
                  - send: THE_FRAME
                  - expect: {THE_ERROR: FRAME_SIZE_ERROR}
            """
        )
        .replace("THE_FRAME", frame)
        .replace("THE_ERROR", expected)
    )
    grown, results = heap_peak(reactor_thread, load_cases([path]), reference_urls["h2"])
    assert results[0].verdict in (Verdict.PASS, Verdict.NON_STRICT), results[0].observed
    assert grown < 4 * MiB, f"the heap grew by {grown / MiB:.1f} MiB"


class _Transport:
    """Enough of a TCP transport for write_stream: records writes, never pauses."""

    disconnected = False

    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def registerProducer(self, producer: Any, streaming: bool) -> None:  # noqa: N802 - Twisted's name
        pass

    def unregisterProducer(self) -> None:  # noqa: N802
        pass


class _Session:
    """Replies ``b"<reply>"`` to whatever it receives, held while a payload is streamed."""

    replies_after_stream = True

    def __init__(self) -> None:
        self.pending = b""

    def sent(self, data: bytes) -> None:
        pass

    def receive(self, data: bytes) -> list[Any]:
        self.pending = b"<reply>"
        return []

    def outgoing(self) -> bytes:
        reply, self.pending = self.pending, b""
        return reply


def test_a_reply_made_while_a_payload_is_streamed_goes_out_after_it() -> None:
    # Streaming lets the target speak in the middle of our frame (a close frame, a SETTINGS);
    # the session's automatic reply must not land inside the frame being written.
    from twisted.internet.task import Clock

    from conformance.driver.connection import WireProtocol
    from conformance.driver.recording import Recorder

    clock = Clock()
    wire = WireProtocol(session=_Session(), recorder=Recorder(clock), reactor=clock, byte_cap=1 << 20)
    transport = _Transport()
    wire.makeConnection(transport)  # type: ignore[arg-type]

    def chunks() -> Iterator[bytes]:
        yield b"<frame part 1>"
        wire.dataReceived(b"the target speaks")
        yield b"<frame part 2>"

    finished = Deferred.fromCoroutine(wire.write_stream(chunks(), stall_timeout=1.0))
    assert finished.called
    assert transport.written == [b"<frame part 1>", b"<frame part 2>", b"<reply>"]
    wire.dataReceived(b"and again")  # nothing being streamed: the reply goes out at once
    assert transport.written[-1] == b"<reply>" and len(transport.written) == 4
