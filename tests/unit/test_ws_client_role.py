"""The WebSocket client role's pieces: the check of a client's opening handshake (RFC 6455
§4.1), the harness's answer (right or wrong on purpose), and the session that judges the
client's frames with the client's masking rule and closes TCP after the closing handshake."""

from __future__ import annotations

import pytest

from conformance.codecs.ws.frames import Frame, Opcode, encode_frame
from conformance.codecs.ws.handshake import SAMPLE_KEY, check_request
from conformance.codecs.ws.messages import Message
from conformance.driver.ws_server import ClientHandshake, WsAnswer, WsServerSession
from conformance.scenario import payloads
from conformance.scenario.kinds.ws import WsFrame, WsMessage
from conformance.scenario.templates import TargetContext

GOOD = {
    "host": ["127.0.0.1:8000"],
    "upgrade": ["websocket"],
    "connection": ["keep-alive, Upgrade"],
    "sec-websocket-key": [SAMPLE_KEY],
    "sec-websocket-version": ["13"],
}
CONTEXT = TargetContext(host="", port=0, authority="", path="", scheme="")


def _check(method: str = "GET", version: str = "HTTP/1.1", **changes: list[str]) -> tuple[str, ...]:
    fields = {**GOOD, **{name.replace("_", "-"): value for name, value in changes.items()}}
    return check_request(method, version, lambda name: fields.get(name, []))


def test_a_valid_handshake_has_no_problem() -> None:
    assert _check() == ()
    assert _check(version="HTTP/2.0") == ()


@pytest.mark.parametrize(
    ("changes", "item"),
    [
        ({"method": "POST"}, "item 2"),
        ({"version": "HTTP/1.0"}, "item 2"),
        ({"host": []}, "item 4"),
        ({"upgrade": ["h2c"]}, "item 5"),
        ({"connection": ["keep-alive"]}, "item 6"),
        ({"sec_websocket_key": ["c2hvcnQ="]}, "item 7"),  # 5 bytes
        ({"sec_websocket_key": ["not base64!"]}, "item 7"),
        ({"sec_websocket_key": []}, "item 7"),
        ({"sec_websocket_version": ["8"]}, "item 9"),
    ],
)
def test_each_requirement_is_checked(changes: dict, item: str) -> None:
    problems = _check(**changes)
    assert len(problems) == 1 and item in problems[0]


def _opened(answer: WsAnswer | None = None) -> tuple[WsServerSession, bytes]:
    session = WsServerSession()
    request = (
        b"GET /x HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: " + SAMPLE_KEY.encode() + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    events = session.receive(request)
    assert len(events) == 1 and isinstance(events[0], ClientHandshake) and not events[0].problems
    data, early = session.answer(answer or WsAnswer())
    assert early == []
    session.sent(data)
    return session, data


def test_the_answer_carries_the_right_accept_or_a_wrong_one_on_purpose() -> None:
    _, data = _opened()
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in data
    assert data.startswith(b"HTTP/1.1 101 ")
    wrong = WsAnswer(accept="wrong", upgrade=None, extensions="x-unoffered").render(SAMPLE_KEY)
    assert b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" not in wrong and b"Sec-WebSocket-Accept:" in wrong
    assert b"Upgrade:" not in wrong and b"Sec-WebSocket-Extensions: x-unoffered\r\n" in wrong
    assert WsAnswer(accept="missing").render(SAMPLE_KEY).count(b"Accept") == 0


def test_server_frames_are_unmasked_and_echoes_are_recognised() -> None:
    session, _ = _opened()
    message = WsMessage(kind="text", payload=payloads.Text(text="hi", encoding="utf-8"))
    written = b"".join(session.render_chunks(message, CONTEXT))
    assert written == b"\x81\x02hi"  # no mask bit: the harness is the server
    for chunk in (written,):
        session.sent(chunk)
    echoed = session.receive(encode_frame(Opcode.TEXT, b"hi", mask_key=b"abcd"))
    messages = [e for e in echoed if isinstance(e, Message)]
    assert messages and messages[0].echo is True and not messages[0].violations
    frame = WsFrame(opcode=Opcode.PING, payload=payloads.Raw(data=b"p"))
    assert session.render(frame, CONTEXT) == b"\x89\x01p"


def test_an_unmasked_client_frame_is_a_violation() -> None:
    session, _ = _opened()
    events = session.receive(encode_frame(Opcode.TEXT, b"hi", mask_key=None))
    frames = [e for e in events if isinstance(e, Frame)]
    assert frames and frames[0].violations


def test_the_server_closes_tcp_once_close_frames_went_both_ways() -> None:
    session, _ = _opened()
    assert not session.close_now
    session.receive(encode_frame(Opcode.CLOSE, b"\x03\xe8", mask_key=b"abcd"))
    assert session.outgoing()[:1] == b"\x88"  # the close frame answered
    assert session.close_now


def test_an_implicit_accept_answers_the_websocket_handshake() -> None:
    from conformance.scenario import model
    from conformance.scenario.kinds.client import default_answer

    assert isinstance(default_answer("ws"), WsAnswer)
    assert default_answer("h1") is None
    from conformance.scenario.loader import load_cases

    cases = [case for case in load_cases(role="client") if case.protocol == "ws"]
    assert cases
    for case in cases:
        first = case.steps[0]
        assert isinstance(first, model.Accept) and isinstance(first.answer, WsAnswer), case.id
