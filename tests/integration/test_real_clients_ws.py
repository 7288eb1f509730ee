"""The WebSocket client suite against real clients, each through a command of the client
contract (README, "WebSocket clients"): websockets (its sync client, the README's adapter),
websocket-client, aiohttp, tornado and Node's ws (the version pinned in
``tests/integration/node``; ``npm ci`` there first). The adapters live in
``tests/integration/clients/``.

Every verdict other than PASS below was checked against the RFC text (the reason is next to
it); every other case must PASS. A client missing from the machine is skipped, except under
CI=true.

CI time: a case is a process start (575 cases × 5 clients would be minutes of every test
run), so each client gets every case pinned below plus a fixed sample of the rest (the cases
whose id's CRC-32 falls in 1 of ``BUCKETS`` buckets); the fault matrix runs the reference and
the fault-free faulty client on the whole suite. ``CONFORMANCE_REAL_CLIENTS_FULL=1`` gives every
client the whole suite (do it when changing cases, the driver or a pin). Each client's cases
run once; ``CONFORMANCE_REAL_RUNS=3`` runs them three times and requires the same verdict for
every case in every run.
"""

from __future__ import annotations

import os
import shlex
import shutil
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from real_clients import (
    ADAPTERS,
    Pin,
    check,
    expected_verdicts,
    forked_adapters,
    python_adapter,
    timing_alternatives,
)

from conformance.client_cli import client_cases_dir
from conformance.scenario.loader import load_cases

FAIL, NON_STRICT, UNIMPLEMENTED = "FAIL", "NON-STRICT", "UNIMPLEMENTED"
HERE = Path(__file__).resolve().parent
PREFIX = "client/ws/"
#: The sample of unpinned cases a client gets: 1 in BUCKETS.
BUCKETS = 8
#: The clients that get the whole suite on every run (none: see the module's docstring).
FULL: frozenset[str] = frozenset()


def _cases_under(*prefixes: str) -> tuple[str, ...]:
    """The client cases (ids without PREFIX) whose id starts with one of ``prefixes``."""
    ids = (case.id.removeprefix(PREFIX) for case in load_cases([client_cases_dir() / "ws"], role="client"))
    return tuple(sorted(case_id for case_id in ids if case_id.startswith(prefixes)))


#: Every verdict other than PASS, with its reason (docs/verdicts/ws-clients.md renders them).
PINS: tuple[Pin, ...] = (
    Pin(
        "websockets",
        "SKIPPED",
        "The client refuses a 4 MiB message sent in many small fragments at its own limit (a close frame 1009 or 1008) before the message under test is complete: RFC 6455 §10.4 lets an implementation limit frame and message size, so the echo is not exercised.",
        (
            "6455/10.4/fragmented-binary-4mib-in-256-byte-fragments",
            "6455/10.4/fragmented-binary-4mib-in-64-byte-fragments",
            "6455/10.4/fragmented-text-4mib-in-256-byte-fragments",
            "6455/10.4/fragmented-text-4mib-in-64-byte-fragments",
        ),
    ),
    Pin(
        "websockets",
        FAIL,
        'A frame length with its most significant bit set (RFC 6455 §5.2: "the most significant bit MUST be 0"); websockets reads it as a huge length and waits for the payload instead of failing the connection: the case asks the connection failed (at SHOULD, the harness ends the client after its wait).',
        ("6455/5.2/length-msb-set",),
    ),
    Pin(
        "websockets",
        NON_STRICT,
        'A close frame between the fragments of a message: websockets answers it with close 1002 ("incomplete fragmented message") rather than echoing the close (RFC 6455 §5.4 allows control frames between fragments): it ends the connection anyway, which an endpoint may do; allowed, not preferred.',
        ("6455/5.5.1/close-inside-fragmented-message",),
    ),
    Pin(
        "websockets",
        "INFORMATIONAL",
        "A close code of 5000 or 65535 is out of the RFC 6455 §7.4 ranges; nothing binds what the client answers, so the case only reports it.",
        (
            "6455/7.4/out-of-range-code-5000",
            "6455/7.4/out-of-range-code-65535",
        ),
    ),
    Pin(
        "websockets",
        NON_STRICT,
        "RFC 6455 §8.1 binds the client to fail the connection on invalid UTF-8, not to do it at once: the client waits for the message (or frame) to end before it judges the text. Allowed, not preferred (fail fast).",
        (
            "6455/8.1/fail-fast-mid-frame",
            "6455/8.1/fail-fast-mid-frame-one-byte",
            "6455/8.1/fail-fast-second-fragment",
            "6455/8.1/fail-fast-second-fragment-one-byte",
        ),
    ),
    Pin(
        "websocket-client",
        FAIL,
        'RFC 6455 §4.1: the client MUST _Fail the WebSocket Connection_ on an answer that indicates an extension or subprotocol the client did not offer (or, §9.1, a malformed Sec-WebSocket-Extensions, or an Upgrade field that is not "websocket"). The client takes the answer and echoes the message sent after it.',
        (
            "6455/4.1/answer-extension-deflate-repeated-parameter",
            "6455/4.1/answer-extension-deflate-takeover-with-value",
            "6455/4.1/answer-extension-deflate-unknown-parameter",
            "6455/4.1/answer-extension-deflate-window-bits-7",
            "6455/4.1/answer-extension-unknown",
            "6455/4.1/answer-extension-with-params",
            "6455/4.1/answer-extensions-malformed-empty-parameter",
            "6455/4.1/answer-extensions-malformed-leading-semicolon",
            "6455/4.1/answer-extensions-malformed-space-in-name",
            "6455/4.1/answer-extensions-malformed-unterminated-quote",
            "6455/4.1/answer-subprotocol-chat",
            "6455/4.1/answer-subprotocol-unknown",
            "6455/4.1/answer-upgrade-websocket-list",
        ),
    ),
    Pin(
        "websocket-client",
        FAIL,
        'RFC 6455 §5.1: "A client MUST close a connection if it detects a masked frame." The client takes the masked frame and answers it.',
        (
            "6455/5.1/server-frame-masked-binary",
            "6455/5.1/server-frame-masked-ping",
            "6455/5.1/server-frame-masked-text",
        ),
    ),
    Pin(
        "websocket-client",
        FAIL,
        '5.2/length-msb-set: a frame length with its most significant bit set (RFC 6455 §5.2: it MUST be 0); websocket-client waits for the payload instead of failing the connection (the case asks the failure at SHOULD). 5.5/fragmented-close: RFC 6455 §5.5: "Control frames themselves MUST NOT be fragmented"; websocket-client takes the fragmented close and answers it with close 1000 (the case asks the connection failed, at SHOULD).',
        (
            "6455/5.2/length-msb-set",
            "6455/5.5/fragmented-close",
        ),
    ),
    Pin(
        "websocket-client",
        NON_STRICT,
        'The client finds the protocol error (reserved bits or opcodes, bad fragmentation, a control frame over 125 bytes or fragmented, a bad close payload) and drops the TCP connection without a close frame; RFC 6455 §7.1.7 asks a close frame first only at SHOULD ("if the WebSocket connection is established ... the endpoint SHOULD send a Close frame"): allowed, not preferred.',
        (
            "6455/5.2/reserved-opcode-11",
            "6455/5.2/reserved-opcode-12",
            "6455/5.2/reserved-opcode-13",
            "6455/5.2/reserved-opcode-14",
            "6455/5.2/reserved-opcode-15",
            "6455/5.2/reserved-opcode-3",
            "6455/5.2/reserved-opcode-4",
            "6455/5.2/reserved-opcode-5",
            "6455/5.2/reserved-opcode-6",
            "6455/5.2/reserved-opcode-7",
            "6455/5.2/rsv1-text",
            "6455/5.2/rsv2-text",
            "6455/5.2/rsv3-text",
            "6455/5.2/rsv4-text",
            "6455/5.2/rsv5-binary",
            "6455/5.2/rsv6-ping",
            "6455/5.2/rsv7-close",
            "6455/5.4/binary-instead-of-continuation",
            "6455/5.4/continuation-after-message",
            "6455/5.4/continuation-first-fin-clear",
            "6455/5.4/continuation-first-fin-clear-in-chops",
            "6455/5.4/continuation-first-fin-clear-with-pauses",
            "6455/5.4/continuation-first-fin-set",
            "6455/5.4/continuation-first-fin-set-in-chops",
            "6455/5.4/continuation-first-fin-set-with-pauses",
            "6455/5.4/continuation-then-text-fin-clear",
            "6455/5.4/continuation-then-text-fin-set",
            "6455/5.4/text-instead-of-continuation",
            "6455/5.5.1/one-byte-close-payload",
            "6455/5.5.1/reason-invalid-utf8",
            "6455/5.5/close-126-bytes",
            "6455/5.5/fragmented-ping",
            "6455/5.5/fragmented-pong",
            "6455/5.5/ping-126-bytes",
        ),
    ),
    Pin(
        "websocket-client",
        NON_STRICT,
        "The client drops the TCP connection on a close frame with a code RFC 6455 §7.4 does not allow to be sent, with no close frame 1002 of its own: allowed, not preferred.",
        (
            "6455/7.4/invalid-code-0",
            "6455/7.4/invalid-code-1004",
            "6455/7.4/invalid-code-1005",
            "6455/7.4/invalid-code-1006",
            "6455/7.4/invalid-code-1015",
            "6455/7.4/invalid-code-1016",
            "6455/7.4/invalid-code-1100",
            "6455/7.4/invalid-code-2000",
            "6455/7.4/invalid-code-2999",
            "6455/7.4/invalid-code-999",
        ),
    ),
    Pin(
        "websocket-client",
        "INFORMATIONAL",
        "A close code of 5000 or 65535 is out of the RFC 6455 §7.4 ranges; nothing binds what the client answers, so the case only reports it.",
        (
            "6455/7.4/out-of-range-code-5000",
            "6455/7.4/out-of-range-code-65535",
        ),
    ),
    Pin(
        "websocket-client",
        NON_STRICT,
        "RFC 6455 §8.1 binds the client to fail the connection on invalid UTF-8, not to do it at once: the client waits for the message (or frame) to end before it judges the text. Allowed, not preferred (fail fast).",
        (
            "6455/8.1/fail-fast-mid-frame",
            "6455/8.1/fail-fast-mid-frame-one-byte",
            "6455/8.1/fail-fast-second-fragment",
            "6455/8.1/fail-fast-second-fragment-one-byte",
        ),
    ),
    Pin(
        "websocket-client",
        NON_STRICT,
        "The client finds the invalid UTF-8 and drops the TCP connection without a close frame 1007 (RFC 6455 §7.1.7: SHOULD send a Close frame first): allowed, not preferred.",
        (
            "6455/8.1/invalid-boundary-5",
            "6455/8.1/invalid-continuation-1",
            "6455/8.1/invalid-continuation-2",
            "6455/8.1/invalid-continuation-3",
            "6455/8.1/invalid-continuation-4",
            "6455/8.1/invalid-continuation-5",
            "6455/8.1/invalid-continuation-6",
            "6455/8.1/invalid-continuation-7",
            "6455/8.1/invalid-continuation-8",
            "6455/8.1/invalid-first-possible-5-6-1",
            "6455/8.1/invalid-first-possible-5-6-2",
            "6455/8.1/invalid-impossible-1",
            "6455/8.1/invalid-impossible-2",
            "6455/8.1/invalid-impossible-3",
            "6455/8.1/invalid-incomplete-concatenated-1",
            "6455/8.1/invalid-last-byte-missing-1",
            "6455/8.1/invalid-last-byte-missing-10",
            "6455/8.1/invalid-last-byte-missing-2",
            "6455/8.1/invalid-last-byte-missing-3",
            "6455/8.1/invalid-last-byte-missing-4",
            "6455/8.1/invalid-last-byte-missing-5",
            "6455/8.1/invalid-last-byte-missing-8",
            "6455/8.1/invalid-last-byte-missing-9",
            "6455/8.1/invalid-last-possible-4-5-6-1",
            "6455/8.1/invalid-last-possible-4-5-6-2",
            "6455/8.1/invalid-last-possible-4-5-6-3",
            "6455/8.1/invalid-lonely-start-1",
            "6455/8.1/invalid-lonely-start-2",
            "6455/8.1/invalid-lonely-start-3",
            "6455/8.1/invalid-lonely-start-4",
            "6455/8.1/invalid-lonely-start-5",
            "6455/8.1/invalid-overlong-max-1",
            "6455/8.1/invalid-overlong-max-2",
            "6455/8.1/invalid-overlong-max-3",
            "6455/8.1/invalid-overlong-max-4",
            "6455/8.1/invalid-overlong-max-5",
            "6455/8.1/invalid-overlong-nul-1",
            "6455/8.1/invalid-overlong-nul-2",
            "6455/8.1/invalid-overlong-nul-3",
            "6455/8.1/invalid-overlong-nul-4",
            "6455/8.1/invalid-overlong-nul-5",
            "6455/8.1/invalid-overlong-slash-1",
            "6455/8.1/invalid-overlong-slash-2",
            "6455/8.1/invalid-overlong-slash-3",
            "6455/8.1/invalid-overlong-slash-4",
            "6455/8.1/invalid-overlong-slash-5",
            "6455/8.1/invalid-surrogate-1",
            "6455/8.1/invalid-surrogate-2",
            "6455/8.1/invalid-surrogate-3",
            "6455/8.1/invalid-surrogate-4",
            "6455/8.1/invalid-surrogate-5",
            "6455/8.1/invalid-surrogate-6",
            "6455/8.1/invalid-surrogate-7",
            "6455/8.1/invalid-surrogate-pair-1",
            "6455/8.1/invalid-surrogate-pair-2",
            "6455/8.1/invalid-surrogate-pair-3",
            "6455/8.1/invalid-surrogate-pair-4",
            "6455/8.1/invalid-surrogate-pair-5",
            "6455/8.1/invalid-surrogate-pair-6",
            "6455/8.1/invalid-surrogate-pair-7",
            "6455/8.1/invalid-surrogate-pair-8",
            "6455/8.1/invalid-text",
            "6455/8.1/invalid-text-in-chops",
        ),
    ),
    Pin(
        "websocket-client",
        FAIL,
        'RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_." websocket-client\'s UTF-8 check lets a text that ends inside a multi-byte sequence pass, and echoes it.',
        (
            "6455/8.1/invalid-last-byte-missing-6",
            "6455/8.1/invalid-last-byte-missing-7",
            "6455/8.1/invalid-prefix-1",
            "6455/8.1/invalid-prefix-10",
            "6455/8.1/invalid-prefix-3",
            "6455/8.1/invalid-prefix-4",
            "6455/8.1/invalid-prefix-6",
            "6455/8.1/invalid-prefix-8",
        ),
    ),
    Pin(
        "websocket-client",
        UNIMPLEMENTED,
        "websocket-client has no permessage-deflate: it offers no extension when the URL asks for one, so the RFC 7692 cases cannot run.",
        _cases_under("7692/7.1/", "7692/7.2/"),
    ),
    Pin(
        "websocket-client",
        UNIMPLEMENTED,
        "websocket-client has no permessage-deflate: it offers no extension when the URL asks for one, so the RFC 7692 cases cannot run.",
        (
            "7692/7/invalid-deflate-data",
            "7692/7/pong-uncompressed",
            "7692/7/response-client-takeover-with-value",
            "7692/7/response-server-bits-16",
            "7692/7/response-server-bits-7",
            "7692/7/response-server-bits-abc",
            "7692/7/response-server-takeover-twice",
            "7692/7/response-unknown-parameter",
            "7692/7/rsv1-on-continuation",
            "7692/7/rsv1-on-ping",
            "7692/7/uncompressed-message",
        ),
    ),
    Pin(
        "aiohttp",
        FAIL,
        'RFC 6455 §4.1: the client MUST _Fail the WebSocket Connection_ on an answer that indicates an extension or subprotocol the client did not offer (or, §9.1, a malformed Sec-WebSocket-Extensions, or an Upgrade field that is not "websocket"). The client takes the answer and echoes the message sent after it.',
        (
            "6455/4.1/answer-extension-deflate-repeated-parameter",
            "6455/4.1/answer-extension-deflate-takeover-with-value",
            "6455/4.1/answer-extension-deflate-unknown-parameter",
            "6455/4.1/answer-extension-deflate-window-bits-7",
            "6455/4.1/answer-extension-unknown",
            "6455/4.1/answer-extension-with-params",
            "6455/4.1/answer-extensions-malformed-empty-parameter",
            "6455/4.1/answer-extensions-malformed-leading-semicolon",
            "6455/4.1/answer-extensions-malformed-space-in-name",
            "6455/4.1/answer-extensions-malformed-unterminated-quote",
            "6455/4.1/answer-subprotocol-chat",
            "6455/4.1/answer-subprotocol-unknown",
        ),
    ),
    Pin(
        "aiohttp",
        FAIL,
        'RFC 6455 §5.1: "A client MUST close a connection if it detects a masked frame." The client takes the masked frame and answers it.',
        (
            "6455/5.1/server-frame-masked-binary",
            "6455/5.1/server-frame-masked-ping",
            "6455/5.1/server-frame-masked-text",
        ),
    ),
    Pin(
        "aiohttp",
        "PASS",
        "aiohttp fails the connection with close 1002 and closes its socket at once. When the rest of our one-byte writes has reached it by then, unread, its kernel resets the connection instead of closing it, and drops the close frame still queued: we see a TCP reset without a close frame, which RFC 6455 §7.1.7 allows (the close frame is a SHOULD): NON-STRICT. Which comes first is the client's timing.",
        (
            "6455/5.4/continuation-first-fin-clear-in-chops",
            "6455/5.4/continuation-first-fin-set-in-chops",
        ),
        also=(NON_STRICT,),
    ),
    Pin(
        "aiohttp",
        FAIL,
        "A close frame with code 1006 (RFC 6455 §7.4.1: it MUST NOT be set in a close frame): aiohttp answers it with close 1000 as if it were a normal closure; the case asks the connection failed (1002, at SHOULD).",
        ("6455/7.4/invalid-code-1006",),
    ),
    Pin(
        "aiohttp",
        "INFORMATIONAL",
        "A close code of 5000 or 65535 is out of the RFC 6455 §7.4 ranges; nothing binds what the client answers, so the case only reports it.",
        (
            "6455/7.4/out-of-range-code-5000",
            "6455/7.4/out-of-range-code-65535",
        ),
    ),
    Pin(
        "aiohttp",
        NON_STRICT,
        "RFC 6455 §8.1 binds the client to fail the connection on invalid UTF-8, not to do it at once: the client waits for the message (or frame) to end before it judges the text. Allowed, not preferred (fail fast).",
        (
            "6455/8.1/fail-fast-mid-frame",
            "6455/8.1/fail-fast-mid-frame-one-byte",
            "6455/8.1/fail-fast-second-fragment",
            "6455/8.1/fail-fast-second-fragment-one-byte",
        ),
    ),
    Pin(
        "aiohttp",
        NON_STRICT,
        "Data that does not inflate: aiohttp ends the connection with close 1000, not 1007 (RFC 6455 §7.4.1 codes are a SHOULD): allowed, not preferred.",
        ("7692/7/invalid-deflate-data",),
    ),
    Pin(
        "aiohttp",
        FAIL,
        "RFC 7692 §7: a client MUST fail the connection on a response with an invalid parameter value (server_max_window_bits 7 or 16) or a repeated parameter; aiohttp takes them. 7/rsv1-on-ping: RFC 7692 §6.1 forbids RSV1 on a control frame and RFC 6455 §5.2 binds the receiver to fail the connection on a reserved bit no extension defines there (MUST); aiohttp answers the ping.",
        (
            "7692/7/response-server-bits-16",
            "7692/7/response-server-bits-7",
            "7692/7/response-server-takeover-twice",
            "7692/7/rsv1-on-ping",
        ),
    ),
    Pin(
        "tornado",
        FAIL,
        "RFC 6455 §4.1: the client MUST _Fail the WebSocket Connection_ on an answer that indicates a subprotocol the client did not offer; tornado takes it.",
        (
            "6455/4.1/answer-subprotocol-chat",
            "6455/4.1/answer-subprotocol-unknown",
        ),
    ),
    Pin(
        "tornado",
        FAIL,
        'RFC 6455 §5.1: "A client MUST close a connection if it detects a masked frame." The client takes the masked frame and answers it.',
        (
            "6455/5.1/server-frame-masked-binary",
            "6455/5.1/server-frame-masked-ping",
            "6455/5.1/server-frame-masked-text",
        ),
    ),
    Pin(
        "tornado",
        NON_STRICT,
        'The client finds the protocol error (reserved bits or opcodes, bad fragmentation, a control frame over 125 bytes or fragmented, a bad close payload) and drops the TCP connection without a close frame; RFC 6455 §7.1.7 asks a close frame first only at SHOULD ("if the WebSocket connection is established ... the endpoint SHOULD send a Close frame"): allowed, not preferred.',
        (
            "6455/5.2/reserved-opcode-11",
            "6455/5.2/reserved-opcode-12",
            "6455/5.2/reserved-opcode-13",
            "6455/5.2/reserved-opcode-14",
            "6455/5.2/reserved-opcode-15",
            "6455/5.2/reserved-opcode-3",
            "6455/5.2/reserved-opcode-4",
            "6455/5.2/reserved-opcode-5",
            "6455/5.2/reserved-opcode-6",
            "6455/5.2/reserved-opcode-7",
            "6455/5.2/rsv1-text",
            "6455/5.2/rsv2-text",
            "6455/5.2/rsv3-text",
            "6455/5.2/rsv4-text",
            "6455/5.2/rsv5-binary",
            "6455/5.2/rsv6-ping",
            "6455/5.2/rsv7-close",
            "6455/5.4/binary-instead-of-continuation",
            "6455/5.4/continuation-after-message",
            "6455/5.4/continuation-first-fin-clear",
            "6455/5.4/continuation-first-fin-clear-in-chops",
            "6455/5.4/continuation-first-fin-clear-with-pauses",
            "6455/5.4/continuation-first-fin-set",
            "6455/5.4/continuation-first-fin-set-in-chops",
            "6455/5.4/continuation-first-fin-set-with-pauses",
            "6455/5.4/continuation-then-text-fin-clear",
            "6455/5.4/continuation-then-text-fin-set",
            "6455/5.4/text-instead-of-continuation",
            "6455/5.5.1/reason-invalid-utf8",
            "6455/5.5/close-126-bytes",
            "6455/5.5/fragmented-close",
            "6455/5.5/fragmented-ping",
            "6455/5.5/fragmented-pong",
            "6455/5.5/ping-126-bytes",
        ),
    ),
    Pin(
        "tornado",
        FAIL,
        "A close frame with a 1-byte payload (RFC 6455 §5.5.1: a body starts with a 2-byte code): tornado answers with a close frame with no code rather than failing the connection (the case asks the failure, at SHOULD).",
        ("6455/5.5.1/one-byte-close-payload",),
    ),
    Pin(
        "tornado",
        FAIL,
        'tornado echoes a close code RFC 6455 §7.4 does not allow to be sent (1005, 1006 and 1015 "MUST NOT be set as a status code in a Close control frame by an endpoint"; 0-999, 1004, 1016, 1100, 2000 and 2999 are unassigned or not used) in its own close frame.',
        (
            "6455/7.4/invalid-code-0",
            "6455/7.4/invalid-code-1004",
            "6455/7.4/invalid-code-1005",
            "6455/7.4/invalid-code-1006",
            "6455/7.4/invalid-code-1015",
            "6455/7.4/invalid-code-1016",
            "6455/7.4/invalid-code-1100",
            "6455/7.4/invalid-code-2000",
            "6455/7.4/invalid-code-2999",
            "6455/7.4/invalid-code-999",
        ),
    ),
    Pin(
        "tornado",
        "INFORMATIONAL",
        "A close code of 5000 or 65535 is out of the RFC 6455 §7.4 ranges; nothing binds what the client answers, so the case only reports it.",
        (
            "6455/7.4/out-of-range-code-5000",
            "6455/7.4/out-of-range-code-65535",
        ),
    ),
    Pin(
        "tornado",
        NON_STRICT,
        "RFC 6455 §8.1 binds the client to fail the connection on invalid UTF-8, not to do it at once: the client waits for the message (or frame) to end before it judges the text. Allowed, not preferred (fail fast).",
        (
            "6455/8.1/fail-fast-mid-frame",
            "6455/8.1/fail-fast-mid-frame-one-byte",
            "6455/8.1/fail-fast-second-fragment",
            "6455/8.1/fail-fast-second-fragment-one-byte",
        ),
    ),
    Pin(
        "tornado",
        NON_STRICT,
        "The client finds the invalid UTF-8 and drops the TCP connection without a close frame 1007 (RFC 6455 §7.1.7: SHOULD send a Close frame first): allowed, not preferred.",
        (
            "6455/8.1/invalid-boundary-5",
            "6455/8.1/invalid-continuation-1",
            "6455/8.1/invalid-continuation-2",
            "6455/8.1/invalid-continuation-3",
            "6455/8.1/invalid-continuation-4",
            "6455/8.1/invalid-continuation-5",
            "6455/8.1/invalid-continuation-6",
            "6455/8.1/invalid-continuation-7",
            "6455/8.1/invalid-continuation-8",
            "6455/8.1/invalid-first-possible-5-6-1",
            "6455/8.1/invalid-first-possible-5-6-2",
            "6455/8.1/invalid-impossible-1",
            "6455/8.1/invalid-impossible-2",
            "6455/8.1/invalid-impossible-3",
            "6455/8.1/invalid-incomplete-concatenated-1",
            "6455/8.1/invalid-last-byte-missing-1",
            "6455/8.1/invalid-last-byte-missing-10",
            "6455/8.1/invalid-last-byte-missing-2",
            "6455/8.1/invalid-last-byte-missing-3",
            "6455/8.1/invalid-last-byte-missing-4",
            "6455/8.1/invalid-last-byte-missing-5",
            "6455/8.1/invalid-last-byte-missing-6",
            "6455/8.1/invalid-last-byte-missing-7",
            "6455/8.1/invalid-last-byte-missing-8",
            "6455/8.1/invalid-last-byte-missing-9",
            "6455/8.1/invalid-last-possible-4-5-6-1",
            "6455/8.1/invalid-last-possible-4-5-6-2",
            "6455/8.1/invalid-last-possible-4-5-6-3",
            "6455/8.1/invalid-lonely-start-1",
            "6455/8.1/invalid-lonely-start-2",
            "6455/8.1/invalid-lonely-start-3",
            "6455/8.1/invalid-lonely-start-4",
            "6455/8.1/invalid-lonely-start-5",
            "6455/8.1/invalid-overlong-max-1",
            "6455/8.1/invalid-overlong-max-2",
            "6455/8.1/invalid-overlong-max-3",
            "6455/8.1/invalid-overlong-max-4",
            "6455/8.1/invalid-overlong-max-5",
            "6455/8.1/invalid-overlong-nul-1",
            "6455/8.1/invalid-overlong-nul-2",
            "6455/8.1/invalid-overlong-nul-3",
            "6455/8.1/invalid-overlong-nul-4",
            "6455/8.1/invalid-overlong-nul-5",
            "6455/8.1/invalid-overlong-slash-1",
            "6455/8.1/invalid-overlong-slash-2",
            "6455/8.1/invalid-overlong-slash-3",
            "6455/8.1/invalid-overlong-slash-4",
            "6455/8.1/invalid-overlong-slash-5",
            "6455/8.1/invalid-prefix-1",
            "6455/8.1/invalid-prefix-10",
            "6455/8.1/invalid-prefix-3",
            "6455/8.1/invalid-prefix-4",
            "6455/8.1/invalid-prefix-6",
            "6455/8.1/invalid-prefix-8",
            "6455/8.1/invalid-surrogate-1",
            "6455/8.1/invalid-surrogate-2",
            "6455/8.1/invalid-surrogate-3",
            "6455/8.1/invalid-surrogate-4",
            "6455/8.1/invalid-surrogate-5",
            "6455/8.1/invalid-surrogate-6",
            "6455/8.1/invalid-surrogate-7",
            "6455/8.1/invalid-surrogate-pair-1",
            "6455/8.1/invalid-surrogate-pair-2",
            "6455/8.1/invalid-surrogate-pair-3",
            "6455/8.1/invalid-surrogate-pair-4",
            "6455/8.1/invalid-surrogate-pair-5",
            "6455/8.1/invalid-surrogate-pair-6",
            "6455/8.1/invalid-surrogate-pair-7",
            "6455/8.1/invalid-surrogate-pair-8",
            "6455/8.1/invalid-text",
            "6455/8.1/invalid-text-in-chops",
        ),
    ),
    Pin(
        "tornado",
        FAIL,
        "RFC 7692 §7.1.1.2: with client_no_context_takeover in the response the client must compress each message with an empty window (§7.2.1). tornado 6.6's header parser drops a parameter without a value, so it never sees client_no_context_takeover and keeps its context: its echoes refer back to earlier messages and do not inflate alone.",
        _cases_under("7692/7.1/client-no-takeover", "7692/7.1/first-that-fits"),
    ),
    Pin(
        "tornado",
        NON_STRICT,
        "The client fails the connection on the compressed-data error by dropping the TCP connection, or answers it with close code 1000 rather than 1002/1007 (RFC 6455 §7.4.1 codes are a SHOULD): allowed, not preferred.",
        (
            "7692/7/invalid-deflate-data",
            "7692/7/rsv1-on-continuation",
            "7692/7/rsv1-on-ping",
        ),
    ),
    Pin(
        "tornado",
        FAIL,
        "RFC 7692 §7: a client MUST fail the connection on a response with a repeated parameter or a parameter with an invalid value; tornado's header parser drops client_no_context_takeover=1 and folds repeated parameters, and takes the response.",
        (
            "7692/7/response-client-takeover-with-value",
            "7692/7/response-server-takeover-twice",
        ),
    ),
    Pin(
        "ws",
        "SKIPPED",
        "The client refuses a 4 MiB message sent in many small fragments at its own limit (a close frame 1009 or 1008) before the message under test is complete: RFC 6455 §10.4 lets an implementation limit frame and message size, so the echo is not exercised.",
        (
            "6455/10.4/fragmented-binary-4mib-in-64-byte-fragments",
            "6455/10.4/fragmented-text-4mib-in-64-byte-fragments",
        ),
    ),
    Pin(
        "ws",
        "INFORMATIONAL",
        "A close code of 5000 or 65535 is out of the RFC 6455 §7.4 ranges; nothing binds what the client answers, so the case only reports it.",
        (
            "6455/7.4/out-of-range-code-5000",
            "6455/7.4/out-of-range-code-65535",
        ),
    ),
    Pin(
        "ws",
        NON_STRICT,
        "RFC 6455 §8.1 binds the client to fail the connection on invalid UTF-8, not to do it at once: the client waits for the message (or frame) to end before it judges the text. Allowed, not preferred (fail fast).",
        (
            "6455/8.1/fail-fast-mid-frame",
            "6455/8.1/fail-fast-mid-frame-one-byte",
            "6455/8.1/fail-fast-second-fragment",
            "6455/8.1/fail-fast-second-fragment-one-byte",
        ),
    ),
)

#: client -> (case id prefixes this test does not run for it, why). websocket-client takes 20 to
#: 30 s to reassemble a 4 MiB message from thousands of fragments, so these cases end at the
#: harness's budget (FAIL or ERROR by timing): a speed limit, not a verdict to pin.
NOT_RUN: dict[str, tuple[tuple[str, ...], str]] = {
    "websocket-client": (
        ("6455/10.4/fragmented-",),
        "4 MiB messages in 64 to 1024-byte fragments take websocket-client 20 to 30 s to reassemble",
    ),
}

#: client -> case id -> verdict other than PASS.
EXPECTED: dict[str, dict[str, str]] = expected_verdicts(PINS, PREFIX)
ALSO: dict[str, dict[str, tuple[str, ...]]] = timing_alternatives(PINS, PREFIX)


def _node_ws() -> str | None:
    node = shutil.which("node")
    if node is None or not (HERE / "node" / "node_modules" / "ws").is_dir():
        return None
    return f"{shlex.quote(node)} {shlex.quote(str(ADAPTERS / 'node_ws.js'))} {{url}}"


def clients() -> dict[str, str]:
    """name -> COMMAND for each client found on this machine."""
    found = {
        "websockets": python_adapter("websockets_ws.py", "websockets"),
        "websocket-client": python_adapter("websocket_client_ws.py", "websocket"),
        "aiohttp": python_adapter("aiohttp_ws.py", "aiohttp"),
        "tornado": python_adapter("tornado_ws.py", "tornado"),
        "ws": _node_ws(),
    }
    return {name: command for name, command in found.items() if command is not None}


def sampled(case_id: str) -> bool:
    """Whether an unpinned case is in the fixed sample (the same on every machine and run)."""
    return zlib.crc32(case_id.encode("utf-8")) % BUCKETS == 0


def selected(name: str, case_id: str) -> bool:
    """Whether ``name`` runs the case: every case for a FULL client or under
    CONFORMANCE_REAL_CLIENTS_FULL=1, else its pinned cases and the sample; never NOT_RUN's."""
    prefixes = tuple(PREFIX + prefix for prefix in NOT_RUN.get(name, ((), ""))[0])
    if case_id.startswith(prefixes):
        return False
    if name in FULL or os.environ.get("CONFORMANCE_REAL_CLIENTS_FULL", "").strip() == "1":
        return True
    return case_id in EXPECTED.get(name, {}) or sampled(case_id)


@pytest.fixture(scope="module", autouse=True)
def _adapters_forked() -> Iterator[None]:
    """The adapters start through a fork server (real_clients.forked_adapters): the verdicts
    are the same, the test a fraction of the time."""
    with forked_adapters():
        yield


@pytest.mark.parametrize("name", ["websockets", "websocket-client", "aiohttp", "tornado", "ws"])
def test_real_ws_client_verdicts_are_pinned_and_stable(reactor_thread, name: str) -> None:  # type: ignore[no-untyped-def]
    expected = EXPECTED.get(name, {})
    also = ALSO.get(name, {})
    check(
        reactor_thread,
        "ws",
        name,
        clients().get(name),
        expected,
        lambda case_id: selected(name, case_id),
        also,
    )
