"""Protocol sessions: what turns a connection's bytes into decoded events, per protocol.

A session is the per-connection state of a protocol: it decodes what the target sends into
events, learns from what we send (which requests were HEAD; the HPACK table), renders
``send`` payloads that need that state, and may queue bytes to write back on its own (a
SETTINGS acknowledgement) through :meth:`Session.outgoing`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol as TypingProtocol

from conformance.codecs import http1
from conformance.codecs.common import Event
from conformance.scenario.payloads import Payload
from conformance.scenario.templates import TargetContext


@dataclass(frozen=True)
class Pause:
    """A pause among the chunks a session renders: write nothing more until ``ready()`` (the
    target opened a flow-control window, say), within the step deadline."""

    ready: Callable[[], bool]
    waiting_for: str  # what the pause waits for, in words

    def describe(self) -> str:
        return f"waiting for {self.waiting_for}"


class Session(TypingProtocol):
    def sent(self, data: bytes) -> None: ...

    def receive(self, data: bytes) -> list[Event]: ...

    def receive_eof(self) -> list[Event]: ...

    def outgoing(self) -> bytes:
        """Bytes the session writes on its own after what it last received (often none)."""
        ...

    def render(self, payload: Payload, context: TargetContext) -> bytes:
        """The bytes of a ``send`` payload on this connection."""
        ...


class H1Session:
    """HTTP/1.1: responses are framed knowing which requests were HEAD."""

    def __init__(self, *, body_cap: int = 64 * 1024) -> None:
        self.parser = http1.ResponseParser(body_cap=body_cap)
        self.tracker = http1.RequestTracker()

    def sent(self, data: bytes) -> None:
        for method in self.tracker.feed(data):
            self.parser.expect_response_to(method)

    def receive(self, data: bytes) -> list[Event]:
        return list(self.parser.feed(data))

    def receive_eof(self) -> list[Event]:
        return list(self.parser.feed_eof())

    def outgoing(self) -> bytes:
        return b""

    def render(self, payload: Payload, context: TargetContext) -> bytes:
        return payload.render(context)


#: protocol -> a new session for a connection of that protocol's cases.
SESSIONS: dict[str, Callable[[], Session]] = {"h1": H1Session}
#: protocol -> a new session for a connection the harness accepted as the server (client mode).
SERVER_SESSIONS: dict[str, Callable[[], Session]] = {}


def session_for(protocol: str) -> Session:
    try:
        factory = SESSIONS[protocol]
    except KeyError:
        raise NotImplementedError(f"no session for protocol {protocol!r} yet") from None
    return factory()
