"""The bundled reference target: what ``conformance run`` tests when given no target, and
what ``conformance serve`` runs in the foreground.

It serves HTTP/1.1 on one port, HTTP/2 by prior knowledge (h2c) on a second, and HTTP/2
over TLS (ALPN ``h2``, a self-signed certificate made at start) on a third. It listens at
once (synchronously), so a port in use is an ordinary exception
(:class:`twisted.internet.error.CannotListenError`) at the call, and
:meth:`ReferenceTarget.stop` closes the listening ports and every open connection.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer

from conformance.targets.http1 import HTTP1Factory
from conformance.targets.http2 import H2Factory, SelfSigned, make_self_signed, self_signed_tls_options


class ReferenceTarget:
    """A running reference target.

    ``urls`` are the targets ``conformance run`` judges, by suite (``{"h1":
    "http://127.0.0.1:PORT/", "h2": "h2c://127.0.0.1:PORT/"}``); ``tls_urls`` the same
    suites over TLS, whose certificate (``certificate.certificate_pem``) is self-signed."""

    def __init__(
        self,
        *,
        urls: dict[str, str],
        ports: list[Any],
        factories: list[Any],
        tls_urls: dict[str, str] | None = None,
        certificate: SelfSigned | None = None,
    ) -> None:
        self.urls = urls
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
        h2c = H2Factory(reactor)
        ports.append(reactor.listenTCP(h2_port, h2c, interface=host))
        certificate = make_self_signed()
        h2tls = H2Factory(reactor)
        options = self_signed_tls_options(certificate)
        ports.append(reactor.listenSSL(h2_tls_port, h2tls, options, interface=host))
    except Exception:
        for listening in ports:
            listening.stopListening()
        raise
    return ReferenceTarget(
        urls={"h1": _url("http", ports[0]), "h2": _url("h2c", ports[1])},
        tls_urls={"h2": _url("https", ports[2])},
        ports=ports,
        factories=[h1, h2c, h2tls],
        certificate=certificate,
    )
