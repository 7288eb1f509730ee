"""The echo contract: what a target's echo endpoint says it parsed, and patterns over it.

A target may expose an endpoint (``--echo-path /echo``) that answers every request with a
2xx response whose body is a JSON object describing the request as the server parsed it::

    {"method": "POST", "target": "/echo?x=1", "version": "HTTP/1.1",
     "authority": "127.0.0.1:8080",
     "headers": [["Host", "127.0.0.1:8080"], ["Content-Length", "5"]],
     "body": "hello"}

Every string holds octets, one character per octet (U+0000 to U+00FF: what Python's
``bytes.decode("latin-1")`` gives); ``"body_base64"`` may replace ``"body"``. Cases that need
to see what the server made of a request (normalisation, smuggling) match these documents
with an ``echo`` expectation. Pure functions, no I/O.
"""

from __future__ import annotations

import abc
import base64
import binascii
import json
import re
from dataclasses import dataclass

from conformance.codecs.common import Event, printable
from conformance.codecs.http1 import Response
from conformance.verdicts.expectations import EventPattern
from conformance.verdicts.http1 import BodySpec

_TEXT_KEYS = ("method", "target", "version", "authority")


@dataclass(frozen=True, kw_only=True)
class EchoDocument:
    """One echo of a parsed request."""

    method: str
    target: str
    version: str
    authority: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def values(self, name: str) -> list[str]:
        """The values of every header line called ``name`` (case-insensitively), in order."""
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    def describe(self) -> str:
        def shown(text: str, limit: int) -> str:
            return printable(text.encode("latin-1"), limit)

        fields = ", ".join(f"{name}: {shown(value, 40)}" for name, value in self.headers)
        return (
            f"{shown(self.method, 20)} {shown(self.target, 60)} {shown(self.version, 12)} "
            f"for {shown(self.authority, 40)} [{fields}] with a {len(self.body)}-byte body"
        )


def _octets(value: object, key: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{key!r} is not a string")
    if any(ord(char) > 0xFF for char in value):
        raise ValueError(f"{key!r} has a character above U+00FF (one character per octet)")
    return value


def parse_echo(data: bytes) -> EchoDocument | str:
    """The echo document in a response body, or why the body is not one."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return f"not JSON ({exc})"
    if not isinstance(raw, dict):
        return "not a JSON object"
    try:
        missing = [key for key in (*_TEXT_KEYS, "headers") if key not in raw]
        if "body" not in raw and "body_base64" not in raw:
            missing.append("body")
        if missing:
            return "no " + ", ".join(repr(key) for key in missing)
        texts = {key: _octets(raw[key], key) for key in _TEXT_KEYS}
        headers = raw["headers"]
        if not isinstance(headers, list) or not all(
            isinstance(pair, list) and len(pair) == 2 for pair in headers
        ):
            return "'headers' is not a list of [name, value] pairs"
        pairs = tuple((_octets(name, "headers"), _octets(value, "headers")) for name, value in headers)
        if "body" in raw:
            body = _octets(raw["body"], "body").encode("latin-1")
        else:
            encoded = raw["body_base64"]
            if not isinstance(encoded, str):
                return "'body_base64' is not a string"
            body = base64.b64decode(encoded, validate=True)
    except ValueError as exc:  # binascii.Error is a ValueError
        return str(exc) if not isinstance(exc, binascii.Error) else f"'body_base64' is not base64 ({exc})"
    return EchoDocument(headers=pairs, body=body, **texts)


# -- conditions on what the server parsed


def _normal(value: str) -> str:
    """Whitespace around the commas of a combined list value is not significant (RFC 9110 §5.3)."""
    return re.sub(r"[ \t]*,[ \t]*", ", ", value.strip(" \t"))


class Condition(abc.ABC):
    """A condition on the values of one header field (or one scalar of the document)."""

    @abc.abstractmethod
    def holds(self, values: list[str]) -> bool:
        """``values``: every line's value, in order; empty when the field is absent."""

    @abc.abstractmethod
    def describe(self, name: str) -> str: ...


@dataclass(frozen=True)
class Present(Condition):
    present: bool

    def holds(self, values: list[str]) -> bool:
        return bool(values) == self.present

    def describe(self, name: str) -> str:
        return f"a {name} field" if self.present else f"no {name} field"


@dataclass(frozen=True)
class Equals(Condition):
    """The combined value (lines joined with commas) is exactly ``text``."""

    text: str

    def holds(self, values: list[str]) -> bool:
        return bool(values) and _normal(", ".join(values)) == _normal(self.text)

    def describe(self, name: str) -> str:
        return f'{name} "{printable(self.text.encode("latin-1"), 40)}"'


@dataclass(frozen=True)
class Contains(Condition):
    """One of the comma-separated members is ``token``, case-insensitively."""

    token: str

    def holds(self, values: list[str]) -> bool:
        members = {m.strip(" \t").lower() for value in values for m in value.split(",")}
        return self.token.lower() in members

    def describe(self, name: str) -> str:
        return f"{name} containing {self.token!r}"


@dataclass(frozen=True)
class Matches(Condition):
    """A regular expression matches (search) the combined value."""

    pattern: str

    def holds(self, values: list[str]) -> bool:
        return bool(values) and re.search(self.pattern, ", ".join(values)) is not None

    def describe(self, name: str) -> str:
        return f"{name} matching /{self.pattern}/"


@dataclass(frozen=True)
class Not(Condition):
    inner: Condition

    def holds(self, values: list[str]) -> bool:
        return not self.inner.holds(values)

    def describe(self, name: str) -> str:
        inner = self.inner
        if isinstance(inner, Matches):
            return f"{name} not matching /{inner.pattern}/"
        if isinstance(inner, Contains):
            return f"{name} without {inner.token!r}"
        if isinstance(inner, Present):
            return Present(present=not inner.present).describe(name)
        return f"not {inner.describe(name)}"


@dataclass(frozen=True)
class AnyOf(Condition):
    options: tuple[Condition, ...]

    def holds(self, values: list[str]) -> bool:
        return any(option.holds(values) for option in self.options)

    def describe(self, name: str) -> str:
        return " or ".join(option.describe(name) for option in self.options)


def _shown(name: str, values: list[str]) -> str:
    if not values:
        return f"no {name}"
    return f'{name} "{printable(", ".join(values).encode("latin-1"), 60)}"'


@dataclass(frozen=True, kw_only=True)
class EchoPattern(EventPattern):
    """The next final response is an echo document whose parsed request matches."""

    fields: tuple[tuple[str, Condition], ...] = ()  # method, target, version, authority
    headers: tuple[tuple[str, Condition], ...] = ()
    body: BodySpec | None = None

    def describe(self) -> str:
        parts = [condition.describe(name) for name, condition in (*self.fields, *self.headers)]
        if self.body is not None:
            parts.append(self.body.describe())
        shown = ", ".join(parts) if parts else "anything"
        return f"an echo of the request as the server parsed it, showing {shown}"

    def skips(self, event: Event) -> bool:
        return isinstance(event, Response) and event.is_interim

    def check(self, event: Event) -> str | None:
        if not isinstance(event, Response):
            return event.describe()
        if event.status is None or not 200 <= event.status < 300:
            return f"{event.describe()} — not an echo of the request"
        if event.body_length != len(event.body) or not event.complete:
            return f"{event.describe()} — the echo document is incomplete"
        document = parse_echo(event.body)
        if isinstance(document, str):
            return f"{event.describe()} — the body is not an echo document: {document}"
        problems = []
        for name, condition in self.fields:
            value = getattr(document, name)
            if not condition.holds([value]):
                problems.append(_shown(name, [value]))
        for name, condition in self.headers:
            values = document.values(name)
            if not condition.holds(values):
                problems.append(_shown(name, values))
        if self.body is not None:
            problem = self.body.check_bytes(document.body)
            if problem:
                problems.append(problem)
        if problems:
            return f"the server parsed {document.describe()} — " + "; ".join(problems)
        return None
