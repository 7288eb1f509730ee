"""WebSocket on the wire, without I/O (RFC 6455, RFC 7692).

- :mod:`.frames` — frames: an encoder that writes any frame (any opcode, reserved bits,
  masked or not, any length encoding) and a tolerant incremental decoder; fast masking.
- :mod:`.messages` — frames to messages (fragmentation, control frames interleaved, UTF-8,
  permessage-deflate) and messages to frames in any fragmentation pattern.
- :mod:`.utf8` — incremental UTF-8 validation that tells where invalid text began.
- :mod:`.close` — close codes and their RFC 6455 §7.4 ranges; close payloads.
- :mod:`.deflate` — permessage-deflate parameters and compression (RFC 7692).
- :mod:`.handshake` — the opening handshake: requests as told, responses checked fully.
"""

from __future__ import annotations

from conformance.codecs.ws.close import (
    CloseCode,
    CodeRange,
    code_range,
    encode_close_payload,
    is_valid_on_wire,
)
from conformance.codecs.ws.deflate import DeflateParams, ExtensionOffer, MessageCompressor, parse_extensions
from conformance.codecs.ws.frames import (
    Frame,
    FrameDecoder,
    Garbled,
    Opcode,
    encode_frame,
    encode_header,
    mask,
)
from conformance.codecs.ws.handshake import HandshakeOutcome, HandshakeRequest, accept_value, check_response
from conformance.codecs.ws.messages import Message, MessageAssembler, cut, encode_message
from conformance.codecs.ws.utf8 import Utf8Validator, first_invalid

__all__ = [
    "CloseCode",
    "CodeRange",
    "DeflateParams",
    "ExtensionOffer",
    "Frame",
    "FrameDecoder",
    "Garbled",
    "HandshakeOutcome",
    "HandshakeRequest",
    "Message",
    "MessageAssembler",
    "MessageCompressor",
    "Opcode",
    "Utf8Validator",
    "accept_value",
    "check_response",
    "code_range",
    "cut",
    "encode_close_payload",
    "encode_frame",
    "encode_header",
    "encode_message",
    "first_invalid",
    "is_valid_on_wire",
    "mask",
    "parse_extensions",
]
