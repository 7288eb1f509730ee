"""Payloads: what a ``send`` step writes, built from generators at run time.

Each payload renders to bytes given the target's template context, so that
``{authority}`` and friends are filled from the URL of the target being tested.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

from conformance.codecs import http1
from conformance.scenario import samples
from conformance.scenario.templates import TargetContext


class Payload(Protocol):
    def render(self, context: TargetContext) -> bytes: ...

    def describe(self) -> str: ...


#: The size of the pieces large payloads are produced in (see :func:`chunks_of`).
CHUNK = 64 * 1024


def chunks_of(payload: Payload, context: TargetContext) -> Iterator[bytes]:
    """The payload's bytes in pieces, produced as they are written: a payload with a
    ``chunks`` method (a repeat, a concatenation, an HTTP/2 frame) never exists whole."""
    chunks = getattr(payload, "chunks", None)
    if chunks is not None:
        yield from chunks(context)
    else:
        yield payload.render(context)


@dataclass(frozen=True, kw_only=True)
class Text:
    """Text; ``latin-1`` maps each character to one byte, ``utf-8`` encodes it."""

    text: str
    encoding: Literal["latin-1", "utf-8"] = "latin-1"

    def render(self, context: TargetContext) -> bytes:
        return context.fill(self.text).encode(self.encoding)

    def describe(self) -> str:
        return repr(self.text) if len(self.text) <= 60 else repr(self.text[:57]) + "…"


@dataclass(frozen=True, kw_only=True)
class Raw:
    data: bytes

    def render(self, context: TargetContext) -> bytes:
        return self.data

    def describe(self) -> str:
        return f"{len(self.data)} bytes"


@dataclass(frozen=True, kw_only=True)
class Repeat:
    payload: Payload
    count: int

    def render(self, context: TargetContext) -> bytes:
        return self.payload.render(context) * self.count

    def chunks(self, context: TargetContext) -> Iterator[bytes]:
        unit = self.payload.render(context)
        if not unit or not self.count:
            return
        per_chunk = max(1, CHUNK // len(unit))
        left = self.count
        while left:
            n = min(per_chunk, left)
            yield unit * n
            left -= n

    def describe(self) -> str:
        return f"{self.payload.describe()} × {self.count}"


@dataclass(frozen=True, kw_only=True)
class RandomBytes:
    """Deterministic pseudo-random bytes: the same seed gives the same bytes everywhere."""

    size: int
    seed: int = 0

    def render(self, context: TargetContext) -> bytes:
        return random.Random(self.seed).randbytes(self.size)

    def describe(self) -> str:
        return f"{self.size} random bytes (seed {self.seed})"


@dataclass(frozen=True, kw_only=True)
class Sample:
    """A window of a generated corpus of one character (:mod:`conformance.scenario.samples`):
    JSON, prose, markup, a bitmap or a document. Under a ``repeat`` of messages, each
    repetition takes the next window (``context.repetition``), so no two are alike."""

    kind: str
    size: int
    seed: int = 0

    def render(self, context: TargetContext) -> bytes:
        return samples.window(self.kind, self.size, seed=self.seed, index=context.repetition)

    def describe(self) -> str:
        return f"{self.size} bytes of {self.kind} (seed {self.seed})"


@dataclass(frozen=True, kw_only=True)
class Concat:
    parts: tuple[Payload, ...]

    def render(self, context: TargetContext) -> bytes:
        return b"".join(part.render(context) for part in self.parts)

    def chunks(self, context: TargetContext) -> Iterator[bytes]:
        for part in self.parts:
            yield from chunks_of(part, context)

    def describe(self) -> str:
        return " + ".join(part.describe() for part in self.parts)


@dataclass(frozen=True, kw_only=True)
class H1Request:
    """A structured HTTP/1.1 request; every part is written as given, valid or not."""

    method: str = "GET"
    target: str = "{path}"
    version: str = "HTTP/1.1"
    headers: tuple[tuple[str, str], ...] = (("Host", "{authority}"),)
    body: Payload = field(default_factory=lambda: Raw(data=b""))
    content_length: Literal["auto"] | int | None = "auto"

    def render(self, context: TargetContext) -> bytes:
        def fill(text: str) -> bytes:
            return context.fill(text).encode("latin-1")

        return http1.encode_request(
            method=fill(self.method),
            target=fill(self.target),
            version=fill(self.version),
            headers=[(fill(name), fill(value)) for name, value in self.headers],
            body=self.body.render(context),
            content_length=self.content_length,
        )

    def describe(self) -> str:
        return f"{self.method} {self.target} {self.version} request"
