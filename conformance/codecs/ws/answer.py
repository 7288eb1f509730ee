"""How the server side of a WebSocket opening handshake answers (client mode): the 101 or
other response, right or wrong on purpose (:class:`WsAnswer`), and how it takes the client's
permessage-deflate offer (:class:`DeflateAnswer`, RFC 7692 §7.1).

Data, with the bytes they render: the scenario language builds them from a case's ``accept``
step, the driver writes them; neither imports the other for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.codecs.common import printable
from conformance.codecs.ws.deflate import EXTENSION, ExtensionOffer, parse_extensions
from conformance.codecs.ws.handshake import accept_value


@dataclass(frozen=True, kw_only=True)
class DeflateAgreement:
    """permessage-deflate as the harness accepted it: the response element, and each side's
    context takeover and window (RFC 7692 §7.1)."""

    response: str
    client_reset: bool
    client_bits: int | None
    server_reset: bool
    server_bits: int | None


@dataclass(frozen=True, kw_only=True)
class DeflateAnswer:
    """How the harness accepts the client's permessage-deflate offer (RFC 7692 §7.1), the way
    Autobahn's fuzzingserver does in its 12.x and 13.x cases.

    ``choices``: in order of preference, the parameters the server adds for the client
    (``client_no_context_takeover``, ``client_max_window_bits``: a window the client may only
    be given when its offer has the parameter, §7.1.2.2); the first that fits one of the
    client's offers (taken in its order) is answered, with what that offer asked of the server
    (``server_no_context_takeover``, ``server_max_window_bits``) granted as asked. None fits:
    the client did not offer what the case needs (UNIMPLEMENTED). ``response``: a literal
    element to answer with instead, wrong on purpose, once the client offered the extension."""

    choices: tuple[tuple[tuple[str, int | None], ...], ...] = ((),)
    response: str | None = None

    def agree(self, value: str | None) -> DeflateAgreement | str:
        """The agreement for the client's Sec-WebSocket-Extensions value, or why none."""
        offers = [o for o in parse_extensions(value or "")[0] if o.name == EXTENSION]
        if not offers:
            return "the client offered no permessage-deflate (its {url} asked for it)"
        if self.response is not None:
            return DeflateAgreement(
                response=self.response,
                client_reset=False,
                client_bits=None,
                server_reset=False,
                server_bits=None,
            )
        for choice in self.choices:
            for offer in offers:
                agreed = _agreement(offer, dict(choice))
                if agreed is not None:
                    return agreed
        wanted = " or ".join(
            ", ".join(name for name, _ in choice) or "the default parameters" for choice in self.choices
        )
        return f"no permessage-deflate offer of the client takes {wanted}"

    def describe(self) -> str:
        if self.response is not None:
            return f"permessage-deflate answered with {self.response!r}"
        parts = [
            "; ".join(name if bits is None else f"{name}={bits}" for name, bits in choice) or "defaults"
            for choice in self.choices
        ]
        return "permessage-deflate accepted with " + ", else ".join(parts)


def _agreement(offer: ExtensionOffer, choice: dict[str, int | None]) -> DeflateAgreement | None:
    """The answer to one offer with the choice's parameters, or None when it does not fit
    (an unknown or repeated parameter, or a client window the offer did not allow)."""
    params: dict[str, str | None] = {}
    for key, value in offer.params:
        if key in params or key not in _OFFER_PARAMETERS:
            return None  # an offer a server MUST decline (RFC 7692 §7)
        params[key] = value
    bits_offered = _bits(params.get("client_max_window_bits"))
    if "client_max_window_bits" in choice:
        if "client_max_window_bits" not in params:
            return None  # §7.1.2.2: the response MUST NOT have it then
        wanted = choice["client_max_window_bits"] or 15
        client_bits: int | None = min(wanted, bits_offered or 15)
    else:
        client_bits = bits_offered  # a hint: the client uses no larger a window (§7.1.2.2)
    server_bits = _bits(params.get("server_max_window_bits"))
    if "server_max_window_bits" in params and server_bits is None:
        return None
    response = [EXTENSION]
    server_reset = "server_no_context_takeover" in params
    if server_reset:
        response.append("server_no_context_takeover")
    if server_bits is not None:
        response.append(f"server_max_window_bits={server_bits}")
    client_reset = "client_no_context_takeover" in choice
    if client_reset:
        response.append("client_no_context_takeover")
    if "client_max_window_bits" in choice:
        response.append(f"client_max_window_bits={client_bits}")
    return DeflateAgreement(
        response="; ".join(response),
        # §7.1.1.2: client_no_context_takeover in the offer is a promise even when the
        # response leaves it out.
        client_reset=client_reset or "client_no_context_takeover" in params,
        client_bits=client_bits,
        server_reset=server_reset,
        server_bits=server_bits,
    )


_OFFER_PARAMETERS = {
    "server_no_context_takeover",
    "client_no_context_takeover",
    "server_max_window_bits",
    "client_max_window_bits",
}


def _bits(value: str | None) -> int | None:
    if value is None or not value.isdigit() or not 8 <= int(value) <= 15 or value.startswith("0"):
        return None
    return int(value)


@dataclass(frozen=True, kw_only=True)
class WsAnswer:
    """How the harness answers the client's handshake; every part may be wrong on purpose.

    ``accept``: ``right`` (RFC 6455 §4.2.2's value), ``wrong`` (the value of another key),
    ``missing``, or a literal value. ``upgrade`` / ``connection``: None leaves the field out.
    ``subprotocol`` / ``extensions``: a Sec-WebSocket-Protocol / -Extensions field to add."""

    status: int = 101
    reason: str = "Switching Protocols"
    accept: str = "right"
    upgrade: str | None = "websocket"
    connection: str | None = "Upgrade"
    subprotocol: str | None = None
    extensions: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    deflate: DeflateAnswer | None = None

    def render(self, key: str | None, extensions: str | None = None) -> bytes:
        lines = [f"HTTP/1.1 {self.status} {self.reason}"]
        if self.upgrade is not None:
            lines.append(f"Upgrade: {self.upgrade}")
        if self.connection is not None:
            lines.append(f"Connection: {self.connection}")
        if self.accept == "right":
            lines.append(f"Sec-WebSocket-Accept: {accept_value(key or '')}")
        elif self.accept == "wrong":
            # A well-formed accept value, for another key: only a client that checks it
            # against its own key sees that it is wrong.
            lines.append(f"Sec-WebSocket-Accept: {accept_value('AAAAAAAAAAAAAAAAAAAAAA==')}")
        elif self.accept != "missing":
            lines.append(f"Sec-WebSocket-Accept: {self.accept}")
        if self.subprotocol is not None:
            lines.append(f"Sec-WebSocket-Protocol: {self.subprotocol}")
        for value in (self.extensions, extensions):
            if value is not None:
                lines.append(f"Sec-WebSocket-Extensions: {value}")
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.status != 101:
            lines.append("Content-Length: 0")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def describe(self) -> str:
        parts = []
        if self.status != 101:
            parts.append(f"status {self.status}")
        if self.accept != "right":
            parts.append(f"Sec-WebSocket-Accept {self.accept}")
        if self.upgrade != "websocket":
            parts.append("no Upgrade" if self.upgrade is None else f"Upgrade: {self.upgrade}")
        if self.connection != "Upgrade":
            parts.append("no Connection" if self.connection is None else f"Connection: {self.connection}")
        if self.subprotocol is not None:
            parts.append(f"subprotocol {self.subprotocol}")
        if self.extensions is not None:
            parts.append(f"extensions {printable(self.extensions.encode('latin-1'), 60)}")
        parts += [f"{n}: {v}" for n, v in self.headers]
        if self.deflate is not None:
            parts.append(self.deflate.describe())
        return "a 101 answer" if not parts else "an answer with " + ", ".join(parts)
