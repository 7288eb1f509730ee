"""Real HTTP/2 servers for integration tests: each started on a free loopback port by a
context manager and always stopped by it, by prior knowledge (h2c) or over TLS with ALPN h2
(a trustme certificate whose CA the harness is told to trust).

A server whose program is missing makes its tests skip outside CI; under ``CI=true`` it
fails them, because CI installs every one of them (``.ci/run``). The HTTP/1.1 servers and
the helpers used here live in ``servers.py``.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import servers
from servers import HERE, docroot, free_port, need, need_module, running


@dataclass(frozen=True)
class H2Server:
    """A running server: its URL (``h2c://`` or ``https://``) and, for TLS, the CA to trust."""

    url: str
    ca_file: Path | None = None


@dataclass(frozen=True)
class Certificate:
    ca_file: Path
    cert_file: Path  # the server's certificate chain
    key_file: Path


@contextlib.contextmanager
def certificate() -> Iterator[Certificate]:
    """A fresh CA and a server certificate for 127.0.0.1 and localhost, as PEM files."""
    need_module("trustme")
    import trustme

    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    directory = Path(tempfile.mkdtemp(prefix="conformance-tls-"))
    try:
        directory.chmod(0o755)  # nginx's workers may run as another user
        made = Certificate(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
        ca.cert_pem.write_to_path(str(made.ca_file))
        issued.private_key_pem.write_to_path(str(made.key_file))
        with made.cert_file.open("wb") as chain:
            for blob in issued.cert_chain_pems:
                chain.write(blob.bytes())
        for path in (made.ca_file, made.cert_file, made.key_file):
            path.chmod(0o644)
        yield made
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _h2c(url: str) -> str:
    return "h2c://" + url.removeprefix("http://")


def _https(url: str) -> str:
    return "https://" + url.removeprefix("http://")


@contextlib.contextmanager
def nghttpd(tls: bool = False) -> Iterator[H2Server]:
    binary = need("nghttpd") if shutil.which("nghttpd") else need("/usr/sbin/nghttpd")
    port = free_port()
    with docroot() as root:
        args = [binary, "-a", "127.0.0.1", "-d", str(root)]
        if not tls:
            with running([*args, "--no-tls", str(port)], port) as url:
                yield H2Server(_h2c(url))
            return
        with (
            certificate() as made,
            running([*args, str(port), str(made.key_file), str(made.cert_file)], port) as url,
        ):
            yield H2Server(_https(url), made.ca_file)


@contextlib.contextmanager
def nginx(tls: bool = False) -> Iterator[H2Server]:
    binary = need("nginx") if shutil.which("nginx") else need("/usr/sbin/nginx")
    port = free_port()
    with (
        tempfile.TemporaryDirectory(prefix="conformance-nginx-") as tmp,
        docroot() as root,
        certificate() if tls else contextlib.nullcontext() as made,
    ):
        prefix = Path(tmp)
        (prefix / "logs").mkdir()
        # nginx 1.22: "listen ... http2" is HTTP/2 by prior knowledge without ssl, and HTTP/2
        # by ALPN with it.
        listen = f"listen 127.0.0.1:{port} ssl http2;" if tls else f"listen 127.0.0.1:{port} http2;"
        tls_lines = f"ssl_certificate {made.cert_file}; ssl_certificate_key {made.key_file};" if made else ""
        config = prefix / "nginx.conf"
        config.write_text(
            textwrap.dedent(
                f"""\
                daemon off;
                worker_processes 1;
                pid {prefix}/nginx.pid;
                error_log {prefix}/logs/error.log warn;
                events {{ worker_connections 256; }}
                http {{
                    access_log off;
                    client_body_temp_path {prefix}/body;
                    proxy_temp_path {prefix}/proxy;
                    fastcgi_temp_path {prefix}/fastcgi;
                    uwsgi_temp_path {prefix}/uwsgi;
                    scgi_temp_path {prefix}/scgi;
                    server {{
                        {listen}
                        {tls_lines}
                        root {root};
                        location / {{ index index.html; }}
                    }}
                }}
                """
            )
        )
        with running([binary, "-c", str(config), "-p", str(prefix)], port) as url:
            yield H2Server(_https(url), made.ca_file) if made else H2Server(_h2c(url))


@contextlib.contextmanager
def hypercorn(tls: bool = False) -> Iterator[H2Server]:
    need_module("hypercorn")
    port = free_port()
    args = [sys.executable, "-m", "hypercorn", "--bind", f"127.0.0.1:{port}", "--root-path", ""]
    if not tls:
        # Hypercorn serves HTTP/2 by prior knowledge on its plain port.
        with running([*args, "apps:asgi_app"], port, cwd=HERE) as url:
            yield H2Server(_h2c(url))
        return
    with certificate() as made:
        tls_args = ["--certfile", str(made.cert_file), "--keyfile", str(made.key_file)]
        with running([*args, *tls_args, "apps:asgi_app"], port, cwd=HERE) as url:
            yield H2Server(_https(url), made.ca_file)


@contextlib.contextmanager
def twisted_web() -> Iterator[H2Server]:
    """twisted.web over TLS: with h2 installed it offers ALPN h2 and serves HTTP/2."""
    need_module("h2")
    port = free_port()
    with docroot() as root, certificate() as made:
        endpoint = f"ssl:{port}:interface=127.0.0.1:privateKey={made.key_file}:certKey={made.cert_file}"
        args = [sys.executable, "-m", "twisted", "web", "--listen", endpoint, "--path", str(root)]
        with running(args, port, cwd=root) as url:
            yield H2Server(_https(url), made.ca_file)


@contextlib.contextmanager
def h2_library() -> Iterator[H2Server]:
    port = free_port()
    with running([sys.executable, str(HERE / "h2_server.py"), str(port)], port, cwd=HERE) as url:
        yield H2Server(_h2c(url))


@contextlib.contextmanager
def apache(tls: bool = False) -> Iterator[H2Server]:
    """Apache httpd with mod_http2: h2c by prior knowledge (``H2Direct on``) on a cleartext
    port, or HTTP/2 chosen by ALPN over TLS (mod_ssl)."""
    if not tls:
        with servers.apache(protocols="h2c http/1.1") as url:
            yield H2Server(_h2c(url))
        return
    with (
        certificate() as made,
        servers.apache(protocols="h2 http/1.1", tls=(made.cert_file, made.key_file)) as url,
    ):
        yield H2Server(_https(url), made.ca_file)


@contextlib.contextmanager
def h2o() -> Iterator[H2Server]:
    """h2o serves HTTP/2 by prior knowledge on its cleartext port."""
    with servers.h2o() as url:
        yield H2Server(_h2c(url))


SERVERS_H2: dict[str, Callable[[], contextlib.AbstractContextManager[H2Server]]] = {
    "nghttpd": nghttpd,
    "nghttpd-tls": lambda: nghttpd(tls=True),
    "nginx": nginx,
    "nginx-tls": lambda: nginx(tls=True),
    "hypercorn": hypercorn,
    "hypercorn-tls": lambda: hypercorn(tls=True),
    "twisted.web-tls": twisted_web,
    "h2-library": h2_library,
    "apache2": apache,
    # mod_ssl needs the libssl3 it was built against: with an older one its children crash
    # now and then and reset the connections they hold (.ci/run upgrades libssl3).
    "apache2-tls": lambda: apache(tls=True),
    "h2o": h2o,
}

#: servers that run the test application, whose ``/echo`` is the echo contract
ECHO_PATHS_H2: dict[str, str] = {"hypercorn": "/echo", "hypercorn-tls": "/echo"}
