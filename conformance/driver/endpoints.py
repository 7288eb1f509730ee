"""Opening connections: TCP, or TLS with ALPN via pyOpenSSL, composed as Twisted endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from OpenSSL import SSL
from twisted.internet import ssl
from twisted.internet.endpoints import (
    HostnameEndpoint,
    TCP4ClientEndpoint,
    TCP6ClientEndpoint,
    connectProtocol,
    wrapClientTLS,
)
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator, IStreamClientEndpoint
from twisted.internet.protocol import Protocol
from zope.interface import implementer

from conformance.target import Target


@dataclass(frozen=True, kw_only=True)
class TLSSettings:
    insecure: bool = False  # do not verify the certificate (test certificates)
    ca_file: Path | None = None  # trust this CA bundle instead of the system's


@implementer(IOpenSSLClientConnectionCreator)
class _UnverifiedTLS:
    """TLS that checks nothing about the server's certificate (``--insecure``)."""

    def __init__(self, hostname: str, alpn: tuple[str, ...]) -> None:
        options = ssl.CertificateOptions(
            verify=False, acceptableProtocols=[p.encode("ascii") for p in alpn] or None
        )
        self._context = options.getContext()
        self._hostname = hostname

    def clientConnectionForTLS(self, tlsProtocol: object) -> SSL.Connection:  # noqa: N802, N803
        connection = SSL.Connection(self._context, None)
        connection.set_app_data(tlsProtocol)
        if not _is_ip(self._hostname):
            connection.set_tlsext_host_name(self._hostname.encode("idna"))
        connection.set_connect_state()
        return connection


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def endpoint_for(
    reactor: object,
    target: Target,
    *,
    tls: bool,
    alpn: tuple[str, ...],
    settings: TLSSettings,
    timeout: float,
) -> IStreamClientEndpoint:
    if _is_ip(target.host):
        # Connect to exactly the address given (no resolution, no happy-eyeballs racing).
        cls = TCP6ClientEndpoint if ":" in target.host else TCP4ClientEndpoint
        endpoint: IStreamClientEndpoint = cls(reactor, target.host, target.port, timeout=timeout)
    else:
        endpoint = HostnameEndpoint(reactor, target.host.encode("idna"), target.port, timeout=timeout)
    if not tls:
        return endpoint
    if settings.insecure:
        creator: object = _UnverifiedTLS(target.host, alpn)
    else:
        trust = None
        if settings.ca_file is not None:
            trust = ssl.Certificate.loadPEM(settings.ca_file.read_bytes())
        creator = ssl.optionsForClientTLS(
            target.host,
            trustRoot=trust if trust is not None else ssl.platformTrust(),
            acceptableProtocols=[p.encode("ascii") for p in alpn] or None,
        )
    return wrapClientTLS(creator, endpoint)


async def connect(endpoint: IStreamClientEndpoint, protocol: Protocol) -> Protocol:
    return await connectProtocol(endpoint, protocol)
