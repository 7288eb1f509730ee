"""Opening connections: TCP, or TLS with ALPN via pyOpenSSL, composed as Twisted endpoints."""

from __future__ import annotations

from dataclasses import dataclass, field
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


#: ALPN the listening side offers per client suite (client mode with --tls): HTTP/2 over TLS
#: is "h2" (RFC 9113 §3.2); HTTP/1.1, and WebSocket's opening handshake, are "http/1.1".
LISTENER_ALPN = {"h1": ("http/1.1",), "h2": ("h2",), "ws": ("http/1.1",)}


@dataclass(frozen=True)
class ListenerTLS:
    """TLS of the harness as a server (``conformance client --tls``): a CA made for the run,
    a certificate it issued for 127.0.0.1, ::1 and localhost, and the CA's PEM file, which
    the client is handed as ``{ca}``."""

    ca_file: Path
    certificate_pem: bytes
    key_pem: bytes
    _options: dict[str, ssl.CertificateOptions] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def create(cls, directory: Path) -> ListenerTLS:
        """A new CA and certificate; the CA's file is written into ``directory``."""
        import trustme

        ca = trustme.CA(organization_name="conformance client mode")
        issued = ca.issue_cert("127.0.0.1", "::1", "localhost")
        ca_file = directory / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        return cls(
            ca_file=ca_file,
            certificate_pem=b"".join(blob.bytes() for blob in issued.cert_chain_pems),
            key_pem=issued.private_key_pem.bytes(),
        )

    def options(self, suite: str) -> ssl.CertificateOptions:
        """Twisted's server TLS options, offering the suite's ALPN protocol (made once)."""
        if suite not in self._options:
            from cryptography import x509
            from cryptography.hazmat.primitives.serialization import load_pem_private_key

            self._options[suite] = ssl.CertificateOptions(
                privateKey=load_pem_private_key(self.key_pem, password=None),
                certificate=x509.load_pem_x509_certificate(self.certificate_pem),
                acceptableProtocols=[p.encode("ascii") for p in LISTENER_ALPN[suite]],
                # https://www.rfc-editor.org/rfc/rfc9113#section-9.2: TLS 1.2 or later.
                raiseMinimumTo=ssl.TLSVersion.TLSv1_2,
            )
        return self._options[suite]


def listen(reactor: object, port: int, factory: object, *, tls: ListenerTLS | None, suite: str) -> object:
    """The harness listening on 127.0.0.1 (client mode): plain TCP, or TLS offering the
    suite's ALPN protocol; Twisted's listening port."""
    if tls is None:
        return reactor.listenTCP(port, factory, interface="127.0.0.1")  # type: ignore[attr-defined]
    return reactor.listenSSL(port, factory, tls.options(suite), interface="127.0.0.1")  # type: ignore[attr-defined]


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
