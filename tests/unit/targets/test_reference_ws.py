"""The reference target's WebSocket endpoint: the handshake checks wsproto leaves out, and
the permessage-deflate offers it must decline (RFC 7692 §7.1)."""

from __future__ import annotations

from conformance.targets.ws import check_handshake, only_acceptable_offer

GOOD = (
    "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13"
)


def test_a_valid_handshake_goes_on_to_wsproto() -> None:
    assert check_handshake(GOOD.encode()) is None


def test_what_is_refused_and_how() -> None:
    def status(text: str) -> int | None:
        refusal = check_handshake(text.encode())
        return None if refusal is None else refusal[0]

    assert status(GOOD.replace("GET", "POST")) == 405
    assert status(GOOD.replace("HTTP/1.1", "HTTP/1.0")) == 400
    assert status(GOOD.replace("Host: x\r\n", "")) == 400
    assert status(GOOD.replace("dGhlIHNhbXBsZSBub25jZQ==", "AAAA")) == 400
    assert status(GOOD.replace("Upgrade: websocket", "Upgrade: h2c")) == 426
    refusal = check_handshake(GOOD.replace("Version: 13", "Version: 8").encode())
    assert refusal is not None and refusal[0] == 426 and ("Sec-WebSocket-Version", "13") in refusal[2]


def test_only_the_first_valid_deflate_offer_reaches_wsproto() -> None:
    head = (
        GOOD + "\r\nSec-WebSocket-Extensions: permessage-deflate; foo=1, x-other, "
        "permessage-deflate; client_max_window_bits"
    ).encode()
    kept = only_acceptable_offer(head).decode()
    assert kept.endswith("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
    assert kept.count("Sec-WebSocket-Extensions") == 1
    invalid = (GOOD + "\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=7").encode()
    assert "Sec-WebSocket-Extensions" not in only_acceptable_offer(invalid).decode()
