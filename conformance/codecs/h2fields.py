"""HTTP/2 field sections (RFC 9113 §8.2, §8.3): decoded header blocks and their validation.

A :class:`HeaderBlock` is one whole field block the server sent (a HEADERS or PUSH_PROMISE
frame and its CONTINUATION frames), decoded with HPACK, with the rules of RFC 9113 it
breaks as violations: uppercase names (§8.2.1), connection-specific fields (§8.2.2),
pseudo-header rules (§8.3), a response without ``:status`` (§8.3.2).

Sections below are of https://www.rfc-editor.org/rfc/rfc9113.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from conformance.codecs.common import Violation, printable

#: §8.2.2: fields that are specific to a connection and MUST NOT appear in HTTP/2.
CONNECTION_SPECIFIC = frozenset(
    {b"connection", b"proxy-connection", b"keep-alive", b"transfer-encoding", b"upgrade"}
)
REQUEST_PSEUDO = frozenset({b":method", b":scheme", b":authority", b":path", b":protocol"})
RESPONSE_PSEUDO = frozenset({b":status"})
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9a-z]+")


def _v(code: str, message: str) -> Violation:
    return Violation(code=code, message=message)


def field_violations(
    fields: Sequence[tuple[bytes, bytes]], *, pseudo: frozenset[bytes], trailers: bool
) -> list[Violation]:
    """What the field section breaks of §8.2 and §8.3 (``pseudo``: the pseudo-header
    fields allowed here; ``trailers``: no pseudo-header field is allowed)."""
    found: list[Violation] = []
    seen_regular = False
    seen_pseudo: set[bytes] = set()
    for name, value in fields:
        shown = printable(name, 40)
        if name.startswith(b":"):
            if trailers:
                found.append(
                    _v("h2-pseudo-in-trailers", f"pseudo-header field {shown} in a trailer section (§8.1)")
                )
            elif name not in pseudo:
                found.append(
                    _v("h2-bad-pseudo-header", f"pseudo-header field {shown} is not defined here (§8.3)")
                )
            if seen_regular:
                found.append(
                    _v("h2-pseudo-after-regular", f"pseudo-header field {shown} after a regular field (§8.3)")
                )
            if name in seen_pseudo:
                found.append(_v("h2-duplicate-pseudo-header", f"pseudo-header field {shown} twice (§8.3)"))
            seen_pseudo.add(name)
            continue
        seen_regular = True
        if name != name.lower():
            found.append(
                _v("h2-uppercase-field-name", f"field name {shown} has uppercase characters (§8.2.1)")
            )
        elif not _TOKEN.fullmatch(name):
            found.append(_v("h2-invalid-field-name", f"field name {shown} is not a token (§8.2.1)"))
        if name in CONNECTION_SPECIFIC:
            found.append(_v("h2-connection-specific-field", f"connection-specific field {shown} (§8.2.2)"))
        if name == b"te" and value.strip().lower() != b"trailers":
            found.append(_v("h2-connection-specific-field", 'a TE field other than "trailers" (§8.2.2)'))
        if any(c in value for c in b"\x00\r\n"):
            found.append(
                _v("h2-invalid-field-value", f"the value of {shown} contains NUL, CR or LF (§8.2.1)")
            )
        elif value[:1] in (b" ", b"\t") or value[-1:] in (b" ", b"\t"):
            found.append(
                _v(
                    "h2-invalid-field-value",
                    f"the value of {shown} has leading or trailing whitespace (§8.2.1)",
                )
            )
    return found


def response_violations(fields: Sequence[tuple[bytes, bytes]], *, trailers: bool = False) -> list[Violation]:
    found = field_violations(fields, pseudo=RESPONSE_PSEUDO, trailers=trailers)
    if trailers:
        return found
    statuses = [value for name, value in fields if name == b":status"]
    if not statuses:
        found.append(_v("h2-missing-status", "a response without :status (§8.3.2)"))
    elif not re.fullmatch(rb"[1-9][0-9][0-9]", statuses[0]):
        found.append(
            _v("h2-bad-status", f":status {printable(statuses[0], 20)} is not a three-digit code (§8.3.2)")
        )
    return found


def request_violations(fields: Sequence[tuple[bytes, bytes]]) -> list[Violation]:
    """For the requests a server promises (PUSH_PROMISE, §8.4)."""
    found = field_violations(fields, pseudo=REQUEST_PSEUDO, trailers=False)
    names = {name for name, _ in fields}
    for required in (b":method", b":scheme", b":path"):
        if required not in names:
            found.append(
                _v("h2-missing-pseudo-header", f"a promised request without {required.decode()} (§8.3.1)")
            )
    return found


@dataclass(frozen=True, kw_only=True)
class HeaderBlock:
    """A whole field block from the server, decoded (``error``: why HPACK decoding failed)."""

    stream_id: int
    frame: str = "HEADERS"  # HEADERS or PUSH_PROMISE
    fields: tuple[tuple[bytes, bytes], ...] = ()
    end_stream: bool = False
    promised_stream_id: int = 0
    error: str | None = None
    violations: tuple[Violation, ...] = ()

    def get(self, name: str) -> str | None:
        """The values of ``name`` (case-insensitive), comma-joined; None when absent."""
        wanted = name.lower().encode("latin-1")
        values = [value.decode("latin-1") for key, value in self.fields if key.lower() == wanted]
        return ", ".join(values) if values else None

    @property
    def status(self) -> int | None:
        value = self.get(":status")
        return int(value) if value is not None and value.isdigit() else None

    def describe(self) -> str:
        where = f"{self.frame} on stream {self.stream_id}"
        if self.frame == "PUSH_PROMISE":
            where += f" promising stream {self.promised_stream_id}"
        if self.end_stream:
            where += " (END_STREAM)"
        if self.error is not None:
            return f"{where}: undecodable header block ({self.error})"
        shown = ", ".join(f"{printable(n, 30)}: {printable(v, 40)}" for n, v in self.fields[:6])
        if len(self.fields) > 6:
            shown += f", … ({len(self.fields)} fields)"
        return f"{where}: {shown or 'no fields'}"

    def detail(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "h2-header-block",
            "frame": self.frame,
            "stream": self.stream_id,
            "end_stream": self.end_stream,
            "fields": [[printable(n, 200), printable(v, 1000)] for n, v in self.fields],
        }
        if self.error is not None:
            out["error"] = self.error
        if self.violations:
            out["violations"] = [v.describe() for v in self.violations]
        return out
