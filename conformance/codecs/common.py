"""Events and findings shared by every protocol's codec."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class Event(Protocol):
    """Something observed on a connection. Every event can describe itself in one line."""

    def describe(self) -> str: ...

    def detail(self) -> dict[str, Any]: ...


@dataclass(frozen=True, kw_only=True)
class Violation:
    """A rule of the protocol that the peer's output broke.

    ``code`` is a stable kebab-case identifier that cases can require or forbid
    (``cl-and-te``); ``message`` explains it to a server author, citing the RFC section.
    """

    code: str
    message: str

    def describe(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True, kw_only=True)
class ConnectionClosed:
    """The target closed the connection (``reset`` when it was an RST / abortive close)."""

    reset: bool = False
    reason: str = ""

    def describe(self) -> str:
        how = "reset" if self.reset else "closed"
        return f"connection {how} by the target" + (f" ({self.reason})" if self.reason else "")

    def detail(self) -> dict[str, Any]:
        return {"type": "closed", "reset": self.reset, "reason": self.reason}


def printable(data: bytes, limit: int = 80) -> str:
    """Bytes as an escaped one-line string, cut to ``limit`` characters, for descriptions."""
    text = data.decode("latin-1").encode("unicode_escape").decode("ascii")
    text = text.replace('"', '\\"')
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text
