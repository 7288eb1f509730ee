"""The opening handshake (RFC 6455 §4): client requests with any header present, missing or
wrong, and the complete check of a server's answer (§4.1, the client's side of §4.2.2)."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from conformance.codecs import http1
from conformance.codecs.ws.deflate import EXTENSION, DeflateParams, ExtensionOffer, parse_extensions
from conformance.codecs.ws.deflate import check_response as check_deflate

RFC6455 = "https://www.rfc-editor.org/rfc/rfc6455"
#: RFC 6455 §1.3: the GUID concatenated with the key before hashing.
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#: RFC 6455 §1.3's own example key; its accept value is s3pPLMBiTxaQ9kYGzzhZRbK+xOo=.
SAMPLE_KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def accept_value(key: str) -> str:
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2, step 5.4)."""
    digest = hashlib.sha1((key + GUID).encode("latin-1"), usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii")


def new_key() -> str:
    """A fresh key: 16 random bytes, base64-encoded (RFC 6455 §4.1, item 7)."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


@dataclass(frozen=True, kw_only=True)
class HandshakeRequest:
    """A client's opening handshake, written as told. ``omit`` drops generated header fields
    by name; ``override`` replaces their values; ``extra`` adds lines at the end."""

    host: str
    target: str = "/"
    method: str = "GET"
    version: str = "HTTP/1.1"
    key: str = field(default_factory=new_key)
    ws_version: str = "13"
    subprotocols: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()  # Sec-WebSocket-Extensions values, one field line each
    origin: str | None = None
    extra: tuple[tuple[str, str], ...] = ()
    omit: frozenset[str] = frozenset()  # lower-case names
    override: tuple[tuple[str, str], ...] = ()

    def headers(self) -> list[tuple[str, str]]:
        lines: list[tuple[str, str]] = [
            ("Host", self.host),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", self.key),
            ("Sec-WebSocket-Version", self.ws_version),
        ]
        if self.origin is not None:
            lines.append(("Origin", self.origin))
        if self.subprotocols:
            lines.append(("Sec-WebSocket-Protocol", ", ".join(self.subprotocols)))
        lines += [("Sec-WebSocket-Extensions", value) for value in self.extensions]
        overrides = {name.lower(): value for name, value in self.override}
        out = []
        for name, value in lines:
            if name.lower() in self.omit:
                continue
            out.append((name, overrides.pop(name.lower(), value)))
        out += [(name, value) for name, value in self.override if name.lower() in overrides]
        return out + list(self.extra)

    def render(self) -> bytes:
        head = f"{self.method} {self.target} {self.version}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in self.headers())
        return (head + "\r\n").encode("latin-1")

    @property
    def sent_key(self) -> str | None:
        """The key as sent (after overrides), None when it was left out."""
        for name, value in self.headers():
            if name.lower() == "sec-websocket-key":
                return value
        return None

    def offered_extensions(self) -> list[ExtensionOffer]:
        offers: list[ExtensionOffer] = []
        for name, value in self.headers():
            if name.lower() == "sec-websocket-extensions":
                offers += parse_extensions(value)[0]
        return offers

    def offered_deflate(self) -> DeflateParams | None:
        """The first permessage-deflate offer (the one a server should pick), if any."""
        offers = self.offered_deflates()
        return offers[0] if offers else None

    def offered_deflates(self) -> list[DeflateParams]:
        """Every permessage-deflate offer, in order (a server accepts at most one)."""
        return deflate_offers(self.offered_extensions())


def deflate_offers(offers: Sequence[ExtensionOffer]) -> list[DeflateParams]:
    """Every permessage-deflate offer among ``offers``, in order, as parameters."""
    found = []
    for offer in offers:
        if offer.name == EXTENSION:
            params = dict(offer.params)
            cmwb = params.get("client_max_window_bits", "x")
            smwb = params.get("server_max_window_bits")
            found.append(
                DeflateParams(
                    server_no_context_takeover="server_no_context_takeover" in params,
                    client_no_context_takeover="client_no_context_takeover" in params,
                    server_max_window_bits=int(smwb) if smwb and smwb.isdigit() else None,
                    client_max_window_bits=None
                    if cmwb == "x"
                    else (int(cmwb) if cmwb and cmwb.isdigit() else 0),
                )
            )
    return found


@dataclass(frozen=True, kw_only=True)
class HandshakeOutcome:
    """What a server's answer to an opening handshake amounts to."""

    problems: tuple[str, ...]  # every way it departs from RFC 6455 §4.1 / RFC 7692 §7
    subprotocol: str | None = None
    extensions: tuple[ExtensionOffer, ...] = ()
    deflate: DeflateParams | None = None  # permessage-deflate, when negotiated
    accepted_offer: DeflateParams | None = None  # the offer the deflate response fits

    @property
    def ok(self) -> bool:
        return not self.problems


def _tokens(values: Sequence[str]) -> list[str]:
    return [item.strip().lower() for value in values for item in value.split(",") if item.strip()]


def check_response(
    response: http1.Response,
    *,
    key: str | None,
    subprotocols: Sequence[str] = (),
    offered_deflate: DeflateParams | Sequence[DeflateParams] | None = None,
    offered_names: Sequence[str] = (),
) -> HandshakeOutcome:
    """Everything RFC 6455 §4.1 (the client's checks, items 1–6 after "the client MUST
    validate the server's response") asks of a 101 answer."""
    problems: list[str] = []
    if response.status != 101:
        problems.append(f"status {response.status}, not 101 Switching Protocols (§4.1)")
        return HandshakeOutcome(problems=tuple(problems))
    if response.version != "HTTP/1.1":
        problems.append(f"an {response.version} status line; the handshake is HTTP/1.1 (§4.1)")
    upgrade = response.header_values("upgrade")
    if not upgrade:
        problems.append("no Upgrade header field (§4.1, item 2)")
    elif _tokens(upgrade) != ["websocket"]:
        problems.append(f"Upgrade: {', '.join(upgrade)}, not websocket (§4.1, item 2)")
    connection = response.header_values("connection")
    if "upgrade" not in _tokens(connection):
        shown = ", ".join(connection) if connection else "absent"
        problems.append(f"Connection ({shown}) without the upgrade token (§4.1, item 3)")
    accept = response.header_values("sec-websocket-accept")
    expected = accept_value(key) if key is not None else None
    if not accept:
        problems.append("no Sec-WebSocket-Accept header field (§4.1, item 4)")
    elif len(accept) > 1:
        problems.append(f"{len(accept)} Sec-WebSocket-Accept fields (§4.1, item 4)")
    elif expected is not None and accept[0].strip() != expected:
        problems.append(f"Sec-WebSocket-Accept: {accept[0]}, not {expected} (§4.1, item 4)")
    return check_negotiation(
        problems,
        protocol_values=response.header_values("sec-websocket-protocol"),
        extension_values=response.header_values("sec-websocket-extensions"),
        subprotocols=subprotocols,
        offered_deflate=offered_deflate,
        offered_names=offered_names,
    )


def check_negotiation(
    problems: list[str],
    *,
    protocol_values: Sequence[str],
    extension_values: Sequence[str],
    subprotocols: Sequence[str] = (),
    offered_deflate: DeflateParams | Sequence[DeflateParams] | None = None,
    offered_names: Sequence[str] = (),
) -> HandshakeOutcome:
    """The subprotocol and extensions a server's answer chose, checked against the offer
    (RFC 6455 §4.1 items 5 and 6, RFC 7692 §7): the same over HTTP/1.1 and HTTP/2 (RFC 8441
    §5 keeps these fields as RFC 6455 defines them). ``problems``: found before, kept."""
    protocols = _tokens(protocol_values)
    chosen: str | None = None
    if protocols:
        offered = [p.lower() for p in subprotocols]
        if len(protocols) > 1:
            problems.append(f"several subprotocols chosen ({', '.join(protocols)}) (§4.2.2, item 5.4)")
        elif protocols[0] not in offered:
            problems.append(
                f"subprotocol {protocols[0]!r} chosen, which was not offered"
                f" ({', '.join(subprotocols) or 'none were'}) (§4.1, item 6)"
            )
        chosen = protocols[0]
    extensions: list[ExtensionOffer] = []
    deflate: DeflateParams | None = None
    accepted_offer: DeflateParams | None = None
    for value in extension_values:
        parsed, bad = parse_extensions(value)
        problems += [f"Sec-WebSocket-Extensions: {problem} (§9.1)" for problem in bad]
        extensions += parsed
    names = [ext.name for ext in extensions]
    offered_lower = [name.lower() for name in offered_names]
    for ext in extensions:
        if ext.name not in offered_lower:
            problems.append(f"extension {ext.name!r} in use, which was not offered (§4.1, item 5)")
        elif ext.name == EXTENSION and offered_deflate:
            if names.count(EXTENSION) > 1:
                problems.append("permessage-deflate accepted twice (RFC 7692 §5)")
                continue
            # The server may have accepted any of the offers: the response must fit one.
            offers = (
                [offered_deflate] if isinstance(offered_deflate, DeflateParams) else list(offered_deflate)
            )
            first_problems: list[str] = []
            for offer in offers:
                deflate, bad = check_deflate(ext, offer)
                if not bad:
                    accepted_offer = offer
                    break
                first_problems = first_problems or bad
            else:
                problems += [f"permessage-deflate: {problem}" for problem in first_problems]
    return HandshakeOutcome(
        problems=tuple(problems),
        subprotocol=chosen,
        extensions=tuple(extensions),
        deflate=deflate,
        accepted_offer=accepted_offer,
    )


# ---------------------------------------------------------------- the client's request (client mode)


def check_request(method: str, version: str, header_values: Callable[[str], list[str]]) -> tuple[str, ...]:
    """Every way a client's opening handshake departs from RFC 6455 §4.1's "The
    requirements for this handshake" (items 1-9: the client MUST send each), as problems."""
    problems: list[str] = []
    if method != "GET":
        problems.append(f"method {method}, not GET (§4.1, item 2)")
    major, _, minor = version.removeprefix("HTTP/").partition(".")
    if not (major.isdigit() and minor.isdigit() and (int(major), int(minor)) >= (1, 1)):
        problems.append(f"version {version}, not HTTP/1.1 or higher (§4.1, item 2)")
    if len(header_values("host")) != 1:
        problems.append("no single Host header field (§4.1, item 4)")
    upgrade = _tokens(header_values("upgrade"))
    if "websocket" not in upgrade:
        problems.append("no Upgrade header field with the websocket keyword (§4.1, item 5)")
    if "upgrade" not in _tokens(header_values("connection")):
        problems.append("no Connection header field with the Upgrade token (§4.1, item 6)")
    keys = header_values("sec-websocket-key")
    if len(keys) != 1:
        problems.append(f"{len(keys)} Sec-WebSocket-Key header fields, not one (§4.1, item 7)")
    else:
        try:
            nonce = base64.b64decode(keys[0].strip(), validate=True)
        except ValueError:
            nonce = b""
        if len(nonce) != 16:
            problems.append(f"Sec-WebSocket-Key {keys[0]!r} is not 16 bytes, base64-encoded (§4.1, item 7)")
    versions = [v.strip() for v in header_values("sec-websocket-version")]
    if versions != ["13"]:
        problems.append(f"Sec-WebSocket-Version {', '.join(versions) or 'absent'}, not 13 (§4.1, item 9)")
    return tuple(problems)
