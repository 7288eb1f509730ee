"""The WebSocket suite against real servers, started on loopback by the tests.

Every FAIL a server gets is listed below with the RFC text that decides it (a FAIL not in
the list fails the test, and so does a listed one that no longer FAILs); a few PASS and
NON-STRICT verdicts are pinned where a server does something the RFC allows. The whole
suite runs three times in a row per server: no ERROR, and the same verdict every time.
Servers missing from the machine are skipped, except under CI=true.

daphne's FAILs are pinned in ``real_fails.yaml`` instead (grouped and judged, with one line
per changed case when they change), and its suite, which takes about 100 s, runs once.
"""

from __future__ import annotations

import pytest
import real_fails
import stability
from servers_ws import WS_SERVERS

from conformance.driver.interpreter import RunOptions
from conformance.results import TargetResults
from conformance.scenario import bundled_cases_dir
from conformance.scenario.loader import load_cases
from conformance.target import Target

PASS, FAIL, NON_STRICT, UNIMPLEMENTED = "PASS", "FAIL", "NON-STRICT", "UNIMPLEMENTED"
SKIPPED = "SKIPPED"

#: The 18 message sizes and fragmentations of each Autobahn 12.x and 13.x family.
AUTOBAHN_SIZES = (
    *("16", "64", "256", "1024", "4096", "8192", "16384", "32768", "65536", "131072"),
    *("8192-in-256", "16384-in-256", "32768-in-256", "65536-in-256"),
    *("131072-in-256", "131072-in-1024", "131072-in-4096", "131072-in-32768"),
)


def family(prefix: str, reason: str) -> dict[str, str]:
    """The 18 cases of one Autobahn 13.x family (``ws/7692/7.1/<offer>-<size>``), one reason."""
    return {f"ws/7692/7.1/{prefix}-{size}": reason for size in AUTOBAHN_SIZES}


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
    },
    "autobahn": {},
    "node-ws": {
        # RFC 6455 §4.2.1 item 1: the handshake is "an HTTP/1.1 or higher GET request", and a
        # request that does not match MUST get an HTTP error (§4.2.1, last paragraph); §4.1:
        # "the HTTP version MUST be at least 1.1". ws switches an HTTP/1.0 request.
        "ws/6455/4.2/http-1.0": "a 101 to an HTTP/1.0 handshake",
        # RFC 6455 §4.2.1 item 2 and RFC 9112 §3.2 (400 for an HTTP/1.1 request without Host):
        # Node checks Host for requests, not for upgrades, and ws completes the handshake.
        "ws/6455/4.2/missing-host": "a 101 to a handshake without Host",
    },
    "hypercorn": {
        # RFC 6455 §4.2.1 item 5: the key is "a base64-encoded value that, when decoded, is 16
        # bytes in length", and a handshake that does not match MUST get an HTTP error
        # (§4.2.1, last paragraph); wsproto's server handshake only checks the field is there.
        "ws/6455/4.2/bad-key-15-bytes": "a 101 to a 15-byte key",
        "ws/6455/4.2/bad-key-17-bytes": "a 101 to a 17-byte key",
        "ws/6455/4.2/bad-key-empty": "a 101 to an empty key",
        "ws/6455/4.2/bad-key-not-base64": "a 101 to a key that is not base64",
        # RFC 6455 §11.3.1: Sec-WebSocket-Key "MUST NOT appear more than once in an HTTP
        # request"; two fields make one value ("a, b") that is no 16-byte base64 key.
        "ws/6455/4.2/two-keys": "a 101 to a handshake with two keys",
        # RFC 7540 §3.2.1: "A server MUST NOT upgrade the connection to HTTP/2 if this header
        # field [HTTP2-Settings] is not present" (and RFC 9113 §3.1 deprecates the h2c
        # upgrade); hypercorn answers a WebSocket handshake with Upgrade: h2c and no
        # HTTP2-Settings by switching to HTTP/2.
        "ws/6455/4.2/odd-upgrade-h2c": "switches to h2c without HTTP2-Settings",
        # RFC 6455 §4.4: the answer to a version it does not speak carries the
        # Sec-WebSocket-Version field with the versions it does; hypercorn's 400 has none.
        "ws/6455/4.2/version-12": "400 without Sec-WebSocket-Version",
        "ws/6455/4.2/version-14": "400 without Sec-WebSocket-Version",
        "ws/6455/4.2/version-99": "400 without Sec-WebSocket-Version",
        # RFC 7692 §7.1: "A server MUST decline an extension negotiation offer ... if ... the
        # negotiation offer contains an extension parameter not defined for use in an offer,
        # ... an extension parameter with an invalid value, ... multiple extension parameters
        # with the same name". wsproto accepts such offers; an invalid window size makes it
        # drop the connection with no answer at all.
        "ws/7692/7/offer-declined-unknown-parameter": "accepts an offer with an unknown parameter",
        "ws/7692/7/offer-declined-duplicate-parameter": "accepts an offer with a parameter twice",
        "ws/7692/7/offer-declined-server-bits-no-value": "accepts server_max_window_bits without a value",
        "ws/7692/7/offer-declined-takeover-with-value": "accepts server_no_context_takeover=1",
        "ws/7692/7/offer-declined-client-bits-abc": "drops the connection on client_max_window_bits=abc",
    },
    "aiohttp": {
        # RFC 6455 §4.2.1 item 1 (an HTTP/1.1 or higher GET request; anything else gets an
        # HTTP error): aiohttp answers an HTTP/1.0 handshake with an HTTP/1.0 101, and a HEAD
        # one (web.get routes HEAD too; WebSocketResponse does not look at the method) with 101.
        "ws/6455/4.2/http-1.0": "a 101 to an HTTP/1.0 handshake",
        "ws/6455/4.2/method-head": "a 101 to a HEAD handshake",
        # RFC 6455 §11.3.1: Sec-WebSocket-Key MUST NOT appear more than once.
        "ws/6455/4.2/two-keys": "a 101 to a handshake with two keys",
        # RFC 6455 §4.4: the refusal of a version carries Sec-WebSocket-Version.
        "ws/6455/4.2/version-12": "400 without Sec-WebSocket-Version",
        "ws/6455/4.2/version-14": "400 without Sec-WebSocket-Version",
        "ws/6455/4.2/version-99": "400 without Sec-WebSocket-Version",
        # RFC 6455 §5.1: "The server MUST close the connection upon receiving a frame that is
        # not masked"; aiohttp's server takes unmasked frames as if they were masked.
        "ws/6455/5.1/unmasked-text": "echoes an unmasked frame",
        "ws/6455/5.1/unmasked-binary": "echoes an unmasked frame",
        "ws/6455/5.1/unmasked-empty-text": "echoes an unmasked frame",
        "ws/6455/5.1/unmasked-ping": "answers an unmasked ping",
        "ws/6455/5.1/unmasked-after-masked": "echoes an unmasked frame",
        # RFC 6455 §7.4.1: 1006 "MUST NOT be set as a status code in a Close control frame"
        # (by its sender); §10.7: the receiver SHOULD answer invalid data with a Close frame
        # with an appropriate code (a FAIL at SHOULD). aiohttp counts it among its valid codes
        # and answers a normal close (1000).
        "ws/6455/7.4/invalid-code-1006": "takes a close with code 1006 as valid",
        # RFC 7692 §6.1: "An endpoint MUST NOT set the "Per-Message Compressed" bit of control
        # frames ... An endpoint receiving such a frame MUST _Fail the WebSocket Connection_".
        "ws/7692/7/rsv1-on-ping": "answers a ping with RSV1",
        # RFC 7692 §7.1 (decline invalid offers) and §7.1.2.2 (client_max_window_bits is 8 to
        # 15; aiohttp takes 7), §7.1.1 (a parameter twice, a window bits parameter without
        # the value a server parameter needs).
        "ws/7692/7/offer-declined-client-bits-7": "accepts client_max_window_bits=7",
        "ws/7692/7/offer-declined-duplicate-parameter": "accepts an offer with a parameter twice",
        "ws/7692/7/offer-declined-server-bits-no-value": "accepts server_max_window_bits without a value",
        # RFC 7692 §7.1.2.1: "A server accepts an extension negotiation offer with this
        # parameter by including the "server_max_window_bits" extension parameter in the
        # extension negotiation response"; aiohttp leaves out server_max_window_bits=15
        # (Autobahn 13.4 and 13.6).
        **family("server-bits-15", "accepts server_max_window_bits=15 without it"),
        **family("server-no-takeover-bits-15", "accepts server_max_window_bits=15 without it"),
    },
    "tornado": {
        # RFC 6455 §4.2.1 items 1 and 5, §11.3.1: tornado checks neither the HTTP version nor
        # the key's form nor that it came once.
        "ws/6455/4.2/http-1.0": "a 101 to an HTTP/1.0 handshake",
        "ws/6455/4.2/bad-key-15-bytes": "a 101 to a 15-byte key",
        "ws/6455/4.2/bad-key-17-bytes": "a 101 to a 17-byte key",
        "ws/6455/4.2/bad-key-not-base64": "a 101 to a key that is not base64",
        "ws/6455/4.2/two-keys": "a 101 to a handshake with two keys",
        # RFC 6455 §5.1: the server MUST close the connection on an unmasked frame.
        "ws/6455/5.1/unmasked-text": "echoes an unmasked frame",
        "ws/6455/5.1/unmasked-binary": "echoes an unmasked frame",
        "ws/6455/5.1/unmasked-empty-text": "echoes an unmasked frame",
        "ws/6455/5.1/unmasked-ping": "answers an unmasked ping",
        "ws/6455/5.1/unmasked-after-masked": "echoes an unmasked frame",
        # RFC 6455 §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail
        # the WebSocket Connection_"; tornado checks the opcode only of a frame with FIN set
        # (found by conformance fuzz --suite ws), and answers the ping after it.
        "ws/6455/5.2/reserved-opcode-3-without-fin": "answers a ping after a reserved opcode without FIN",
        "ws/6455/5.2/reserved-opcode-7-without-fin": "answers a ping after a reserved opcode without FIN",
        # RFC 6455 §5.5.1: a close body starts with a 2-byte code (a rule for its sender); the
        # receiver SHOULD answer such invalid data with a Close frame with an appropriate code
        # (§10.7; a FAIL at SHOULD). tornado answers with a close without a code.
        "ws/6455/5.5.1/one-byte-close-payload": "a normal close for a 1-byte close payload",
        # RFC 6455 §7.4.1, §7.4.2: 1004-1006 and 1015 MUST NOT be set in a close frame (by its
        # sender), 0-999 are not used, other codes below 3000 are reserved; §10.7: the
        # receiver SHOULD answer with an appropriate code (FAILs at SHOULD). tornado sends the
        # peer's code back in its own close frame, whatever it is.
        **{
            f"ws/6455/7.4/invalid-code-{code}": "echoes the invalid code in its close"
            for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999)
        },
        # RFC 7692 §7.1.1.1: "A server accepts an extension negotiation offer that includes
        # the "server_no_context_takeover" extension parameter by including the
        # "server_no_context_takeover" extension parameter in the corresponding extension
        # negotiation response"; tornado drops parameters without a value from its answer.
        "ws/7692/7/offer-server-no-takeover": "leaves server_no_context_takeover out",
        **family("server-no-takeover", "leaves server_no_context_takeover out"),  # Autobahn 13.2
        **family("server-no-takeover-bits-15", "leaves server_no_context_takeover out"),  # 13.6
        **family("server-no-takeover-bits-9", "leaves server_no_context_takeover out"),  # 13.5
        # RFC 7692 §7.1.2.1, §5: a server that cannot use server_max_window_bits=8 declines
        # that offer (and may accept a later one); tornado answers 500 (this suite's 8-bit
        # variants; Autobahn's 13.3, 13.5 and 13.7 offer 9).
        **family("server-bits-8", "500"),
        **family("server-no-takeover-bits-8", "500"),
        **family("three-offers", "500"),
        # RFC 7692 §7.1: invalid offers MUST be declined (and §5: of several offers the server
        # accepts one or none); tornado answers 500 to unknown parameters and window sizes it
        # cannot use, and accepts a parameter given twice, server_max_window_bits without a
        # value and server_no_context_takeover=1 (echoing the "=1").
        "ws/7692/7/offer-declined-unknown-parameter": "500",
        "ws/7692/7/offer-declined-client-bits-7": "500",
        "ws/7692/7/offer-declined-client-bits-abc": "500",
        "ws/7692/7/offer-declined-server-bits-7": "500",
        "ws/7692/7/offer-declined-server-bits-16": "500",
        "ws/7692/7/offer-second-of-two": "500",
        "ws/7692/7/offer-declined-duplicate-parameter": "accepts an offer with a parameter twice",
        "ws/7692/7/offer-declined-server-bits-no-value": "accepts server_max_window_bits without a value",
        "ws/7692/7/offer-declined-takeover-with-value": "accepts server_no_context_takeover=1",
    },
}

#: Verdicts other than FAIL worth pinning, with why the RFC allows them.
PINNED: dict[str, dict[str, str]] = {
    "websockets": {
        # RFC 6455 §8.1 asks to fail on invalid UTF-8, not when; websockets checks text only
        # when the message is whole: allowed, not preferred (fail fast).
        "ws/6455/8.1/fail-fast-second-fragment": NON_STRICT,
        "ws/6455/8.1/fail-fast-mid-frame": NON_STRICT,
        # RFC 6455 §10.4: a limit on the number of fragments (1009) is the server's right:
        # the rule under test is not exercised.
        "ws/6455/10.4/fragmented-text-4mib-in-64-byte-fragments": SKIPPED,
        # RFC 6455 §5.5.1: the answer to a close is a close, its code "typically" the echo.
        # websockets answers 1002 ("incomplete fragmented message") to a valid close between
        # fragments: a close, with a code the RFC does not require — allowed, not preferred.
        "ws/6455/5.5.1/close-inside-fragmented-message": NON_STRICT,
        # RFC 7692 §7.1: an offer with an unknown parameter is declined, the handshake goes on.
        "ws/7692/7/offer-declined-unknown-parameter": PASS,
        # RFC 7692 §7.1.2.1: a server that does not support the window asked for declines the
        # offer; websockets declines server_max_window_bits=8 (zlib has no 8-bit raw window)
        # and completes the handshake without permessage-deflate (this suite's 8-bit variants).
        "ws/7692/7.1/server-bits-8-16": UNIMPLEMENTED,
        "ws/7692/7.1/server-no-takeover-bits-8-131072-in-32768": UNIMPLEMENTED,
        # RFC 7692 §5: of several offers the server accepts one; websockets declines the first
        # (8 bits) and accepts the second (the 8-bit variant of Autobahn's 13.7).
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
        # value '8'" instead — even with acceptable offers after it (this suite's 8-bit
        # variants). RFC 6455 §4.2.2 lets a server refuse a connection: allowed, not preferred.
        "ws/7692/7.1/server-bits-8-16": NON_STRICT,
        "ws/7692/7.1/server-no-takeover-bits-8-65536-in-256": NON_STRICT,
        "ws/7692/7.1/three-offers-4096": NON_STRICT,
        "ws/7692/7.1/server-bits-15-131072-in-32768": PASS,
    },
    "node-ws": {
        # RFC 6455 §10.4: ws limits a message to 16384 fragments (maxFragments) and closes
        # with 1008 past it: a limit the RFC allows, with a code §7.4.1 allows; the rule
        # under test is not exercised.
        "ws/6455/10.4/fragmented-text-4mib-in-64-byte-fragments": SKIPPED,
        # RFC 6455 §4.4: 400 with Sec-WebSocket-Version: 13, 8 (426 is the example given).
        "ws/6455/4.2/version-12": NON_STRICT,
        # RFC 7692 §7.1: ws refuses the handshake (400) rather than decline the offer.
        "ws/7692/7/offer-declined-unknown-parameter": NON_STRICT,
        "ws/6455/10.4/large-text-16mib": PASS,
    },
    "hypercorn": {
        # RFC 6455 §7.1.7: when wsproto fails the connection hypercorn drops TCP without the
        # close frame the RFC asks for with a SHOULD.
        "ws/6455/5.1/unmasked-text": NON_STRICT,
        "ws/6455/8.1/invalid-surrogate-1": NON_STRICT,
        # A request that is no WebSocket handshake goes to the application (404 here).
        "ws/6455/4.2/missing-upgrade": NON_STRICT,
        "ws/6455/10.4/large-text-16mib": PASS,
    },
    "aiohttp": {
        "ws/6455/5.1/unmasked-close": NON_STRICT,  # §5.1: a normal close for an unmasked one
        "ws/6455/10.4/large-text-16mib": PASS,
    },
    "tornado": {
        "ws/6455/5.2/rsv1-text": NON_STRICT,  # §7.1.7: TCP dropped without a close frame
        "ws/6455/10.4/large-text-16mib": PASS,
    },
}


#: The servers whose suite runs three times in every test run (stability.runs); daphne's one
#: run takes ~100 s.
REPEATED = frozenset({"websockets", "autobahn"})


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
        runs = [run(reactor_thread, ws_cases, server, url) for _ in range(stability.runs(server, REPEATED))]
    observed = verdicts(runs[0])
    assert len(observed) == len(ws_cases)
    errors = {
        case.id: case.observed for target in runs for case in target.cases if case.verdict.value == "ERROR"
    }
    assert errors == {}
    if server in real_fails.servers("ws"):
        changes = real_fails.differences("ws", server, runs[0])
        assert not changes, "FAILs that differ from real_fails.yaml:\n" + "\n".join(changes)
    else:
        failed = {case_id for case_id, verdict in observed.items() if verdict == FAIL}
        assert sorted(failed) == sorted(FAILS[server])
    pinned = PINNED.get(server, {})
    assert {case_id: observed[case_id] for case_id in pinned} == pinned
    for again in runs[1:]:
        now = {case.id: case for case in again.cases}
        # A flip says what the run saw, and when, so that it can be understood from CI's log.
        changed = {
            k: (v, now[k].verdict.value, now[k].observed[:300], f"{now[k].duration_s:.2f} s")
            for k, v in observed.items()
            if now[k].verdict.value != v
        }
        assert changed == {}
