"""Close frames (RFC 6455 §5.5.1, §7.4): status codes, their ranges, and close payloads."""

from __future__ import annotations

import enum

from conformance.codecs.common import Violation
from conformance.codecs.ws.utf8 import first_invalid

RFC6455 = "https://www.rfc-editor.org/rfc/rfc6455"


class CloseCode(enum.IntEnum):
    """Status codes defined by RFC 6455 §7.4.1 (and registered since, §11.7)."""

    NORMAL = 1000  # §7.4.1: normal closure
    GOING_AWAY = 1001  # §7.4.1: server going down, browser navigating away
    PROTOCOL_ERROR = 1002  # §7.4.1: a protocol error
    UNSUPPORTED_DATA = 1003  # §7.4.1: a type of data it cannot accept
    RESERVED = 1004  # §7.4.1: reserved, meaning to be defined
    NO_STATUS = 1005  # §7.4.1: MUST NOT be sent: "no status code was present"
    ABNORMAL = 1006  # §7.4.1: MUST NOT be sent: closed without a close frame
    INVALID_PAYLOAD = 1007  # §7.4.1: data inconsistent with the message type (bad UTF-8)
    POLICY_VIOLATION = 1008  # §7.4.1: a policy violation
    MESSAGE_TOO_BIG = 1009  # §7.4.1: a message too big to process
    MANDATORY_EXTENSION = 1010  # §7.4.1: (client) an extension the server did not negotiate
    INTERNAL_ERROR = 1011  # §7.4.1 erratum / IANA registry: an unexpected condition
    SERVICE_RESTART = 1012  # IANA registry (§11.7)
    TRY_AGAIN_LATER = 1013  # IANA registry (§11.7)
    BAD_GATEWAY = 1014  # IANA registry (§11.7)
    TLS_HANDSHAKE = 1015  # §7.4.1: MUST NOT be sent: the TLS handshake failed


class CodeRange(enum.Enum):
    """RFC 6455 §7.4.2 ranges of status codes."""

    UNUSED = "0-999: not used"
    PROTOCOL = "1000-2999: this protocol, its revisions and extensions"
    LIBRARIES = "3000-3999: registered with IANA, for libraries and frameworks"
    PRIVATE = "4000-4999: private use"
    OUT_OF_RANGE = "5000 and above: not a status code"


def code_range(code: int) -> CodeRange:
    if code < 1000:
        return CodeRange.UNUSED
    if code < 3000:
        return CodeRange.PROTOCOL
    if code < 4000:
        return CodeRange.LIBRARIES
    if code < 5000:
        return CodeRange.PRIVATE
    return CodeRange.OUT_OF_RANGE


#: Codes that must never appear in a close frame (RFC 6455 §7.4.1: 1005, 1006, 1015).
NEVER_SENT = frozenset({CloseCode.NO_STATUS, CloseCode.ABNORMAL, CloseCode.TLS_HANDSHAKE})


def is_valid_on_wire(code: int) -> bool:
    """May an endpoint send this code? 1000-1003, 1007-1014 (defined or registered),
    3000-4999 (libraries and private use). 1004-1006, 1015, other 1xxx and 2xxx codes are
    reserved or never sent (§7.4.1, §7.4.2)."""
    if 3000 <= code <= 4999:
        return True
    return code in CloseCode._value2member_map_ and code not in NEVER_SENT and code != CloseCode.RESERVED


def encode_close_payload(code: int | None = None, reason: bytes = b"") -> bytes:
    """The payload of a close frame: a 2-byte code then a reason (any bytes, as told)."""
    if code is None:
        return reason
    return (code & 0xFFFF).to_bytes(2, "big") + reason


def check_close_payload(payload: bytes) -> tuple[Violation, ...]:
    """What is wrong with a close frame's payload (RFC 6455 §5.5.1, §7.4)."""
    section = f"{RFC6455}#section-5.5.1"
    if not payload:
        return ()
    if len(payload) == 1:
        return (
            Violation(code="ws-close-1-byte", message=f"a 1-byte close payload (RFC 6455 §5.5.1, {section})"),
        )
    found: list[Violation] = []
    code = int.from_bytes(payload[:2], "big")
    if not is_valid_on_wire(code):
        found.append(
            Violation(
                code="ws-close-code-invalid",
                message=f"close code {code} may not be sent ({code_range(code).value}; RFC 6455 §7.4, "
                f"{RFC6455}#section-7.4)",
            )
        )
    bad = first_invalid(payload[2:])
    if bad is not None:
        found.append(
            Violation(
                code="ws-close-reason-utf8",
                message=f"the close reason is not valid UTF-8 from byte {bad} (RFC 6455 §5.5.1, {section})",
            )
        )
    return tuple(found)
