"""The bundled reference target: what ``conformance run`` tests when given no target, and
what ``conformance serve`` runs in the foreground.

It listens at once (synchronously), so a port in use is an ordinary exception
(:class:`twisted.internet.error.CannotListenError`) at the call, and :meth:`ReferenceTarget.stop`
closes the listening port and every open connection.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer

from conformance.targets.http1 import HTTP1Factory
from conformance.targets.ws import WsEchoFactory


class ReferenceTarget:
    """A running reference target: its URLs by suite (``{"h1": "http://127.0.0.1:PORT/"}``)."""

    def __init__(
        self, *, urls: dict[str, str], ports: list[Any], factories: list[HTTP1Factory | WsEchoFactory]
    ) -> None:
        self.urls = urls
        self._ports = ports
        self._factories = factories

    def stop(self) -> defer.Deferred[None]:
        """Stop listening and close every open connection; fires when all are gone."""
        stopping: list[defer.Deferred[Any]] = []
        for port in self._ports:
            stopped = port.stopListening()
            if stopped is not None:
                stopping.append(stopped)
        stopping += [factory.close_all() for factory in self._factories]
        return defer.gatherResults(stopping, consumeErrors=True).addCallback(lambda _: None)


def start_reference_target(reactor: Any, host: str = "127.0.0.1", port: int = 0) -> ReferenceTarget:
    """Listen on ``host:port`` (port 0: a free port) and return the running target; raises
    (CannotListenError) when the address cannot be had."""
    factory = HTTP1Factory(reactor)
    listening = reactor.listenTCP(port, factory, interface=host)
    address = listening.getHost()
    shown = f"[{address.host}]" if ":" in address.host else address.host
    urls = {"h1": f"http://{shown}:{address.port}/"}
    # The WebSocket echo endpoint listens on a port of its own (the next free one).
    ws_factory = WsEchoFactory()
    ws_listening = reactor.listenTCP(0, ws_factory, interface=host)
    urls["ws"] = f"ws://{shown}:{ws_listening.getHost().port}/"
    return ReferenceTarget(urls=urls, ports=[listening, ws_listening], factories=[factory, ws_factory])
