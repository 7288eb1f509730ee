"""WebSocket expectations and the closing-handshake verdict: pure functions of events."""

from __future__ import annotations

from conformance.codecs.common import ConnectionClosed, Violation
from conformance.codecs.ws.frames import Frame, Opcode
from conformance.codecs.ws.messages import Message
from conformance.results import CaseResult
from conformance.verdicts.expectations import Cursor, Grade, Matched, Mismatch, Observation, Pending
from conformance.verdicts.verdict import Requirement, Verdict
from conformance.verdicts.ws import (
    ClosePattern,
    CloseVerdict,
    ClosingFacts,
    FramePattern,
    MessagePattern,
    closing_verdict,
)


def close(code: int | None) -> Frame:
    payload = b"" if code is None else code.to_bytes(2, "big")
    return Frame(opcode=Opcode.CLOSE, payload=payload, length=len(payload))


def obs(*events: object, timed_out: bool = False) -> Observation:
    return Observation(events=list(events), received=0, elapsed=0.1, timed_out=timed_out)  # type: ignore[arg-type]


START = Cursor(index=0, received=0)


def test_fail_accepts_the_code_then_waits_for_the_tcp_close() -> None:
    pattern = ClosePattern(codes=(1002,), failing=True)
    assert isinstance(pattern.evaluate(obs(close(1002)), START), Pending)
    matched = pattern.evaluate(obs(close(1002), ConnectionClosed()), START)
    assert isinstance(matched, Matched) and matched.grade is Grade.PASS
    other = pattern.evaluate(obs(close(1000), ConnectionClosed()), START)
    assert isinstance(other, Matched) and other.grade is Grade.NON_STRICT
    dropped = pattern.evaluate(obs(ConnectionClosed(reset=True)), START)
    assert isinstance(dropped, Matched) and dropped.grade is Grade.NON_STRICT
    echoed = pattern.evaluate(obs(Message(opcode=1, payload=b"x", length=1, digest="")), START)
    assert isinstance(echoed, Mismatch)


def test_a_client_exit_seen_before_the_wire_event_it_follows_decides_nothing() -> None:
    """In client mode the client's exit is observed beside the wire, and may be seen before
    the reset or close frame the client wrote before it exited: the wire decides."""
    from conformance.verdicts.client import ClientExited

    exited = ClientExited(status=1)
    pattern = ClosePattern(codes=(1002,), failing=True)
    dropped = pattern.evaluate(obs(exited, ConnectionClosed(reset=True)), START)
    assert isinstance(dropped, Matched) and dropped.grade is Grade.NON_STRICT
    closed = pattern.evaluate(obs(exited, close(1002), ConnectionClosed()), START)
    assert isinstance(closed, Matched) and closed.grade is Grade.PASS
    assert isinstance(pattern.evaluate(obs(exited), START), Pending)
    echoed = Message(opcode=1, payload=b"x", length=1, digest="")
    assert isinstance(pattern.evaluate(obs(exited, echoed), START), Mismatch)


def test_close_wants_its_code_and_nothing_after_the_close_frame() -> None:
    pattern = ClosePattern(codes=(1000,), no_code=True, clean=True)
    assert isinstance(pattern.evaluate(obs(close(None), ConnectionClosed()), START), Matched)
    assert isinstance(pattern.evaluate(obs(close(1001), ConnectionClosed()), START), Mismatch)
    # RFC 6455 §5.5.1 forbids data frames after a Close frame, not control frames: a pong to a
    # ping that came after the close, or a second close, is allowed but not expected.
    pong = Frame(opcode=Opcode.PONG, payload=b"", length=0)
    after_pong = pattern.evaluate(obs(close(1000), pong, ConnectionClosed()), START)
    assert isinstance(after_pong, Matched) and after_pong.grade is Grade.NON_STRICT
    after_second = pattern.evaluate(obs(close(1000), close(1000), ConnectionClosed()), START)
    assert isinstance(after_second, Matched) and after_second.grade is Grade.NON_STRICT
    text = Frame(opcode=Opcode.TEXT, payload=b"x", length=1)
    assert isinstance(pattern.evaluate(obs(close(1000), text, ConnectionClosed()), START), Mismatch)
    open_after = pattern.evaluate(obs(close(1000), timed_out=True), START)
    assert isinstance(open_after, Mismatch) and "still open" in open_after.observed


def test_fail_earlier_looks_back() -> None:
    pattern = ClosePattern(codes=(1007,), failing=True, earlier=True)
    events = obs(close(1007), ConnectionClosed(), timed_out=True)
    assert isinstance(pattern.evaluate(events, Cursor(index=2, received=0)), Matched)
    assert isinstance(
        ClosePattern(codes=(1007,), failing=True).evaluate(events, Cursor(index=2, received=0)), Mismatch
    )


def test_messages_echoes_and_counts() -> None:
    ours = Message(opcode=1, payload=b"a", length=1, digest="d", echo=True)
    data_frame = Frame(opcode=Opcode.TEXT, payload=b"a", length=1)
    assert isinstance(
        MessagePattern(echo=True, count=2).evaluate(obs(data_frame, ours, data_frame, ours), START), Matched
    )
    short = MessagePattern(echo=True, count=3).evaluate(obs(ours, ours, timed_out=True), START)
    assert isinstance(short, Mismatch) and "only 2 of 3" in short.observed
    broken = Message(
        opcode=1,
        payload=b"a",
        length=1,
        digest="d",
        echo=True,
        violations=(Violation(code="x", message="y"),),
    )
    assert isinstance(MessagePattern(echo=True).evaluate(obs(broken), START), Mismatch)


def test_frames_pass_over_messages() -> None:
    pong = Frame(opcode=Opcode.PONG, payload=b"p", length=1)
    message = Message(opcode=1, payload=b"a", length=1, digest="d")
    assert isinstance(
        FramePattern(opcode=Opcode.PONG, payload=b"p").evaluate(obs(message, pong), START), Matched
    )
    assert isinstance(FramePattern(opcode=Opcode.PONG, payload=b"q").evaluate(obs(pong), START), Mismatch)


def test_closing_verdicts() -> None:
    expectations = [ClosePattern(codes=(1002,), failing=True)]
    clean = ClosingFacts(target_closed=True, target_code=1002, harness_closed=True, first="target", eof=True)
    found = closing_verdict(clean, [ConnectionClosed()], expectations)
    assert found is not None and found.verdict is CloseVerdict.OK and found.detail["closed_by"] == "target"
    wrong = closing_verdict(
        ClosingFacts(**{**clean.__dict__, "target_code": 1000}), [ConnectionClosed()], expectations
    )
    assert wrong is not None and wrong.verdict is CloseVerdict.WRONG_CODE
    dropped = closing_verdict(ClosingFacts(eof=True), [ConnectionClosed(reset=True)], expectations)
    assert dropped is not None and dropped.verdict is CloseVerdict.UNCLEAN
    assert closing_verdict(ClosingFacts(), [], expectations) is None
    assert closing_verdict(None, [], []) is None


def test_a_reset_after_the_closing_handshake_is_a_clean_close_not_in_the_preferred_way() -> None:
    """RFC 6455 §7.1.4: a TCP close after the completed closing handshake is a clean close,
    whatever the close; a reset only misses §7.1.1's SHOULD (close the TCP cleanly)."""
    expectations = [ClosePattern(codes=(1002,), failing=True)]
    done = ClosingFacts(target_closed=True, target_code=1002, harness_closed=True, first="target", eof=True)
    found = closing_verdict(done, [ConnectionClosed(reset=True)], expectations)
    assert found is not None and found.verdict is CloseVerdict.NON_STRICT
    assert found.detail["clean"] is True and "§7.1.4" in found.detail["text"]
    wrong = closing_verdict(
        ClosingFacts(**{**done.__dict__, "target_code": 1000}), [ConnectionClosed(reset=True)], expectations
    )
    assert wrong is not None and wrong.verdict is CloseVerdict.WRONG_CODE and "reset" in wrong.detail["text"]
    # Without our close frame the handshake was not complete: the reset is unclean.
    half = ClosingFacts(target_closed=True, target_code=1002, first="target", eof=True)
    unclean = closing_verdict(half, [ConnectionClosed(reset=True)], expectations)
    assert unclean is not None and unclean.verdict is CloseVerdict.UNCLEAN


def test_closing_texts_say_what_stayed_open() -> None:
    both = ClosingFacts(target_closed=True, target_code=1000, harness_closed=True, first="harness")
    found = closing_verdict(both, [], [])
    assert found is not None and found.verdict is CloseVerdict.UNCLEAN
    assert (
        found.detail["text"]
        == "close frames exchanged (closed by the harness), but the target kept the TCP connection open"
    )
    ours = closing_verdict(ClosingFacts(harness_closed=True, harness_code=1000, first="harness"), [], [])
    assert ours is not None and "no close frame from the target" in ours.detail["text"]
    assert "exchanged" not in ours.detail["text"]


def test_results_keep_the_closing_dimension_and_load_old_results() -> None:
    result = CaseResult(
        id="ws/6455/7.4/x",
        title="t",
        protocol="ws",
        rfc="6455",
        section="7.4",
        requirement=Requirement.MUST,
        verdict=Verdict.PASS,
        closing={"verdict": "OK", "text": "clean", "clean": True, "closed_by": "target"},
    )
    raw = result.to_json()
    assert raw["closing"]["verdict"] == "OK"
    assert CaseResult.from_json(raw) == result
    del raw["closing"]
    assert CaseResult.from_json(raw).closing is None
    h1 = CaseResult(
        id="h1/x",
        title="t",
        protocol="h1",
        rfc="9112",
        section="2",
        requirement=Requirement.MUST,
        verdict=Verdict.PASS,
    )
    assert "closing" not in h1.to_json()


def test_close_codes_beyond_every_range_are_recorded_not_judged() -> None:
    """RFC 6455 §7.4.2 defines the close codes up to 4999 and states nothing about larger
    ones (Autobahn 7.13.x records them as informational): no verdict of ours may fail them."""
    from conformance.scenario import bundled_cases_dir
    from conformance.scenario.loader import load_cases
    from conformance.scenario.model import Expect
    from conformance.verdicts.judge import StepFailure, judge

    cases = {c.id: c for c in load_cases([bundled_cases_dir() / "ws" / "6455" / "7.4.yaml"])}
    for code in (5000, 65535):
        case = cases[f"ws/6455/7.4/out-of-range-code-{code}"]
        assert case.requirement is Requirement.INFO
        step = next(s for s in case.steps if isinstance(s, Expect))
        failed = judge(case, grades=[], failure=StepFailure(index=2, step=step, observed="x"), error=None)
        assert failed.verdict is Verdict.INFORMATIONAL
