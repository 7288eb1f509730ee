"""The WebSocket client role's pieces: the check of a client's opening handshake (RFC 6455
§4.1), the harness's answer (right or wrong on purpose), and the session that judges the
client's frames with the client's masking rule and closes TCP after the closing handshake."""

from __future__ import annotations

import pytest

from conformance.codecs.ws.answer import WsAnswer
from conformance.codecs.ws.frames import Frame, Opcode, encode_frame
from conformance.codecs.ws.handshake import SAMPLE_KEY, check_request
from conformance.codecs.ws.messages import Message
from conformance.driver.ws_server import ClientHandshake, WsServerSession
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


# -- permessage-deflate accepted from the server's side (RFC 7692 §7.1)


def _deflate_answer(text: str):  # noqa: ANN202 - the scenario kind builds a DeflateAnswer
    from conformance.scenario.loader import load_text

    case_file = (
        "protocol: ws\nrole: client\nrfc: 7692\nsection: '7'\ncases:\n"
        "  - id: x\n    title: x\n    requirement: MUST\n    reference: x\n"
        "    rule: {quote: the client MUST x, source: x, subject: the client}\n"
        f"    steps:\n      - accept: {{answer: {{deflate: {text}}}}}\n      - expect: {{exit: accepted}}\n"
    )
    cases, errors = load_text(case_file, "x.yaml")
    assert not errors and len(cases) == 1
    return cases[0].steps[0].answer.deflate


def test_deflate_takes_the_offer_as_it_is_and_grants_what_it_asks_of_the_server() -> None:
    from conformance.codecs.ws.answer import DeflateAnswer

    agreed = DeflateAnswer().agree(
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"
    )
    assert not isinstance(agreed, str)
    assert agreed.response == "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"
    assert (agreed.server_reset, agreed.server_bits, agreed.client_reset, agreed.client_bits) == (
        True,
        10,
        False,
        None,
    )


def test_deflate_gives_a_client_window_only_to_an_offer_that_allows_it() -> None:
    from conformance.codecs.ws.answer import DeflateAnswer

    answer = DeflateAnswer(choices=((("client_max_window_bits", 9),),))
    assert "client_max_window_bits" in str(answer.agree("permessage-deflate"))  # why: UNIMPLEMENTED
    agreed = answer.agree("permessage-deflate; client_max_window_bits")
    assert not isinstance(agreed, str) and agreed.response == "permessage-deflate; client_max_window_bits=9"
    # A window the client offered smaller stays as small (the response is no larger, §7.1.2.2).
    agreed = answer.agree("permessage-deflate; client_max_window_bits=8")
    assert not isinstance(agreed, str) and agreed.client_bits == 8


def test_deflate_choices_go_in_order_and_an_offer_hint_binds_the_client() -> None:
    answer = _deflate_answer(
        '"permessage-deflate; client_no_context_takeover; client_max_window_bits=9, '
        'permessage-deflate; client_no_context_takeover"'
    )
    agreed = answer.agree("permessage-deflate")
    assert not isinstance(agreed, str)
    assert agreed.response == "permessage-deflate; client_no_context_takeover"
    # client_no_context_takeover in the offer is a promise even when the answer leaves it out.
    hinted = _deflate_answer("true").agree("permessage-deflate; client_no_context_takeover")
    assert not isinstance(hinted, str) and hinted.client_reset and hinted.response == "permessage-deflate"


def test_deflate_without_an_offer_leaves_nothing_to_exercise() -> None:
    from conformance.codecs.ws.answer import DeflateAnswer

    assert isinstance(DeflateAnswer().agree(None), str)
    assert isinstance(DeflateAnswer(response="permessage-deflate; x=1").agree("x-other"), str)
    # An offer a server MUST decline (an unknown parameter) is not accepted either.
    assert isinstance(DeflateAnswer().agree("permessage-deflate; x=1"), str)


def test_an_agreed_session_inflates_the_clients_messages_under_its_side() -> None:
    import zlib

    from conformance.codecs.ws.answer import DeflateAnswer

    answer = WsAnswer(deflate=DeflateAnswer(choices=((("client_no_context_takeover", None),),)))
    session = WsServerSession()
    request = (
        b"GET /?permessage-deflate HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: " + SAMPLE_KEY.encode() + b"\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
    )
    session.receive(request)
    agreed = session.agree(answer)
    assert not isinstance(agreed, str) and agreed is not None
    data, _ = session.answer(answer, agreed)
    assert b"Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n" in data
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)  # context kept: the promise broken

    def frame(text: bytes) -> bytes:
        body = compressor.compress(text) + compressor.flush(zlib.Z_SYNC_FLUSH)
        return encode_frame(Opcode.TEXT, body[:-4], rsv1=True, mask_key=b"abcd")

    first = [e for e in session.receive(frame(b"hello hello hello")) if isinstance(e, Message)]
    second = [e for e in session.receive(frame(b"hello hello hello")) if isinstance(e, Message)]
    assert first and not first[0].violations
    assert second and second[0].violations  # it refers back to the first message
