"""Real servers for integration tests: started on a free loopback port, always stopped.

A server whose program is missing makes its tests skip outside CI; under ``CI=true`` it
fails them, because CI installs every one of them (``.ci/run``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI") == "true"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def need(program: str) -> str:
    """The program's path; skip (or, in CI, fail) when it is not installed."""
    path = shutil.which(program) or (program if os.path.exists(program) else None)
    if path is None:
        message = f"{program} is not installed"
        if IN_CI:
            pytest.fail(message + " (CI installs it: see .ci/run)")
        pytest.skip(message)
    return path


def need_module(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        message = f"Python module {module} is not installed"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text(errors="replace")
            raise RuntimeError(f"server exited with {process.returncode}: {output[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"server did not listen on port {port} within {timeout} s")


@contextlib.contextmanager
def running(
    args: list[str], port: int, *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Iterator[str]:
    """Run ``args`` until the block ends; yields the base URL. The server's output goes to a
    file (a pipe nobody reads would fill and stall a chatty server)."""
    logs = Path(tempfile.mkdtemp(prefix="conformance-server-log-"))
    log = logs / "output.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            args,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_port(port, process, log)
        yield f"http://127.0.0.1:{port}/"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        shutil.rmtree(logs, ignore_errors=True)


@contextlib.contextmanager
def docroot() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="conformance-docroot-"))
    try:
        root.chmod(0o755)  # nginx's workers run as another user when started by root
        (root / "index.html").write_text("<p>hello</p>\n")
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def http_server() -> Iterator[str]:
    port = free_port()
    with (
        docroot() as root,
        running(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(root)],
            port,
        ) as url,
    ):
        yield url


@contextlib.contextmanager
def gunicorn(worker: str = "sync") -> Iterator[str]:
    need_module("gunicorn")
    port = free_port()
    args = [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "--chdir", str(HERE), "-k", worker]
    if worker == "gthread":
        args += ["--threads", "16"]
    with running([*args, "apps:wsgi_app"], port) as url:
        yield url


@contextlib.contextmanager
def uvicorn(http: str = "h11") -> Iterator[str]:
    need_module("uvicorn")
    if http == "httptools":
        need_module("httptools")
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--http",
        http,
        "--app-dir",
        str(HERE),
        "--log-level",
        "warning",
        "apps:asgi_app",
    ]
    with running(args, port) as url:
        yield url


@contextlib.contextmanager
def hypercorn() -> Iterator[str]:
    need_module("hypercorn")
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "hypercorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--root-path",
        "",
        "apps:asgi_app",
    ]
    with running(args, port, cwd=HERE) as url:
        yield url


@contextlib.contextmanager
def twisted_web() -> Iterator[str]:
    port = free_port()
    with docroot() as root:
        args = [
            sys.executable,
            "-m",
            "twisted",
            "web",
            "--listen",
            f"tcp:{port}:interface=127.0.0.1",
            "--path",
            str(root),
        ]
        with running(args, port, cwd=root) as url:
            yield url


@contextlib.contextmanager
def nginx() -> Iterator[str]:
    binary = need("nginx") if shutil.which("nginx") else need("/usr/sbin/nginx")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="conformance-nginx-") as tmp, docroot() as root:
        prefix = Path(tmp)
        (prefix / "logs").mkdir()
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
                        listen 127.0.0.1:{port};
                        root {root};
                        location / {{ index index.html; }}
                    }}
                }}
                """
            )
        )
        with running([binary, "-c", str(config), "-p", str(prefix)], port) as url:
            yield url


def _as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def apache_config(
    prefix: Path, root: Path, port: int, *, protocols: str = "http/1.1", tls: tuple[Path, Path] | None = None
) -> Path:
    """An Apache httpd configuration of our own (nothing of Debian's /etc/apache2): one
    listener on loopback serving ``root``, its pid, runtime files, mutexes and error log in
    ``prefix``. ``protocols`` is the ``Protocols`` line (with ``h2c`` or ``h2`` mod_http2 is
    loaded, and ``H2Direct on`` serves HTTP/2 by prior knowledge on a cleartext port);
    ``tls`` (certificate chain, key) turns on mod_ssl, where ALPN picks the protocol."""
    modules = ["mpm_event", "authz_core", "dir", "mime"]
    if "h2" in protocols:
        modules.append("http2")
    if tls:
        modules += ["socache_shmcb", "ssl"]
    lines = [f"LoadModule {name}_module /usr/lib/apache2/modules/mod_{name}.so" for name in modules]
    lines += [
        "ServerName 127.0.0.1",
        f"ServerRoot {prefix}",
        f"Listen 127.0.0.1:{port}",
        f"PidFile {prefix}/apache2.pid",
        f"DefaultRuntimeDir {prefix}",
        f"Mutex file:{prefix} default",
        f"ErrorLog {prefix}/error.log",
        "LogLevel warn",
        "TypesConfig /etc/mime.types",
        f'DocumentRoot "{root}"',
        f'<Directory "{root}">',
        "    Require all granted",
        "</Directory>",
        "DirectoryIndex index.html",
        f"Protocols {protocols}",
    ]
    if _as_root():  # httpd will not serve as root: its children run as www-data
        lines += ["User www-data", "Group www-data"]
    if "h2c" in protocols:
        lines.append("H2Direct on")
    if tls:
        chain, key = tls
        lines += [
            "SSLEngine on",
            f"SSLCertificateFile {chain}",
            f"SSLCertificateKeyFile {key}",
            f"SSLSessionCache shmcb:{prefix}/ssl_scache(512000)",
        ]
    config = prefix / "apache2.conf"
    config.write_text("\n".join(lines) + "\n")
    return config


@contextlib.contextmanager
def apache(*, protocols: str = "http/1.1", tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """Apache httpd (Debian's apache2, mpm_event) in the foreground, serving a docroot."""
    binary = need("apache2") if shutil.which("apache2") else need("/usr/sbin/apache2")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="conformance-apache-") as tmp, docroot() as root:
        prefix = Path(tmp)
        prefix.chmod(0o755)
        # Apache makes an ETag weak while its file is less than a second old, so the first
        # run would see W/"..." and the next ones a strong tag: an old file gives every run
        # the same (strong) validator.
        week_ago = time.time() - 7 * 24 * 3600
        os.utime(root / "index.html", (week_ago, week_ago))
        config = apache_config(prefix, root, port, protocols=protocols, tls=tls)
        with running([binary, "-f", str(config), "-DFOREGROUND"], port) as url:
            yield url


@contextlib.contextmanager
def lighttpd() -> Iterator[str]:
    """lighttpd in the foreground (``-D``), serving a docroot with its static-file module."""
    binary = need("lighttpd") if shutil.which("lighttpd") else need("/usr/sbin/lighttpd")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="conformance-lighttpd-") as tmp, docroot() as root:
        prefix = Path(tmp)
        config = prefix / "lighttpd.conf"
        config.write_text(
            textwrap.dedent(
                f"""\
                server.bind = "127.0.0.1"
                server.port = {port}
                server.document-root = "{root}"
                server.pid-file = "{prefix}/lighttpd.pid"
                server.errorlog = "{prefix}/error.log"
                server.modules = ("mod_indexfile", "mod_staticfile")
                index-file.names = ("index.html")
                mimetype.assign = (".html" => "text/html")
                """
            )
        )
        with running([binary, "-D", "-f", str(config)], port) as url:
            yield url


def h2o_config(prefix: Path, root: Path, port: int) -> Path:
    """h2o 2.2's YAML configuration: one listener on loopback (HTTP/1.1, and HTTP/2 by
    prior knowledge on the same port), serving ``root``. No pid file: h2o writes it after
    dropping to ``nobody`` (as root), and the test stops the process it started anyway."""
    user = "user: nobody\n" if _as_root() else ""
    config = prefix / "h2o.conf"
    config.write_text(
        textwrap.dedent(
            f"""\
            listen:
              host: 127.0.0.1
              port: {port}
            error-log: {prefix}/error.log
            hosts:
              default:
                paths:
                  /:
                    file.dir: {root}
            """
        )
        + user
    )
    return config


@contextlib.contextmanager
def h2o() -> Iterator[str]:
    """h2o (Debian's, 2.2), serving a docroot: HTTP/1.1 and h2c prior knowledge on one port."""
    binary = need("h2o") if shutil.which("h2o") else need("/usr/bin/h2o")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="conformance-h2o-") as tmp, docroot() as root:
        prefix = Path(tmp)
        prefix.chmod(0o755)
        config = h2o_config(prefix, root, port)
        with running([binary, "-c", str(config)], port) as url:
            yield url


@contextlib.contextmanager
def waitress() -> Iterator[str]:
    """waitress (PyPI) serving the WSGI application of apps.py."""
    need_module("waitress")
    port = free_port()
    args = [sys.executable, "-m", "waitress", f"--listen=127.0.0.1:{port}", "apps:wsgi_app"]
    with running(args, port, cwd=HERE) as url:
        yield url


@contextlib.contextmanager
def daphne(scheme: str = "http") -> Iterator[str]:
    """daphne (PyPI, on Twisted) serving the ASGI application of apps.py: HTTP/1.1, and
    WebSocket on the same port (yielded as ``{scheme}://``). Its WebSocket limits are raised
    from 1 MiB to the 16 MiB the suite sends, and its keepalive ping put off, so that no ping
    of its own lands among the frames a case expects."""
    need_module("daphne")
    port = free_port()
    limits = ["--websocket-max-message-size", str(16 * 2**20), "--websocket-max-frame-size", str(16 * 2**20)]
    args = [
        *(sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)),
        *limits,
        *("--ping-interval", "3600"),
        "apps:asgi_app",
    ]
    with running(args, port, cwd=HERE) as url:
        yield scheme + url.removeprefix("http")


@contextlib.contextmanager
def h11_server() -> Iterator[str]:
    port = free_port()
    with running([sys.executable, str(HERE / "h11_server.py"), str(port)], port, cwd=HERE) as url:
        yield url


SERVERS = {
    "http.server": http_server,
    "gunicorn-sync": lambda: gunicorn("sync"),
    "gunicorn-gthread": lambda: gunicorn("gthread"),
    "uvicorn-h11": lambda: uvicorn("h11"),
    "uvicorn-httptools": lambda: uvicorn("httptools"),
    "hypercorn": hypercorn,
    "twisted.web": twisted_web,
    "nginx": nginx,
    "h11": h11_server,
    "apache2": apache,
    "lighttpd": lighttpd,
    "h2o": h2o,
    "waitress": waitress,
    "daphne": daphne,
}
