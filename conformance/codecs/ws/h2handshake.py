"""The WebSocket opening handshake over HTTP/2 (RFC 8441): the extended CONNECT request a
client sends on a new stream, with any field present, missing or wrong, and the check of
the server's answer.

https://www.rfc-editor.org/rfc/rfc8441#section-4 (the extended CONNECT: ``:protocol``, and
``:scheme`` and ``:path`` with it) and #section-5 (``:protocol`` is ``websocket``; no
Connection, Upgrade, Sec-WebSocket-Key or -Accept; Origin, Sec-WebSocket-Version,
-Protocol and -Extensions as RFC 6455 defines them; a 2xx answer opens the WebSocket).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from conformance.codecs.common import ConnectionClosed, Violation
from conformance.codecs.h2frames import error_name
from conformance.codecs.ws.deflate import EXTENSION, DeflateParams, ExtensionOffer, parse_extensions
from conformance.codecs.ws.handshake import HandshakeOutcome, check_negotiation, deflate_offers


@dataclass(frozen=True, kw_only=True)
class ExtendedConnect:
    """A client's extended CONNECT, written as told. Pseudo-header fields come first, in the
    order RFC 8441 §5.1 shows. ``omit`` drops generated fields by name (``:protocol`` too);
    ``override`` replaces their values (or adds fields not generated); ``extra`` adds fields
    at the end."""

    authority: str
    scheme: str = "https"
    path: str = "/"
    method: str = "CONNECT"
    protocol: str = "websocket"
    ws_version: str = "13"
    subprotocols: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()
    origin: str | None = None
    extra: tuple[tuple[str, str], ...] = ()
    omit: frozenset[str] = frozenset()  # lower-case names
    override: tuple[tuple[str, str], ...] = ()

    def fields(self) -> list[tuple[str, str]]:
        generated: list[tuple[str, str]] = [
            (":method", self.method),
            (":protocol", self.protocol),
            (":scheme", self.scheme),
            (":path", self.path),
            (":authority", self.authority),
            ("sec-websocket-version", self.ws_version),
        ]
        if self.subprotocols:
            generated.append(("sec-websocket-protocol", ", ".join(self.subprotocols)))
        generated += [("sec-websocket-extensions", value) for value in self.extensions]
        if self.origin is not None:
            generated.append(("origin", self.origin))
        overrides = {name.lower(): value for name, value in self.override}
        out = []
        for name, value in generated:
            if name in self.omit:
                continue
            out.append((name, overrides.pop(name, value)))
        added = [(name, value) for name, value in self.override if name.lower() in overrides]
        # Pseudo-header fields added by an override still go before the regular ones.
        pseudo = [item for item in added if item[0].startswith(":")]
        split = next((i for i, (name, _) in enumerate(out) if not name.startswith(":")), len(out))
        return (
            out[:split]
            + pseudo
            + out[split:]
            + [i for i in added if not i[0].startswith(":")]
            + list(self.extra)
        )

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.fields() if key.lower() == name]

    def offered_extensions(self) -> list[ExtensionOffer]:
        offers: list[ExtensionOffer] = []
        for value in self.header_values("sec-websocket-extensions"):
            offers += parse_extensions(value)[0]
        return offers

    def offered_deflates(self) -> list[DeflateParams]:
        return deflate_offers(self.offered_extensions())

    def offered_subprotocols(self) -> list[str]:
        return [
            item.strip()
            for value in self.header_values("sec-websocket-protocol")
            for item in value.split(",")
            if item.strip()
        ]


def check_connect_response(
    status: int | None,
    fields: Sequence[tuple[str, str]],
    *,
    subprotocols: Sequence[str] = (),
    offered_deflate: DeflateParams | Sequence[DeflateParams] | None = None,
    offered_names: Sequence[str] = (),
) -> HandshakeOutcome:
    """What RFC 8441 §5 asks of the answer to an extended CONNECT: a 2xx status (RFC 9110
    §9.3.6: any 2xx answer to CONNECT switches the stream to the tunnelled protocol) and, as
    in RFC 6455, a subprotocol and extensions the client offered. Sec-WebSocket-Accept is
    not part of this handshake and is not checked here."""
    if status is None or not 200 <= status < 300:
        shown = "no status" if status is None else f"status {status}"
        return HandshakeOutcome(
            problems=(f"{shown}, not 2xx: the extended CONNECT was not accepted (RFC 8441 §5)",)
        )

    def values(name: str) -> list[str]:
        return [value for key, value in fields if key.lower() == name]

    return check_negotiation(
        [],
        protocol_values=values("sec-websocket-protocol"),
        extension_values=values("sec-websocket-extensions"),
        subprotocols=subprotocols,
        offered_deflate=offered_deflate,
        offered_names=offered_names,
    )


@dataclass(frozen=True, kw_only=True)
class StreamEnded(ConnectionClosed):
    """The server ended a WebSocket's stream: END_STREAM (RFC 8441 §5: the orderly close of
    the TCP connection of RFC 6455), RST_STREAM (``reset``: the abortive close) or a GOAWAY
    that leaves the stream unprocessed or fails the connection."""

    stream_id: int = 0
    how: str = "END_STREAM"  # END_STREAM | RST_STREAM | GOAWAY
    error: int | None = None

    def describe(self) -> str:
        if self.how == "END_STREAM":
            return f"stream {self.stream_id} ended by the target (END_STREAM)"
        code = error_name(self.error) if self.error is not None else "no code"
        if self.how == "RST_STREAM":
            return f"stream {self.stream_id} reset by the target (RST_STREAM {code})"
        return f"stream {self.stream_id} abandoned: GOAWAY ({code})" + (
            f" — {self.reason}" if self.reason else ""
        )

    def detail(self) -> dict[str, Any]:
        return {**super().detail(), "stream": self.stream_id, "how": self.how, "error": self.error}


@dataclass(frozen=True, kw_only=True)
class H2Problem:
    """Something the server got wrong at the HTTP/2 level under a WebSocket."""

    frame: str
    violations: tuple[Violation, ...]

    def describe(self) -> str:
        return f"HTTP/2 {self.frame}, which breaks the rules: " + "; ".join(
            v.describe() for v in self.violations
        )

    def detail(self) -> dict[str, Any]:
        return {
            "type": "h2-problem",
            "frame": self.frame,
            "violations": [v.describe() for v in self.violations],
        }


__all__ = ["EXTENSION", "ExtendedConnect", "H2Problem", "StreamEnded", "check_connect_response"]
