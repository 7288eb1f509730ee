"""The bundled reference target: what ``conformance run`` tests when given no target, and
what ``conformance serve`` runs in the foreground.

It serves HTTP/1.1 on one port, HTTP/2 by prior knowledge (h2c) on a second, and TLS on a
third (a self-signed certificate made at start), where ALPN chooses HTTP/2 (``h2``) or
HTTP/1.1. It listens at
once (synchronously), so a port in use is an ordinary exception
(:class:`twisted.internet.error.CannotListenError`) at the call, and
:meth:`ReferenceTarget.stop` closes the listening ports and every open connection.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer, protocol
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.python.failure import Failure
from zope.interface import implementer

from conformance.targets.http1 import HTTP1Factory
from conformance.targets.http2 import H2Factory, SelfSigned, make_self_signed, self_signed_tls_options
from conformance.targets.ws import WsEchoFactory


class ReferenceTarget:
    """A running reference target.

    ``urls`` are the targets ``conformance run`` judges, by name (``{"h1":
    "http://127.0.0.1:PORT/", "h2": "h2c://127.0.0.1:PORT/", ...}``), each running the
    suites its scheme runs unless ``suites`` says otherwise (``ws-h2``: the WebSocket suite
    over HTTP/2, RFC 8441, on the h2c port); ``tls_urls`` the same over TLS, whose
    certificate (``certificate.certificate_pem``) is self-signed."""

    def __init__(
        self,
        *,
        urls: dict[str, str],
        ports: list[Any],
        factories: list[Any],
        tls_urls: dict[str, str] | None = None,
        certificate: SelfSigned | None = None,
        suites: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.urls = urls
        self.suites = suites or {}
        self.tls_urls = tls_urls or {}
        self.certificate = certificate
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


def _url(scheme: str, listening: Any) -> str:
    address = listening.getHost()
    shown = f"[{address.host}]" if ":" in address.host else address.host
    return f"{scheme}://{shown}:{address.port}/"


def start_reference_target(
    reactor: Any, host: str = "127.0.0.1", port: int = 0, h2_port: int = 0, h2_tls_port: int = 0
) -> ReferenceTarget:
    """Listen on ``host`` (port 0: a free port) and return the running target; raises
    (CannotListenError) when an address cannot be had, after closing what it opened."""
    ports: list[Any] = []
    try:
        h1 = HTTP1Factory(reactor)
        ports.append(reactor.listenTCP(port, h1, interface=host))
        h2c = H2Factory(reactor, upgrades=True)
        ports.append(reactor.listenTCP(h2_port, h2c, interface=host))
        certificate = make_self_signed()
        h1tls, h2tls = HTTP1Factory(reactor), H2Factory(reactor)
        by_alpn = _ALPNFactory(h1tls, h2tls)
        options = self_signed_tls_options(certificate)
        ports.append(reactor.listenSSL(h2_tls_port, by_alpn, options, interface=host))
        # The WebSocket echo endpoint listens on a port of its own (a free one).
        ws = WsEchoFactory()
        ports.append(reactor.listenTCP(0, ws, interface=host))
    except Exception:
        for listening in ports:
            listening.stopListening()
        raise
    return ReferenceTarget(
        urls={
            "h1": _url("http", ports[0]),
            "h2": _url("h2c", ports[1]),
            "ws": _url("ws", ports[3]),
            "ws-h2": _url("h2c", ports[1]),
        },
        tls_urls={
            "h1": _url("https", ports[2]),
            "h2": _url("https", ports[2]),
            "ws-h2": _url("https", ports[2]),
        },
        suites={"ws-h2": ("ws",)},
        ports=ports,
        factories=[h1, h2c, by_alpn, h1tls, h2tls, ws],
        certificate=certificate,
    )


@implementer(IHalfCloseableProtocol)
class _ByALPN(protocol.Protocol):
    """A TLS connection handed, on its first bytes, to the HTTP/2 or the HTTP/1.1 server, as
    ALPN chose (https://www.rfc-editor.org/rfc/rfc9113#section-3.2: "h2" is HTTP/2 over
    TLS; a client that offers only "http/1.1", or no ALPN, gets HTTP/1.1)."""

    def __init__(self, factory: _ALPNFactory) -> None:
        self.factory = factory
        self.inner: Any = None

    def connectionMade(self) -> None:  # noqa: N802 - Twisted's name
        self.factory.undecided.add(self)

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        if self.inner is None:
            self.factory.undecided.discard(self)
            chosen = getattr(self.transport, "negotiatedProtocol", None)
            by = self.factory.h2 if chosen == b"h2" else self.factory.h1
            self.inner = by.buildProtocol(self.transport.getPeer())
            self.inner.makeConnection(self.transport)
        self.inner.dataReceived(data)

    def readConnectionLost(self) -> None:  # noqa: N802
        if self.inner is None:
            self.transport.loseConnection()
        elif IHalfCloseableProtocol.providedBy(self.inner):
            self.inner.readConnectionLost()
        else:
            self.inner.connectionLost(None)

    def writeConnectionLost(self) -> None:  # noqa: N802
        if self.inner is not None and IHalfCloseableProtocol.providedBy(self.inner):
            self.inner.writeConnectionLost()

    def connectionLost(self, reason: Failure | None = None) -> None:  # noqa: N802
        self.factory.undecided.discard(self)
        if self.inner is not None:
            self.inner.connectionLost(reason)


class _ALPNFactory(protocol.Factory):
    def __init__(self, h1: HTTP1Factory, h2: H2Factory) -> None:
        self.h1 = h1
        self.h2 = h2
        self.undecided: set[_ByALPN] = set()

    def buildProtocol(self, addr: Any) -> _ByALPN:  # noqa: N802
        return _ByALPN(self)

    def close_all(self) -> defer.Deferred[None]:
        """Close the connections not yet handed over (the servers close the others)."""
        for connection in list(self.undecided):
            if connection.transport is not None:
                connection.transport.abortConnection()
        return defer.succeed(None)
