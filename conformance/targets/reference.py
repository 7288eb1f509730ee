"""The bundled reference target: what ``conformance run`` tests when given no target, and
what ``conformance serve`` runs in the foreground."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IListeningPort

from conformance.targets.http1 import HTTP1Factory


@dataclass
class ReferenceTarget:
    urls: dict[str, str]  # suite -> URL
    _ports: list[IListeningPort]
    _factories: list[HTTP1Factory]

    def stop(self) -> defer.Deferred[None]:
        """Stop listening and close every open connection; fires when all are gone."""
        stopping = [defer.maybeDeferred(port.stopListening) for port in self._ports]
        for factory in self._factories:
            for channel in list(factory.channels):
                if channel.transport is not None:
                    channel.transport.abortConnection()
        return defer.gatherResults(stopping, consumeErrors=True).addCallback(lambda _: None)


def start_reference_target(reactor: Any, host: str = "127.0.0.1", port: int = 0) -> ReferenceTarget:
    """Listen on ``host:port`` (0: a free port); raises if the port cannot be had."""
    factory = HTTP1Factory(reactor)
    listening = reactor.listenTCP(port, factory, interface=host)
    address = listening.getHost()
    shown = f"[{address.host}]" if ":" in address.host else address.host
    return ReferenceTarget(
        urls={"h1": f"http://{shown}:{address.port}/"}, _ports=[listening], _factories=[factory]
    )
