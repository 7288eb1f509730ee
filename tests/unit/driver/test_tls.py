"""https:// targets: certificate verification, --ca-file, --insecure, and a failed handshake
reported as an ERROR with its reason (never a FAIL of the server's HTTP)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from OpenSSL import crypto
from twisted.internet import ssl

from conformance.driver.endpoints import TLSSettings
from conformance.driver.interpreter import RunOptions
from conformance.scenario.loader import load_text
from conformance.target import Target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "faulty"))
import h1_server  # noqa: E402

CASES = """
protocol: h1
rfc: 9112
section: "3"
cases:
  - id: get
    title: A GET over TLS
    requirement: MUST
    steps:
      - send: "GET {path} HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect:
          response: {status: 200}
"""


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def tls_server(reactor_thread, ca) -> Iterator[str]:  # type: ignore[no-untyped-def]
    cert = ca.issue_cert("127.0.0.1", "localhost")
    key = crypto.load_privatekey(crypto.FILETYPE_PEM, cert.private_key_pem.bytes())
    chain = [crypto.load_certificate(crypto.FILETYPE_PEM, blob.bytes()) for blob in cert.cert_chain_pems]
    options = ssl.CertificateOptions(
        privateKey=key, certificate=chain[0], extraCertChain=chain[1:], acceptableProtocols=[b"http/1.1"]
    )

    def listen():  # type: ignore[no-untyped-def]
        factory = h1_server.factory(reactor_thread.reactor)
        return reactor_thread.reactor.listenSSL(0, factory, options, interface="127.0.0.1")

    port = reactor_thread.call(listen)
    yield f"https://127.0.0.1:{port.getHost().port}/"
    reactor_thread.call(port.stopListening)


def run(reactor_thread, url: str, settings: TLSSettings):  # type: ignore[no-untyped-def]
    cases, errors = load_text(CASES, "tls.yaml")
    assert errors == []
    results = reactor_thread.run(cases, [Target.parse(url)], RunOptions(tls=settings, timeout=2))
    return results.targets[0].cases[0]


def test_a_trusted_ca_file_verifies_the_server(reactor_thread, tls_server, ca, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    result = run(reactor_thread, tls_server, TLSSettings(ca_file=ca_file))
    assert result.verdict.value == "PASS", result.observed


def test_insecure_skips_verification(reactor_thread, tls_server) -> None:  # type: ignore[no-untyped-def]
    result = run(reactor_thread, tls_server, TLSSettings(insecure=True))
    assert result.verdict.value == "PASS", result.observed


def test_an_untrusted_certificate_is_an_error_with_the_reason(
    reactor_thread, tls_server, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    result = run(reactor_thread, tls_server, TLSSettings(ca_file=other))
    assert result.verdict.value == "ERROR"
    assert "TLS handshake" in result.observed and "certificate verify failed" in result.observed, (
        result.observed
    )
