"""The WebSocket suite against real servers, started on loopback by the tests.

Every FAIL a server gets is listed below with the RFC text that decides it (a FAIL not in
the list fails the test, and so does a listed one that no longer FAILs); a few PASS and
NON-STRICT verdicts are pinned where a server does something the RFC allows. The whole
suite runs three times in a row per server: no ERROR, and the same verdict every time.
Servers missing from the machine are skipped, except under CI=true.
"""

from __future__ import annotations

import pytest
from servers_ws import WS_SERVERS

from conformance.driver.interpreter import RunOptions
from conformance.results import TargetResults
from conformance.scenario import bundled_cases_dir
from conformance.scenario.loader import load_cases
from conformance.target import Target

PASS, FAIL, NON_STRICT, UNIMPLEMENTED = "PASS", "FAIL", "NON-STRICT", "UNIMPLEMENTED"

#: server -> the cases it FAILs, each checked against the RFC.
FAILS: dict[str, dict[str, str]] = {
    "websockets": {
        # RFC 6455 §4.2.1 item 2 and RFC 9112 §3.2: an HTTP/1.1 request without Host MUST be
        # answered 400; websockets 17 completes the handshake.
        "ws/6455/4.2/missing-host": "a 101 to a handshake without Host",
        # RFC 6455 §4.4: a server that does not understand the requested version "MUST respond
        # with a |Sec-WebSocket-Version| header field ... containing all versions it is
        # willing to use"; websockets answers 400 without the field.
        "ws/6455/4.2/version-12": "400 without Sec-WebSocket-Version",
        "ws/6455/4.2/version-14": "400 without Sec-WebSocket-Version",
        "ws/6455/4.2/version-99": "400 without Sec-WebSocket-Version",
        # RFC 6455 §5.4: "control frames MAY be injected in the middle of a fragmented
        # message", and a close frame is a control frame; §5.5.1: the answer to a close is a
        # close. websockets answers 1002 ("incomplete fragmented message") to a valid close.
        "ws/6455/5.5.1/close-inside-fragmented-message": "1002 for a close between fragments",
    },
    "autobahn": {},
}

#: Verdicts other than FAIL worth pinning, with why the RFC allows them.
PINNED: dict[str, dict[str, str]] = {
    "websockets": {
        # RFC 6455 §8.1 asks to fail on invalid UTF-8, not when; websockets checks text only
        # when the message is whole: allowed, not preferred (fail fast).
        "ws/6455/8.1/fail-fast-second-fragment": NON_STRICT,
        "ws/6455/8.1/fail-fast-mid-frame": NON_STRICT,
        # RFC 6455 §10.4: a limit on the number of fragments (1009) is the server's right.
        "ws/6455/10.4/fragmented-text-4mib-in-64-byte-fragments": NON_STRICT,
        # RFC 7692 §7.1: an offer with an unknown parameter is declined, the handshake goes on.
        "ws/7692/7/offer-declined-unknown-parameter": PASS,
        # RFC 7692 §7.1.2.1: a server that does not support the window asked for declines the
        # offer; websockets declines server_max_window_bits=8 (zlib has no 8-bit raw window)
        # and completes the handshake without permessage-deflate (Autobahn 13.3, 13.5).
        "ws/7692/7.1/server-bits-8-16": UNIMPLEMENTED,
        "ws/7692/7.1/server-no-takeover-bits-8-131072-in-32768": UNIMPLEMENTED,
        # RFC 7692 §5: of several offers the server accepts one; websockets declines the first
        # (8 bits) and accepts the second (Autobahn 13.7).
        "ws/7692/7.1/three-offers-16": PASS,
        "ws/7692/7.1/three-offers-131072-in-256": PASS,
    },
    "autobahn": {
        # autobahn's default failByDrop drops the TCP connection without a close frame when
        # it fails a connection: RFC 6455 §7.1.7 makes the close frame a SHOULD.
        "ws/6455/5.1/unmasked-text": NON_STRICT,
        "ws/6455/8.1/invalid-surrogate-1": NON_STRICT,
        # RFC 7692 §7.1 says to decline an invalid offer; autobahn refuses the handshake
        # (400) instead: allowed, not preferred.
        "ws/7692/7/offer-declined-unknown-parameter": NON_STRICT,
        "ws/6455/5.5.1/close-inside-fragmented-message": PASS,
        # RFC 7692 §7.1.2.1 makes server_max_window_bits=8 a valid offer, which a server that
        # cannot honour it declines (§5); autobahn answers 400 "illegal extension parameter
        # value '8'" instead — even with acceptable offers after it (Autobahn 13.3, 13.5,
        # 13.7). RFC 6455 §4.2.2 lets a server refuse a connection: allowed, not preferred.
        "ws/7692/7.1/server-bits-8-16": NON_STRICT,
        "ws/7692/7.1/server-no-takeover-bits-8-65536-in-256": NON_STRICT,
        "ws/7692/7.1/three-offers-4096": NON_STRICT,
        "ws/7692/7.1/server-bits-15-131072-in-32768": PASS,
    },
}


@pytest.fixture(scope="module")
def ws_cases():  # type: ignore[no-untyped-def]
    return [case for case in load_cases([bundled_cases_dir()]) if case.protocol == "ws"]


def run(reactor_thread, cases, name: str, url: str) -> TargetResults:  # type: ignore[no-untyped-def]
    results = reactor_thread.run(cases, [Target.parse(f"{name}={url}")], RunOptions())
    return results.targets[0]


def verdicts(target: TargetResults) -> dict[str, str]:
    return {case.id: case.verdict.value for case in target.cases}


@pytest.mark.realserver
@pytest.mark.slow
@pytest.mark.parametrize("server", sorted(WS_SERVERS))
def test_ws_suite_against_real_server(server, reactor_thread, ws_cases):  # type: ignore[no-untyped-def]
    with WS_SERVERS[server]() as url:
        runs = [run(reactor_thread, ws_cases, server, url) for _ in range(3)]
    observed = verdicts(runs[0])
    assert len(observed) == len(ws_cases)
    errors = {
        case.id: case.observed for target in runs for case in target.cases if case.verdict.value == "ERROR"
    }
    assert errors == {}
    failed = {case_id for case_id, verdict in observed.items() if verdict == FAIL}
    assert sorted(failed) == sorted(FAILS[server])
    pinned = PINNED[server]
    assert {case_id: observed[case_id] for case_id in pinned} == pinned
    for again in runs[1:]:
        now = verdicts(again)
        changed = {k: (v, now[k]) for k, v in observed.items() if now[k] != v}
        assert changed == {}
