"""The HTTP/1.1 client suite against real Python clients, each through a command of the client
contract (README, "Client mode"): h11 used as a plain client, httpx (httpcore with h11),
urllib3 (http.client underneath) and aiohttp's client. The adapters live in
``tests/integration/clients/``. The plain h11 client is not the reference client
(``conformance.clients.h1``): that one has h11 write the request and reads the response with a
strict reader of its own, so it tells what this project's checks do; the plain one tells what
h11 alone does. curl and the README's http.client adapter are judged in
``test_real_clients.py``.

Every verdict other than PASS below was checked against the RFC text (the reason is next to
it); every other case must PASS. A client missing from the machine is skipped, except under
CI=true.

Each client's suite runs once here (CI time); ``CONFORMANCE_REAL_RUNS=3`` runs it three times
and requires the same verdict for every case in every run (done by hand for all four clients
when the verdicts were pinned: the same verdicts three times). The verdicts were pinned with h11
0.16.0, httpx 0.29.0 (httpcore 1.0.9), urllib3 2.8.0 on Python 3.11's http.client and aiohttp
3.14.5.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from real_clients import Pin, check, expected_verdicts, forked_adapters, python_adapter

FAIL, NON_STRICT = "FAIL", "NON-STRICT"
PREFIX = "client/h1/"


_EMPTY_LIST_ELEMENT_TE = (
    "9110/5.6.1/transfer-encoding-empty-element-after",
    "9110/5.6.1/transfer-encoding-empty-element-before",
)
_H11_EMPTY_ELEMENT = (
    'RFC 9110 §5.6.1: "A recipient MUST parse and ignore a reasonable number of empty list '
    'elements"; h11 compares the whole Transfer-Encoding value to "chunked" and refuses '
    '"chunked," and ", chunked" ("Only Transfer-Encoding: chunked is supported").'
)
_H11_CHUNK_EXT_BWS = (
    'RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ), '
    'and "A recipient MUST ignore unrecognized chunk extensions"; h11 refuses the chunk-size '
    'line "5 ; foo = bar" ("illegal chunk header") instead of ignoring the extension.'
)
_H11_CONTENT_LENGTH_EMPTY_ELEMENT = (
    'RFC 9110 §5.6.1 / RFC 9112 §6.3: ", 5" is a list of one value, 5 (a SHOULD here: the case '
    'accepts refusing it as an error); h11 refuses it ("conflicting Content-Length headers"): '
    "allowed, not preferred."
)
_H11_LEADING_ZEROS = (
    "A chunk-size of 31 hex digits (mostly leading zeros): h11 refuses the line "
    '("illegal chunk header"), a limit on its length, which RFC 9110 §2.3 allows: allowed, not '
    "preferred."
)
_INVALID_CONTENT_LENGTH = (
    "9112/6.3/invalid-content-length-decimal-point",
    "9112/6.3/invalid-content-length-empty",
    "9112/6.3/invalid-content-length-exponent",
    "9112/6.3/invalid-content-length-hex",
    "9112/6.3/invalid-content-length-inner-space",
    "9112/6.3/invalid-content-length-letters",
    "9112/6.3/invalid-content-length-negative",
    "9112/6.3/invalid-content-length-non-ascii-digit",
    "9112/6.3/invalid-content-length-trailing-letters",
    "9112/6.3/invalid-content-length-underscore",
    "9110/5.5/nul-in-content-length",
)
_INTERIM = (
    "9110/15.2/interim-102-processing",
    "9110/15.2/interim-103-early-hints",
    "9110/15.2/interim-five-interim",
    "9110/15.2/interim-interim-with-content-length",
    "9110/15.2/interim-two-interim",
    "9110/15.2/interim-unknown-1xx",
)

#: Every verdict other than PASS, with its reason (docs/verdicts/h1-clients.md renders them).
PINS: tuple[Pin, ...] = (
    Pin(
        "h11",
        FAIL,
        'RFC 9110 §10.1.5: "A user agent SHOULD send a User-Agent header field in each request"; '
        "h11 is a protocol library and sends the fields its user gives, and the plain client, "
        "written as h11's documentation writes one, gives Host alone. A SHOULD, for the program "
        "built on h11 rather than for h11.",
        ("9110/10.1/user-agent-sent",),
    ),
    Pin("h11", FAIL, _H11_EMPTY_ELEMENT, _EMPTY_LIST_ELEMENT_TE),
    Pin("h11", FAIL, _H11_CHUNK_EXT_BWS, ("9112/7.1/chunk-extension-whitespace",)),
    Pin(
        "h11",
        NON_STRICT,
        _H11_CONTENT_LENGTH_EMPTY_ELEMENT,
        ("9112/6.3/content-length-list-with-empty-element",),
    ),
    Pin("h11", NON_STRICT, _H11_LEADING_ZEROS, ("9112/7.1/chunk-size-many-leading-zeros",)),
    Pin(
        "httpx",
        FAIL,
        _H11_EMPTY_ELEMENT + " httpx reads HTTP/1.1 with h11 (httpcore).",
        _EMPTY_LIST_ELEMENT_TE,
    ),
    Pin(
        "httpx", FAIL, _H11_CHUNK_EXT_BWS + " (h11 under httpcore.)", ("9112/7.1/chunk-extension-whitespace",)
    ),
    Pin(
        "httpx",
        NON_STRICT,
        _H11_CONTENT_LENGTH_EMPTY_ELEMENT + " (h11 under httpcore.)",
        ("9112/6.3/content-length-list-with-empty-element",),
    ),
    Pin(
        "httpx",
        NON_STRICT,
        _H11_LEADING_ZEROS + " (h11 under httpcore.)",
        ("9112/7.1/chunk-size-many-leading-zeros",),
    ),
    Pin(
        "urllib3",
        FAIL,
        'RFC 9110 §15.2: "A client MUST be able to parse one or more 1xx responses received prior '
        'to a final response, even if the client does not expect one." http.client skips 100 '
        "Continue only: a 102, 103 or unknown 1xx is returned as the final response (exit 0, "
        "empty body), and the real response is never read.",
        _INTERIM,
    ),
    Pin(
        "urllib3",
        FAIL,
        'RFC 9112 §6.3: an invalid Content-Length makes the framing invalid, and "If it is in a '
        "response message received by a user agent, the user agent MUST close the connection to "
        'the server and discard the received response." http.client drops a Content-Length that '
        "int() cannot read (a NUL inside it, replaced by SP or not, leaves it invalid: RFC 9110 "
        "§5.5) and reads the body to the close, which never comes: the client hangs until the "
        "harness ends it.",
        _INVALID_CONTENT_LENGTH,
    ),
    Pin(
        "urllib3",
        FAIL,
        'RFC 9112 §6.3, as above: int() reads "+5" as 5, so http.client takes an invalid '
        "Content-Length and accepts the response instead of discarding it.",
        ("9112/6.3/invalid-content-length-plus-sign",),
    ),
    Pin(
        "urllib3",
        FAIL,
        'RFC 9110 §8.6: for "Content-Length: 5, 5" a recipient "MAY either reject the message as '
        'invalid or replace that invalid field value with a single instance"; http.client does '
        "neither: it drops the value and reads to the close (it hangs), treating an invalid "
        "Content-Length as absent where RFC 9112 §6.3 makes it an unrecoverable error.",
        ("9110/8.6/content-length-repeated-list",),
    ),
    Pin(
        "urllib3",
        FAIL,
        'RFC 9110 §5.6.1: "A recipient MUST parse and ignore a reasonable number of empty list '
        'elements"; http.client compares the Transfer-Encoding value to "chunked" and, for '
        '"chunked," or ", chunked", reads the body to the close, which never comes (it hangs).',
        _EMPTY_LIST_ELEMENT_TE,
    ),
    Pin(
        "urllib3",
        FAIL,
        'RFC 9110 §5.6.1: "A recipient MUST parse and ignore a reasonable number of empty list '
        'elements" (the case is a SHOULD: it takes refusing ", 5" as an error too); http.client '
        "neither reads it as 5 nor refuses it: int() fails, it drops the value and reads to the "
        "close (it hangs).",
        ("9112/6.3/content-length-list-with-empty-element",),
    ),
    Pin(
        "urllib3",
        FAIL,
        'RFC 9112 §2.2: "A recipient of such a bare CR MUST consider that element to be invalid or '
        "replace each bare CR with SP\"; http.client's header parser (the email package) takes the "
        "bare CR as a line end, so the Transfer-Encoding: chunked after it becomes a field of its "
        "own and the Content-Length body is read as chunks (it hangs).",
        ("9112/2.2/bare-cr-in-field-value",),
    ),
    Pin(
        "urllib3",
        FAIL,
        'RFC 9112 §5.2: "A user agent that receives an obs-fold in a response message ... MUST '
        "replace each received obs-fold with one or more SP octets prior to interpreting the field "
        'value"; http.client keeps the fold in the value, does not see "chunked" and reads to the '
        "close (it hangs).",
        ("9112/5.2/obs-fold-transfer-encoding",),
    ),
    Pin(
        "urllib3",
        FAIL,
        "RFC 9112 §6.3 (rule 1): a 204 or 304 response is always terminated by the first empty "
        "line after the header fields, whatever its fields say; http.client gives it no body "
        "length but still reads it as chunked, and waits (it hangs). The case cites a framing "
        "rule whose subject is the response, not a client MUST (see the report).",
        ("9112/6.3/no-body-status-204-chunked", "9112/6.3/no-body-status-304-chunked"),
    ),
    Pin(
        "urllib3",
        FAIL,
        'RFC 9112 §8: "A client that receives an incomplete response message, which can occur when '
        "a connection is closed prematurely or when decoding a supposedly chunked transfer coding "
        'fails, MUST record the message as incomplete." http.client parses chunk sizes with '
        'int(line, 16), so "0x5" decodes as 5, and it takes a last-chunk line "0" cut by the '
        "close (no CRLF, no end of the trailer section) as the end: both accepted (exit 0).",
        ("9112/7.1/invalid-chunk-size-0x-prefix", "9112/8/incomplete-chunked-size-line-cut"),
    ),
    Pin(
        "aiohttp",
        FAIL,
        'RFC 9110 §2.5: a recipient "SHOULD process the message as if it were in the highest minor '
        'version within that major version to which the recipient is conformant"; aiohttp refuses '
        'HTTP/1.2 and HTTP/1.9 status lines ("Bad status line"). A SHOULD.',
        ("9110/2.5/higher-minor-version-chunked", "9110/2.5/higher-minor-version-content-length"),
    ),
    Pin(
        "aiohttp",
        FAIL,
        'RFC 9110 §5.6.1: "A recipient MUST parse and ignore a reasonable number of empty list '
        'elements"; aiohttp does not take "chunked," as chunked and reads the body to the close, '
        'which never comes (it hangs). ", chunked" it reads right.',
        ("9110/5.6.1/transfer-encoding-empty-element-after",),
    ),
    Pin(
        "aiohttp",
        NON_STRICT,
        'RFC 9112 §6.3: ", 5" is a list of one value, 5 (a SHOULD here: the case accepts refusing '
        'it as an error); aiohttp refuses it ("Invalid character in Content-Length"): allowed, not '
        "preferred.",
        ("9112/6.3/content-length-list-with-empty-element",),
    ),
    Pin(
        "aiohttp",
        FAIL,
        'RFC 9112 §7.1.1: chunk-ext allows BWS around ";" and "=", and "A recipient MUST ignore '
        'unrecognized chunk extensions"; aiohttp refuses "5 ; foo = bar" ("Invalid character").',
        ("9112/7.1/chunk-extension-whitespace",),
    ),
    Pin(
        "aiohttp",
        FAIL,
        'RFC 9112 §8: a client "MUST record the message as incomplete" when the connection closes '
        "prematurely; a close-delimited body ended by a reset, not a close, is taken whole "
        "(exit 0, body hello).",
        ("9112/8/incomplete-read-to-close-reset",),
    ),
    Pin(
        "aiohttp",
        FAIL,
        'RFC 9112 §8: a client "MUST record the message as incomplete"; the server closes inside '
        "the status line, inside the header section, or after a 100 Continue alone, and aiohttp "
        "closes its side but never returns: it neither records the response as incomplete nor "
        "ends (its own 30 s timeout would, after the harness's deadline).",
        (
            "9112/8/incomplete-after-interim",
            "9112/8/incomplete-header-section",
            "9112/8/incomplete-status-line",
        ),
    ),
)

#: client -> case id -> verdict other than PASS.
EXPECTED: dict[str, dict[str, str]] = expected_verdicts(PINS, PREFIX)


def clients() -> dict[str, str]:
    """name -> COMMAND for each client found on this machine."""
    found = {
        "h11": python_adapter("h11_plain.py", "h11"),
        "httpx": python_adapter("httpx_h1.py", "httpx"),
        "urllib3": python_adapter("urllib3_h1.py", "urllib3"),
        "aiohttp": python_adapter("aiohttp_h1.py", "aiohttp"),
    }
    return {name: command for name, command in found.items() if command is not None}


@pytest.fixture(scope="module", autouse=True)
def _adapters_forked() -> Iterator[None]:
    """The adapters start through a fork server (real_clients.forked_adapters): the verdicts
    are the same, the test a fraction of the time."""
    with forked_adapters():
        yield


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_h1_client_verdicts_are_pinned_and_stable(reactor_thread, name: str) -> None:  # type: ignore[no-untyped-def]
    check(reactor_thread, "h1", name, clients().get(name), EXPECTED[name])
