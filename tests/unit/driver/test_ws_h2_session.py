"""WebSocket over HTTP/2 (RFC 8441): the session that carries WebSocket in the streams of an
HTTP/2 connection — the extended CONNECT it writes, the 2xx it checks, frames in DATA within
the flow-control windows, windows given back, END_STREAM as the close, RST_STREAM as a reset,
the setting followed — and which cases run over which HTTP version."""

from __future__ import annotations

import hpack

from conformance.codecs import h2frames as fr
from conformance.codecs import h2hpack as hp
from conformance.codecs.ws import frames
from conformance.codecs.ws.frames import Frame, Opcode
from conformance.codecs.ws.h2handshake import H2Problem, StreamEnded
from conformance.codecs.ws.messages import Message
from conformance.driver.ws_h2 import OUR_SETTINGS, WsH2Session, http_version_mismatch
from conformance.scenario import model
from conformance.scenario.kinds.ws import HandshakeOptions, WsFrame, WsMessage
from conformance.scenario.payloads import RandomBytes, Text
from conformance.scenario.templates import TargetContext
from conformance.target import Target
from conformance.verdicts.verdict import Requirement
from conformance.verdicts.ws import HandshakeResponse

CONTEXT = TargetContext(host="127.0.0.1", port=8000, authority="127.0.0.1:8000", path="/chat", scheme="h2c")


def frames_of(data: bytes) -> list[fr.Frame]:
    return fr.FrameDecoder(max_frame_size=fr.MAX_FRAME_SIZE_LIMIT).feed(data)


def server_settings(*pairs: tuple[int, int]) -> bytes:
    return fr.encode_frame(fr.FrameType.SETTINGS, fr.settings_payload(pairs))


def headers(stream: int, fields: list[tuple[bytes, bytes]], *, end: bool = False) -> bytes:
    flags = fr.Flag.END_HEADERS | (fr.Flag.END_STREAM if end else 0)
    return fr.encode_frame(fr.FrameType.HEADERS, hp.encode_fields(fields), flags=flags, stream_id=stream)


def data(stream: int, payload: bytes, *, end: bool = False) -> bytes:
    return fr.encode_frame(
        fr.FrameType.DATA, payload, flags=fr.Flag.END_STREAM if end else 0, stream_id=stream
    )


def begun() -> WsH2Session:
    """A session that has sent the preface and our SETTINGS (as the opener does)."""
    session = WsH2Session()
    session.sent(fr.PREFACE + fr.encode_frame(fr.FrameType.SETTINGS, fr.settings_payload(OUR_SETTINGS)))
    return session


def opened(
    options: HandshakeOptions | None = None, *, response: list[tuple[bytes, bytes]] | None = None
) -> WsH2Session:
    """A session whose stream 1 got a 200 (the preface and our SETTINGS as the opener sends them)."""
    session = WsH2Session()
    session.sent(fr.PREFACE + fr.encode_frame(fr.FrameType.SETTINGS, fr.settings_payload(OUR_SETTINGS)))
    session.receive(server_settings((fr.Setting.ENABLE_CONNECT_PROTOCOL, 1)))
    request = session.open_stream(options or HandshakeOptions(), CONTEXT)
    session.sent(request)
    (event,) = session.receive(headers(1, response or [(b":status", b"200")]))
    assert isinstance(event, HandshakeResponse)
    session.outgoing()
    return session


def test_the_extended_connect_has_what_rfc_8441_asks() -> None:
    session = WsH2Session()
    block = frames_of(session.open_stream(HandshakeOptions(subprotocols=("chat",)), CONTEXT))[0]
    assert isinstance(block, fr.HeadersFrame) and block.stream_id == 1
    fields = hpack.Decoder().decode(block.block)
    assert fields[:5] == [
        (":method", "CONNECT"),
        (":protocol", "websocket"),
        (":scheme", "http"),
        (":path", "/chat"),
        (":authority", "127.0.0.1:8000"),
    ]
    assert ("sec-websocket-version", "13") in fields and ("sec-websocket-protocol", "chat") in fields
    names = {name for name, _ in fields}
    assert not names & {"sec-websocket-key", "upgrade", "connection", "host"}  # RFC 8441 §5


def test_pseudo_header_fields_can_be_left_out_or_replaced() -> None:
    options = HandshakeOptions(omit=(":path",), headers=((":protocol", "x-other"),))
    block = frames_of(WsH2Session().open_stream(options, CONTEXT))[0]
    assert isinstance(block, fr.HeadersFrame)
    fields = dict(hpack.Decoder().decode(block.block))
    assert ":path" not in fields and fields[":protocol"] == "x-other"


def test_the_settings_are_followed_and_a_withdrawal_is_a_finding() -> None:
    session = begun()
    session.receive(server_settings((fr.Setting.ENABLE_CONNECT_PROTOCOL, 1)))
    assert session.connect_protocol == 1
    acknowledged = frames_of(session.outgoing())
    assert any(isinstance(f, fr.SettingsFrame) and f.flags & fr.Flag.ACK for f in acknowledged)
    (problem,) = session.receive(server_settings((fr.Setting.ENABLE_CONNECT_PROTOCOL, 0)))
    assert isinstance(problem, H2Problem) and problem.violations[0].code == "h2-connect-protocol-withdrawn"


def test_a_2xx_opens_the_websocket_and_a_refusal_does_not() -> None:
    session = opened()
    stream = session.streams[1]
    assert stream.accepted and stream.ws.upgraded
    refused = begun()
    refused.sent(refused.open_stream(HandshakeOptions(), CONTEXT))
    events = refused.receive(headers(1, [(b":status", b"501")], end=True))
    assert isinstance(events[0], HandshakeResponse) and events[0].outcome.problems
    assert isinstance(events[1], StreamEnded) and events[1].how == "END_STREAM"
    assert not refused.streams[1].ws.upgraded


def test_end_stream_on_the_2xx_is_a_problem() -> None:
    session = begun()
    session.sent(session.open_stream(HandshakeOptions(), CONTEXT))
    event = session.receive(headers(1, [(b":status", b"200")], end=True))[0]
    assert isinstance(event, HandshakeResponse) and "END_STREAM" in " ".join(event.outcome.problems)


def test_frames_travel_in_data_and_windows_are_given_back() -> None:
    session = opened()
    sent = frames_of(
        session.render(WsMessage(kind="text", payload=Text(text="hi", encoding="utf-8")), CONTEXT)
    )
    assert [type(f) for f in sent] == [fr.DataFrame] and sent[0].stream_id == 1
    echo = frames.encode_frame(Opcode.TEXT, b"hi", mask_key=None)
    events = session.receive(data(1, echo))
    assert isinstance(events[0], Frame) and isinstance(events[1], Message) and events[1].echo
    assert session.inner_received == len(echo)
    updates = [f for f in frames_of(session.outgoing()) if isinstance(f, fr.WindowUpdateFrame)]
    assert {(f.stream_id, f.increment) for f in updates} == {(0, len(echo)), (1, len(echo))}


def test_what_does_not_fit_the_window_waits_for_window_update() -> None:
    session = opened()
    out = frames_of(session.render(WsMessage(kind="binary", payload=RandomBytes(size=100_000)), CONTEXT))
    assert sum(f.length for f in out if isinstance(f, fr.DataFrame)) == fr.DEFAULT_WINDOW
    assert all(f.length <= fr.DEFAULT_MAX_FRAME_SIZE for f in out)
    session.receive(
        fr.encode_frame(fr.FrameType.WINDOW_UPDATE, fr.window_update_payload(1 << 20))
        + fr.encode_frame(fr.FrameType.WINDOW_UPDATE, fr.window_update_payload(1 << 20), stream_id=1)
    )
    rest = sum(f.length for f in frames_of(session.outgoing()) if isinstance(f, fr.DataFrame))
    assert fr.DEFAULT_WINDOW + rest > 100_000  # the message, its frame header included


def test_end_stream_is_the_close_and_is_answered_with_ours() -> None:
    session = opened()
    session.render(WsFrame(opcode=Opcode.CLOSE, close_code=1000), CONTEXT)
    close = frames.encode_frame(Opcode.CLOSE, b"\x03\xe8", mask_key=None)
    events = session.receive(data(1, close, end=True))
    assert isinstance(events[-1], StreamEnded) and not events[-1].reset
    ours = [f for f in frames_of(session.outgoing()) if isinstance(f, fr.DataFrame)]
    assert ours[-1].flags & fr.Flag.END_STREAM
    facts = session.closing_facts()
    assert facts is not None and facts.eof and facts.target_closed and facts.harness_closed
    assert facts.transport == "HTTP/2 stream"


def test_rst_stream_is_a_reset() -> None:
    session = opened()
    (event,) = session.receive(
        fr.encode_frame(fr.FrameType.RST_STREAM, fr.rst_stream_payload(fr.ErrorCode.CANCEL), stream_id=1)
    )
    assert isinstance(event, StreamEnded) and event.reset and event.error == fr.ErrorCode.CANCEL
    assert "RST_STREAM CANCEL" in event.describe()


def test_sends_go_to_the_newest_open_stream_then_back() -> None:
    session = opened()
    second = session.render(_handshake(), CONTEXT)
    session.sent(second)
    assert frames_of(second)[0].stream_id == 3
    session.receive(headers(3, [(b":status", b"200")]))
    message = WsMessage(kind="text", payload=Text(text="x", encoding="utf-8"))
    assert frames_of(session.render(message, CONTEXT))[0].stream_id == 3
    session.receive(data(3, frames.encode_frame(Opcode.CLOSE, b"\x03\xe8", mask_key=None), end=True))
    session.outgoing()
    assert frames_of(session.render(message, CONTEXT))[0].stream_id == 1


def _handshake() -> object:
    from conformance.scenario.kinds.ws import Handshake

    return Handshake(options=HandshakeOptions())


def _case(*steps: model.Step) -> model.Case:
    return model.Case(
        id="ws/x/1/y",
        protocol="ws",
        rfc="x",
        section="1",
        slug="y",
        title="t",
        requirement=Requirement.MUST,
        steps=steps,
    )


def test_which_cases_run_over_which_http() -> None:
    h2c = Target.parse("h2c://127.0.0.1:8000/", requested=("ws",))
    ws = Target.parse("ws://127.0.0.1:8000/")
    framing = _case()
    handshake = _case(model.Connect(mode="target"))
    keyed = _case(model.Connect(mode="websocket", options=HandshakeOptions(key="dGhlIHNhbXBsZSBub25jZQ==")))
    rfc8441 = _case(model.Connect(mode="websocket-h2"))
    assert http_version_mismatch(framing, h2c) is None and http_version_mismatch(framing, ws) is None
    assert "HTTP/1.1" in (http_version_mismatch(handshake, h2c) or "")
    assert "Sec-WebSocket-Key" in (http_version_mismatch(keyed, h2c) or "")
    assert "h2c://" in (http_version_mismatch(rfc8441, ws) or "")
    assert http_version_mismatch(rfc8441, h2c) is None


def test_the_websocket_suite_runs_over_h2_only_when_asked() -> None:
    assert Target.parse("h2c://127.0.0.1:8000/").suites == ("h2",)
    assert Target.parse("h2c://127.0.0.1:8000/", requested=("ws",)).suites == ("ws",)
    assert Target.parse("https://127.0.0.1:8443/", requested=("ws", "h2")).suites == ("h2", "ws")
    assert Target.parse("ws://127.0.0.1:8000/", requested=("ws",)).suites == ("ws",)
