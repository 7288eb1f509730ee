"""The HTTP/2 client suite against real clients, each through a command of the client contract
(README, "Client mode"): curl ``--http2-prior-knowledge`` (the Debian package), httpx with h2,
nghttp (Debian's nghttp2-client) and the h2 library used as a plain client. The adapters live
in ``tests/integration/clients/``. The plain h2 client is not the reference client
(``conformance.clients.h2``): that one puts a reader of its own in front of h2 (frames on idle
streams, graceful GOAWAY, every field block and content-length judged by RFC 9113 §8), so it
tells what this project's checks do; the plain one tells what h2 alone does.

Every verdict other than PASS below was checked against the RFC text (the reason is next to
it); every other case must PASS. A client missing from the machine is skipped, except under
CI=true.

Each client's suite runs once here (CI time); ``CONFORMANCE_REAL_RUNS=3`` runs it three times
and requires the same verdict for every case in every run. That was done by hand for all four
clients (curl 7.88.1, httpx 0.29.0 with httpcore 1.0.9 and h2 4.4.1, nghttp 1.52.0, h2 4.4.1)
when the verdicts were pinned.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from real_clients import Pin, check, expected_verdicts, forked_adapters, python_adapter

FAIL, NON_STRICT, UNIMPLEMENTED = "FAIL", "NON-STRICT", "UNIMPLEMENTED"
PREFIX = "client/h2/9113/"


#: RFC 9113 §5.4.1: "An endpoint that encounters a connection error SHOULD first send a GOAWAY
#: frame"; the connection closed without one is allowed, not preferred (NON-STRICT). These are
#: the connection errors a client found and announced by a bare close.
_CLOSED_WITHOUT_GOAWAY = (
    "4.2/data-over-max-frame-size",
    "4.2/headers-over-max-frame-size",
    "4.3/huffman-eos",
    "4.3/huffman-long-padding",
    "4.3/huffman-zero-padding",
    "4.3/index-zero",
    "4.3/invalid-index",
    "4.3/size-update-after-field",
    "4.3/size-update-over-limit",
    "4.3/truncated-block",
    "5.1.1/unexpected-stream-identifier",
    "5.1/closed-continuation",
    "5.1/closed-headers",
    "5.1/continuation-after-rst",
    "5.1/idle-continuation",
    "5.1/idle-data",
    "5.1/idle-window-update",
    "5.5/unknown-frame-in-header-block",
    "6.1/data-invalid-pad-length",
    "6.1/data-stream-zero",
    "6.10/continuation-after-data",
    "6.10/continuation-after-end-headers",
    "6.10/continuation-after-ended-continuation",
    "6.10/continuation-other-stream",
    "6.10/continuation-stream-zero",
    "6.10/data-inside-header-block",
    "6.2/headers-invalid-pad-length",
    "6.2/headers-stream-zero",
    "6.2/priority-inside-header-block",
    "6.3/priority-stream-zero",
    "6.3/priority-wrong-length",
    "6.4/rst-stream-wrong-length",
    "6.4/rst-stream-zero",
    "6.5.2/enable-push-from-server",
    "6.5.2/enable-push-invalid",
    "6.5.2/initial-window-size-too-large",
    "6.5.2/max-frame-size-too-large",
    "6.5.2/max-frame-size-too-small",
    "6.5/settings-ack-with-payload",
    "6.5/settings-on-stream",
    "6.5/settings-wrong-length",
    "6.7/ping-on-stream",
    "6.7/ping-wrong-length",
    "6.8/goaway-on-stream",
    "6.9.1/connection-window-overflow",
    "6.9/window-update-wrong-length",
    "6.9/window-update-zero-connection",
    "6.9/window-update-zero-stream",
    "8.4/push-promise-odd-promised-stream",
    "8.4/push-promise-stream-zero",
    "8.4/push-promise-when-disabled",
)

#: RFC 9113 §8.1.1: "Clients MUST NOT accept a malformed response." httpcore runs h2 with
#: validate_inbound_headers=False, so httpx accepts every response §8.2 calls malformed: field
#: names and values with forbidden characters (§8.2.1), connection-specific fields (§8.2.2),
#: missing, repeated, request or unknown pseudo-headers and pseudo-headers after regular
#: fields or in trailers (§8.3), content-length 2 with no DATA (§8.1.1).
_HTTPX_ACCEPTS_MALFORMED = (
    "8.1.1/connection-specific-connection",
    "8.1.1/connection-specific-keep-alive",
    "8.1.1/connection-specific-proxy-connection",
    "8.1.1/connection-specific-transfer-encoding",
    "8.1.1/connection-specific-upgrade",
    "8.1.1/content-length-no-data",
    "8.1.1/field-name-empty",
    "8.1.1/field-name-with-colon",
    "8.1.1/field-name-with-del",
    "8.1.1/field-name-with-space",
    "8.1.1/field-value-cr",
    "8.1.1/field-value-leading-space",
    "8.1.1/field-value-lf",
    "8.1.1/field-value-nul",
    "8.1.1/field-value-trailing-tab",
    "8.1.1/missing-status",
    "8.1.1/pseudo-after-regular",
    "8.1.1/request-pseudo-authority",
    "8.1.1/request-pseudo-method",
    "8.1.1/request-pseudo-path",
    "8.1.1/request-pseudo-scheme",
    "8.1.1/status-twice",
    "8.1.1/trailers-with-pseudo",
    "8.1.1/unknown-pseudo",
    "8.1.1/uppercase-field-name",
    "8.1.1/uppercase-known-field",
    "8.1.1/uppercase-trailer-name",
)

#: RFC 9113 §6.8 / §5.4.1: after a graceful GOAWAY that covers stream 1 the response "might
#: still complete"; h2 (so httpx and the plain h2 client) refuses every frame after any GOAWAY
#: and gives the connection up. An endpoint can end a connection at any time, so the rejected
#: response is allowed, not preferred (h2 even calls the valid frames a PROTOCOL_ERROR).
_REJECTS_AFTER_GRACEFUL_GOAWAY = ("6.8/goaway-notice-then-response", "6.8/graceful-goaway-response-completes")

_GOAWAY_REASON = (
    'After a graceful GOAWAY that covers stream 1 the response "might still complete" (RFC 9113 '
    "§6.8); h2 refuses every frame after any GOAWAY and gives the connection up (calling the valid "
    "frames a PROTOCOL_ERROR). An endpoint can end a connection at any time (§5.4.1) and no "
    "sentence binds the client to read on: the rejected response is allowed, not preferred."
)
_IDLE_RST_REASON = (
    'RFC 9113 §5.1 (idle): "Receiving any frame other than HEADERS or PRIORITY on a stream in this '
    'state MUST be treated as a connection error of type PROTOCOL_ERROR." h2 lets an RST_STREAM on '
    "the idle stream 2 pass."
)


#: Every verdict other than PASS, with its reason (docs/verdicts/h2-clients.md renders them).
PINS: tuple[Pin, ...] = (
    Pin(
        "curl",
        NON_STRICT,
        "curl finds the connection error and sends GOAWAY with the right code, then exits 0 with "
        "what DATA had come, on a stream that never ended: it reports a response cut short as "
        "received. The client contract asks a non-zero exit; no RFC sentence binds what a client "
        "reports once the wire shows it found the error: acceptable, not preferred.",
        (
            "4.2/data-over-max-frame-size",
            "6.1/data-invalid-pad-length",
            "6.10/continuation-after-data",
            "6.10/continuation-after-end-headers",
            "6.10/continuation-after-ended-continuation",
        ),
    ),
    Pin(
        "curl",
        FAIL,
        'RFC 9113 §8.2.1: "A field value MUST NOT start or end with an ASCII whitespace character"; '
        'such a response is malformed, and "Clients MUST NOT accept a malformed response" (§8.1.1). '
        "curl strips the whitespace and accepts it.",
        ("8.1.1/field-value-leading-space", "8.1.1/field-value-trailing-tab"),
    ),
    Pin(
        "curl",
        NON_STRICT,
        "A frame on stream 1 after it closed: curl, done with its only stream, closes the connection "
        "without GOAWAY (RFC 9113 §5.4.1: an endpoint can end a connection at any time; it SHOULD "
        "send GOAWAY first).",
        ("5.1/closed-data", "5.1/closed-headers", "5.1/data-after-rst", "5.1/headers-after-rst"),
    ),
    Pin(
        "httpx",
        NON_STRICT,
        'RFC 9113 §5.4.1: "An endpoint that encounters a connection error SHOULD first send a GOAWAY '
        'frame"; httpx finds the error and closes the connection without one (h2 queues the GOAWAY, '
        "httpcore never sends it): allowed, not preferred.",
        _CLOSED_WITHOUT_GOAWAY,
    ),
    Pin("httpx", NON_STRICT, _GOAWAY_REASON, _REJECTS_AFTER_GRACEFUL_GOAWAY),
    Pin(
        "httpx",
        FAIL,
        'RFC 9113 §8.1.1: "Clients MUST NOT accept a malformed response." httpcore runs h2 with '
        "validate_inbound_headers=False, so httpx accepts every response §8.2 and §8.3 call "
        "malformed: field names and values with forbidden characters (§8.2.1), connection-specific "
        "fields (§8.2.2), missing, repeated, request or unknown pseudo-headers and pseudo-headers "
        "after regular fields or in trailers (§8.3), and content-length 2 with no DATA (§8.1.1).",
        _HTTPX_ACCEPTS_MALFORMED,
    ),
    Pin("httpx", FAIL, _IDLE_RST_REASON + " httpx waits on.", ("5.1/idle-rst-stream",)),
    Pin(
        "httpx",
        FAIL,
        'RFC 9113 §5.4.1: "An endpoint that encounters a connection error SHOULD first send a GOAWAY '
        'frame"; this case asks for the GOAWAY (at SHOULD), and httpx closes without one.',
        ("5.4.1/connection-error-goaway",),
    ),
    Pin(
        "nghttp",
        NON_STRICT,
        "A frame on stream 1 after it closed or was reset: nghttp, done with its only stream, ends "
        "the connection with GOAWAY NO_ERROR (RFC 9113 §5.4.1: an endpoint can end a connection at "
        "any time; nothing shows it read the frame): allowed, not preferred.",
        (
            "5.1/closed-continuation",
            "5.1/closed-data",
            "5.1/closed-headers",
            "5.1/continuation-after-rst",
            "5.1/data-after-rst",
            "5.1/headers-after-rst",
        ),
    ),
    Pin(
        "nghttp",
        UNIMPLEMENTED,
        "nghttp leaves server push on (SETTINGS_ENABLE_PUSH is not sent as 0): the case needs a "
        "client that disabled it.",
        ("8.4/push-promise-when-disabled",),
    ),
    Pin(
        "h2",
        NON_STRICT,
        'RFC 9113 §5.4: "a generic error code (such as PROTOCOL_ERROR or INTERNAL_ERROR) can always be '
        'used in place of more specific error codes": h2 answers HPACK errors with GOAWAY '
        "PROTOCOL_ERROR, not COMPRESSION_ERROR, and a SETTINGS ACK with a payload with "
        "PROTOCOL_ERROR, not FRAME_SIZE_ERROR.",
        (
            "4.3/huffman-eos",
            "4.3/huffman-long-padding",
            "4.3/huffman-zero-padding",
            "4.3/index-zero",
            "4.3/invalid-index",
            "4.3/size-update-after-field",
            "4.3/size-update-over-limit",
            "4.3/truncated-block",
            "6.5/settings-ack-with-payload",
        ),
    ),
    Pin(
        "h2",
        NON_STRICT,
        "The stream was reset and the client, done, closes the socket without GOAWAY before the "
        "frame under test is judged (RFC 9113 §5.4.1: allowed, not preferred).",
        ("5.1/data-after-rst", "5.1/headers-after-rst", "6.9.1/stream-window-overflow"),
    ),
    Pin("h2", NON_STRICT, _GOAWAY_REASON, _REJECTS_AFTER_GRACEFUL_GOAWAY),
    Pin("h2", FAIL, _IDLE_RST_REASON, ("5.1/idle-rst-stream",)),
    Pin(
        "h2",
        FAIL,
        'RFC 9113 §8.1.1: a response "is also malformed if the value of a content-length header '
        'field does not equal the sum of the DATA frame payload lengths"; "Clients MUST NOT accept '
        'a malformed response." h2 accepts content-length 2 on a HEADERS that ends the stream.',
        ("8.1.1/content-length-no-data",),
    ),
    Pin(
        "h2",
        UNIMPLEMENTED,
        "The plain client keeps h2's default, server push on: the case needs a client that disabled it.",
        ("8.4/push-promise-when-disabled",),
    ),
)

#: client -> case id -> verdict other than PASS.
EXPECTED: dict[str, dict[str, str]] = expected_verdicts(PINS, PREFIX)


def _curl() -> str | None:
    curl = shutil.which("curl")
    if curl is None:
        return None
    features = subprocess.run([curl, "-V"], capture_output=True, text=True, check=False).stdout
    if " HTTP2" not in features:  # a curl built without nghttp2 cannot speak HTTP/2
        return None
    return f"{shlex.quote(curl)} -s --http2-prior-knowledge {{url}}"


def clients() -> dict[str, str]:
    """name -> COMMAND for each client found on this machine."""
    found = {
        "curl": _curl(),
        "httpx": python_adapter("httpx_h2.py", "httpx", "h2"),
        "nghttp": python_adapter("nghttp_h2.py") if shutil.which("nghttp") else None,
        "h2": python_adapter("h2_plain.py", "h2"),
    }
    return {name: command for name, command in found.items() if command is not None}


@pytest.fixture(scope="module", autouse=True)
def _adapters_forked() -> Iterator[None]:
    """The adapters start through a fork server (real_clients.forked_adapters): the verdicts
    are the same, the test a fraction of the time."""
    with forked_adapters():
        yield


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_h2_client_verdicts_are_pinned_and_stable(reactor_thread, name: str) -> None:  # type: ignore[no-untyped-def]
    check(reactor_thread, "h2", name, clients().get(name), EXPECTED[name])
