"""permessage-deflate (RFC 7692): negotiation parameters, and compressing and decompressing
messages with zlib (raw DEFLATE, the empty-block tail stripped, RFC 7692 §7.2.1)."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from conformance.codecs.common import Violation

RFC7692 = "https://www.rfc-editor.org/rfc/rfc7692"
EXTENSION = "permessage-deflate"
#: RFC 7692 §7.2.1: the 4 octets that end a DEFLATE block flushed with an empty stored block.
TAIL = b"\x00\x00\xff\xff"

_PARAMETER = re.compile(r"\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*(?:=\s*(\"[^\"]*\"|[^;,\s]*))?\s*")


@dataclass(frozen=True, kw_only=True)
class ExtensionOffer:
    """One element of a Sec-WebSocket-Extensions value: a name and its parameters."""

    name: str
    params: tuple[tuple[str, str | None], ...] = ()

    def render(self) -> str:
        parts = [self.name]
        for key, value in self.params:
            parts.append(key if value is None else f"{key}={value}")
        return "; ".join(parts)


def parse_extensions(value: str) -> tuple[list[ExtensionOffer], list[str]]:
    """Parse a Sec-WebSocket-Extensions header value (RFC 6455 §9.1) into offers, plus
    problems found (a malformed element is reported, not raised)."""
    offers: list[ExtensionOffer] = []
    problems: list[str] = []
    for element in value.split(","):
        if not element.strip():
            continue
        name, *params = element.split(";")
        name = name.strip()
        if not name or not re.fullmatch(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", name):
            problems.append(f"malformed extension name {name!r}")
            continue
        parsed: list[tuple[str, str | None]] = []
        for param in params:
            match = _PARAMETER.fullmatch(param)
            if not match:
                problems.append(f"malformed extension parameter {param.strip()!r}")
                continue
            raw = match.group(2)
            parsed.append((match.group(1).lower(), None if raw is None else raw.strip('"')))
        offers.append(ExtensionOffer(name=name.lower(), params=tuple(parsed)))
    return offers, problems


@dataclass(frozen=True, kw_only=True)
class DeflateParams:
    """The negotiated (or offered) permessage-deflate parameters (RFC 7692 §7.1)."""

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int | None = None  # None: not given (15)
    client_max_window_bits: int | None = None  # in an offer, 0 means the bare parameter

    def offer(self) -> ExtensionOffer:
        """An offer with these parameters (``client_max_window_bits`` 0: without a value)."""
        params: list[tuple[str, str | None]] = []
        if self.server_no_context_takeover:
            params.append(("server_no_context_takeover", None))
        if self.client_no_context_takeover:
            params.append(("client_no_context_takeover", None))
        if self.server_max_window_bits is not None:
            params.append(("server_max_window_bits", str(self.server_max_window_bits)))
        if self.client_max_window_bits is not None:
            bits = self.client_max_window_bits
            params.append(("client_max_window_bits", str(bits) if bits else None))
        return ExtensionOffer(name=EXTENSION, params=tuple(params))


def _window_bits(value: str | None) -> int | None:
    if value is None or not re.fullmatch(r"[0-9]{1,2}", value):
        return None
    bits = int(value)
    return bits if 8 <= bits <= 15 else None


def check_response(
    response: ExtensionOffer, offered: DeflateParams
) -> tuple[DeflateParams | None, list[str]]:
    """Check a server's permessage-deflate response against what we offered (RFC 7692 §7.1):
    the negotiated parameters, or None and why the response is not acceptable."""
    problems: list[str] = []
    seen: set[str] = set()
    kwargs: dict[str, object] = {}
    for key, value in response.params:
        if key in seen:
            problems.append(f"parameter {key} given twice (RFC 7692 §7)")
            continue
        seen.add(key)
        if key in ("server_no_context_takeover", "client_no_context_takeover"):
            if value is not None:
                problems.append(f"{key} takes no value, got {value!r} (RFC 7692 §7.1.1)")
            kwargs[key] = True
        elif key == "server_max_window_bits":
            bits = _window_bits(value)
            if bits is None:
                problems.append(f"server_max_window_bits={value!r}: a value from 8 to 15 (RFC 7692 §7.1.2.1)")
            elif offered.server_max_window_bits is not None and bits > offered.server_max_window_bits:
                problems.append(
                    f"server_max_window_bits={bits} is larger than the {offered.server_max_window_bits} "
                    "offered (RFC 7692 §7.1.2.1)"
                )
            kwargs[key] = bits
        elif key == "client_max_window_bits":
            bits = _window_bits(value)
            if offered.client_max_window_bits is None:
                problems.append(
                    "client_max_window_bits in the response, but not in the offer (RFC 7692 §7.1.2.2)"
                )
            elif bits is None:
                problems.append(f"client_max_window_bits={value!r}: a value from 8 to 15 (RFC 7692 §7.1.2.2)")
            elif offered.client_max_window_bits and bits > offered.client_max_window_bits:
                problems.append(
                    f"client_max_window_bits={bits} is larger than the {offered.client_max_window_bits} "
                    "offered (RFC 7692 §7.1.2.2)"
                )
            kwargs[key] = bits
        else:
            problems.append(f"unknown parameter {key} (RFC 7692 §7.1: the client must fail the connection)")
    if offered.server_no_context_takeover and not kwargs.get("server_no_context_takeover"):
        problems.append("server_no_context_takeover was offered but not accepted (RFC 7692 §7.1.1.1)")
    if offered.server_max_window_bits is not None and kwargs.get("server_max_window_bits") is None:
        problems.append("server_max_window_bits was offered but is not in the response (RFC 7692 §7.1.2.1)")
    if problems:
        return None, problems
    return DeflateParams(**kwargs), []  # type: ignore[arg-type]


class MessageCompressor:
    """Compresses the messages one side sends (RFC 7692 §7.2.1)."""

    def __init__(self, *, window_bits: int | None = None, no_context_takeover: bool = False) -> None:
        # zlib cannot make a raw stream with an 8-bit window; 9 stays within a peer's 8 (RFC
        # 7692 §7.1.2 leaves the implementation free to use a smaller window than allowed).
        self.window_bits = max(9, window_bits or 15)
        self.no_context_takeover = no_context_takeover
        self._compressor = self._new()

    def _new(self) -> zlib._Compress:
        # The fastest level: RFC 7692 leaves how well a sender compresses to it, and the
        # harness's large messages (Autobahn 12.x, 13.x) spent most of their time here.
        return zlib.compressobj(zlib.Z_BEST_SPEED, zlib.DEFLATED, -self.window_bits)

    def compress(self, data: bytes) -> bytes:
        out = self._compressor.compress(data) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
        if self.no_context_takeover:
            self._compressor = self._new()
        return out[:-4] if out.endswith(TAIL) else out


class MessageDecompressor:
    """Decompresses the messages the peer sends, with a cap on the output (bombs stop)."""

    def __init__(self, *, window_bits: int | None = None, no_context_takeover: bool = False) -> None:
        self.window_bits = window_bits or 15
        self.no_context_takeover = no_context_takeover
        self._decompressor = zlib.decompressobj(-15)

    def decompress(self, data: bytes, *, cap: int) -> tuple[bytes, Violation | None]:
        """One whole compressed message to its payload; a violation instead of raising."""
        try:
            out = self._decompressor.decompress(data + TAIL, cap)
            if self._decompressor.unconsumed_tail:
                return out, Violation(
                    code="ws-deflate-too-large", message=f"a compressed message inflates past {cap} bytes"
                )
        except zlib.error as exc:
            self._decompressor = zlib.decompressobj(-15)
            return b"", Violation(
                code="ws-deflate-invalid",
                message=f"a compressed message is not valid DEFLATE data: {exc} (RFC 7692 §7.2.2, "
                f"{RFC7692}#section-7.2.2)",
            )
        if self.no_context_takeover:
            self._decompressor = zlib.decompressobj(-15)
        return out, None
