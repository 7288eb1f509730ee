"""HTTP/1.1 response patterns: what an ``expect: {response: ...}`` step asks of a response."""

from __future__ import annotations

import re
from dataclasses import dataclass

from conformance.codecs.common import Event, printable
from conformance.codecs.http1 import Garbage, Response
from conformance.verdicts.expectations import EventPattern


@dataclass(frozen=True, kw_only=True)
class StatusSpec:
    """Accepted status codes: exact numbers and classes such as ``4xx``."""

    codes: frozenset[int] = frozenset()
    classes: frozenset[int] = frozenset()  # 4 for "4xx"

    def accepts(self, status: int) -> bool:
        return status in self.codes or status // 100 in self.classes

    @property
    def wants_interim(self) -> bool:
        return 1 in self.classes or any(100 <= code < 200 for code in self.codes)

    def describe(self) -> str:
        names = [str(code) for code in sorted(self.codes)] + [f"{c}xx" for c in sorted(self.classes)]
        return names[0] if len(names) == 1 else " or ".join(names)


@dataclass(frozen=True, kw_only=True)
class HeaderSpec:
    """One header condition: present, absent, equal to, containing a token, matching."""

    name: str
    present: bool | None = None  # True: must be present; False: must be absent
    equals: str | None = None
    contains: str | None = None  # a comma-separated token, case-insensitively
    matches: str | None = None  # a regular expression (search) on the combined value

    def describe(self) -> str:
        if self.present is False:
            return f"no {self.name} field"
        if self.equals is not None:
            return f"{self.name}: {self.equals}"
        if self.contains is not None:
            return f"{self.name} containing {self.contains!r}"
        if self.matches is not None:
            return f"{self.name} matching /{self.matches}/"
        return f"a {self.name} field"

    def check(self, response: Response) -> str | None:
        value = response.header(self.name)
        if self.present is False:
            return None if value is None else f"{self.name}: {value}"
        if value is None:
            return f"no {self.name} field"
        if self.equals is not None and value != self.equals:
            return f"{self.name}: {value}"
        if self.contains is not None:
            tokens = {token.strip().lower() for token in value.split(",")}
            if self.contains.lower() not in tokens:
                return f"{self.name}: {value}"
        if self.matches is not None and not re.search(self.matches, value):
            return f"{self.name}: {value}"
        return None


@dataclass(frozen=True, kw_only=True)
class BodySpec:
    equals: bytes | None = None
    contains: bytes | None = None
    excludes: bytes | None = None  # the body must not contain these bytes
    length: int | None = None

    def describe(self) -> str:
        if self.equals is not None:
            return "an empty body" if not self.equals else f'body "{printable(self.equals, 40)}"'
        if self.contains is not None:
            return f'a body containing "{printable(self.contains, 40)}"'
        if self.excludes is not None:
            return f'a body without "{printable(self.excludes, 40)}"'
        return f"a {self.length}-byte body"

    def check(self, response: Response) -> str | None:
        if self.length is not None and response.body_length != self.length:
            return f"a {response.body_length}-byte body"
        if self.equals is not None and (
            response.body != self.equals or response.body_length != len(self.equals)
        ):
            if not response.body_length:
                return "an empty body"
            return f'body "{printable(response.body, 40)}" ({response.body_length} bytes)'
        if self.contains is not None and self.contains not in response.body:
            return f'body "{printable(response.body, 40)}" ({response.body_length} bytes)'
        if self.excludes is not None and self.excludes in response.body:
            start = max(0, response.body.find(self.excludes) - 20)
            context = printable(response.body[start:], 60)
            return f'a body containing "{printable(self.excludes, 40)}" (…{context})'
        return None

    def check_bytes(self, data: bytes) -> str | None:
        """The same conditions on a body known whole (an echoed request body)."""
        if self.length is not None and len(data) != self.length:
            return f"a {len(data)}-byte body"
        wrong = self.equals is not None and data != self.equals
        if wrong or (self.contains is not None and self.contains not in data):
            return f'body "{printable(data, 40)}" ({len(data)} bytes)' if data else "an empty body"
        return None


@dataclass(frozen=True, kw_only=True)
class ResponsePattern(EventPattern):
    """The next (final, unless a 1xx is asked for) HTTP/1.1 response matches."""

    status: StatusSpec | None = None
    version: str | None = None
    reason: str | None = None
    headers: tuple[HeaderSpec, ...] = ()
    body: BodySpec | None = None
    forbid_violations: bool = False  # ``violations: none``
    require_violations: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = []
        parts.append(f"status {self.status.describe()}" if self.status else "any status")
        if self.version:
            parts.append(f"version {self.version}")
        if self.reason is not None:
            parts.append(f"reason {self.reason!r}")
        parts.extend(spec.describe() for spec in self.headers)
        if self.body:
            parts.append(self.body.describe())
        if self.forbid_violations:
            parts.append("correct RFC 9112 framing")
        if self.require_violations:
            parts.append("violations " + ", ".join(self.require_violations))
        return "a response with " + ", ".join(parts)

    def skips(self, event: Event) -> bool:
        if not isinstance(event, Response) or not event.is_interim:
            return False
        return not (self.status and self.status.wants_interim)

    def check(self, event: Event) -> str | None:
        if not isinstance(event, Response):
            return event.describe()
        problems = []
        if self.status and (event.status is None or not self.status.accepts(event.status)):
            problems.append(f"status {event.status if event.status is not None else 'unreadable'}")
        if self.version is not None and event.version != self.version:
            problems.append(f"version {event.version}")
        if self.reason is not None and event.reason != self.reason:
            problems.append(f"reason {event.reason!r}")
        for spec in self.headers:
            problem = spec.check(event)
            if problem:
                problems.append(problem)
        if self.body:
            problem = self.body.check(event)
            if problem:
                problems.append(problem)
        codes = {violation.code for violation in event.violations}
        if self.forbid_violations and codes:
            problems.append("framing violations: " + ", ".join(sorted(codes)))
        missing = [code for code in self.require_violations if code not in codes]
        if missing:
            problems.append("no " + ", ".join(missing))
        if not event.complete and not self.forbid_violations and not problems:
            # An incomplete message still decides what it shows, but say so.
            return None
        if problems:
            return f"{event.describe()} — " + "; ".join(problems)
        return None


@dataclass(frozen=True, kw_only=True)
class Http2PrefacePattern(EventPattern):
    """The target answered in HTTP/2: what it sent where a response had to start is a SETTINGS
    frame on stream 0, the server connection preface (RFC 9113 §3.4: "The server connection
    preface consists of a potentially empty SETTINGS frame ... that MUST be the first frame
    the server sends in the HTTP/2 connection"). A server that serves HTTP/2 by prior
    knowledge on the same port as HTTP/1.1 (RFC 9113 §3.3) answers the preface this way."""

    def describe(self) -> str:
        return "an HTTP/2 server connection preface (a SETTINGS frame)"

    def check(self, event: Event) -> str | None:
        if isinstance(event, Garbage) and _is_settings_frame(event.data):
            return None
        return event.describe()


def _is_settings_frame(data: bytes) -> bool:
    # 9 octets of frame header: length (24 bits, a multiple of 6 for SETTINGS), type 0x4,
    # flags (no ACK in the preface), and a reserved bit plus stream id 0.
    if len(data) < 9 or data[3] != 0x4 or data[4] & 0x1:
        return False
    length = int.from_bytes(data[0:3], "big")
    return length % 6 == 0 and int.from_bytes(data[5:9], "big") & 0x7FFFFFFF == 0
