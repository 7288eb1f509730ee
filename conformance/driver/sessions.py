"""Protocol sessions: what turns a connection's bytes into decoded events, per protocol."""

from __future__ import annotations

from typing import Protocol as TypingProtocol

from conformance.codecs import http1
from conformance.codecs.common import Event


class Session(TypingProtocol):
    def sent(self, data: bytes) -> None: ...

    def receive(self, data: bytes) -> list[Event]: ...

    def receive_eof(self) -> list[Event]: ...


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


def session_for(protocol: str) -> Session:
    if protocol == "h1":
        return H1Session()
    raise NotImplementedError(f"no session for protocol {protocol!r} yet")
