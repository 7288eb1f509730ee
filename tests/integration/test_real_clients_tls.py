"""``conformance client --tls``: the real clients over TLS (https://, wss://, the run's CA
handed as ``{ca}``) get the verdicts they get over TCP, case for case.

A part of each suite, where TLS could change what the client sees: HTTP/1.1's framing and
incomplete responses (the harness's close is TLS's close_notify, its reset a TCP close without
one), HTTP/2 entire (ALPN selects h2, RFC 9113 §3.2), and WebSocket's opening handshake,
closing handshake and permessage-deflate. The pins are the TCP runs' (test_real_clients*.py).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import real_clients
import test_real_clients
import test_real_clients_h2
import test_real_clients_ws

from conformance.driver.endpoints import ListenerTLS

ADAPTERS = Path(__file__).resolve().parent / "clients"


def _curl(*flags: str) -> str | None:
    curl = shutil.which("curl")
    if curl is None:
        return None
    if (
        "--http2" in flags
        and " HTTP2" not in subprocess.run([curl, "-V"], capture_output=True, text=True).stdout
    ):
        return None
    return " ".join([shlex.quote(curl), "-s", *flags, "--cacert", "{ca}", "{url}"])


def _websockets() -> str | None:
    command = real_clients.python_adapter("websockets_ws.py", "websockets")
    return None if command is None else command.replace("{url}", "--ca {ca} {url}")


def _under(*prefixes: str) -> Callable[[str], bool]:
    return lambda case_id: case_id.startswith(prefixes)


#: (suite, client, its command over TLS (None: not installed), the cases run (None: all), the
#: TCP run's verdicts other than PASS)
CLIENTS = {
    "curl-h1": (
        "h1",
        "curl",
        _curl,
        _under("client/h1/9112/6.3/", "client/h1/9112/8/", "client/h1/9110/15.2/"),
        test_real_clients.EXPECTED["curl"],
    ),
    "curl-h2": (
        "h2",
        "curl",
        lambda: _curl("--http2"),
        None,
        real_clients.expected_verdicts(test_real_clients_h2.PINS, test_real_clients_h2.PREFIX)["curl"],
    ),
    "websockets": (
        "ws",
        "websockets",
        _websockets,
        _under("client/ws/6455/4.1/", "client/ws/6455/7.4/", "client/ws/6455/5.5.1/", "client/ws/7692/7/"),
        real_clients.expected_verdicts(test_real_clients_ws.PINS, test_real_clients_ws.PREFIX)["websockets"],
    ),
}


@pytest.mark.parametrize("key", sorted(CLIENTS))
def test_real_client_verdicts_over_tls_are_those_over_tcp(reactor_thread, tmp_path: Path, key: str) -> None:  # type: ignore[no-untyped-def]
    suite, name, command_of, keep, expected = CLIENTS[key]
    command = command_of()
    if command is None:
        real_clients.check(reactor_thread, suite, name, None, {})  # skips, or fails under CI
    tls = ListenerTLS.create(tmp_path)
    seen = real_clients.run(reactor_thread, suite, name, command, keep, tls=tls)
    assert seen, "no case ran"
    differences = {
        case_id: f"pinned {expected.get(case_id, 'PASS')}, got {case.verdict}: {case.observed[:400]}"
        for case_id, case in sorted(seen.items())
        if case.verdict != expected.get(case_id, "PASS")
    }
    assert differences == {}
