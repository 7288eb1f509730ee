"""Targets: the servers a run judges, parsed from ``[name=]URL``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from conformance.errors import UsageError
from conformance.scenario.templates import TargetContext

#: scheme -> (default port, TLS?, the suites it can run)
SCHEMES: dict[str, tuple[int, bool, tuple[str, ...]]] = {
    "http": (80, False, ("h1",)),
    "https": (443, True, ("h1", "h2")),  # HTTP/1.1 and HTTP/2 by ALPN
    "h2c": (80, False, ("h2",)),
    "ws": (80, False, ("ws",)),
    "wss": (443, True, ("ws",)),
}
#: scheme -> suites its targets run only when asked for by name (``--suite ws``): WebSocket
#: over HTTP/2 (RFC 8441), against the WebSocket endpoint the URL names.
ON_REQUEST: dict[str, tuple[str, ...]] = {"h2c": ("ws",), "https": ("ws",)}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True, kw_only=True)
class Target:
    name: str
    url: str
    scheme: str
    host: str  # without brackets for IPv6
    port: int
    path: str
    tls: bool
    suites: tuple[str, ...]

    @classmethod
    def parse(
        cls, spec: str, *, suites: tuple[str, ...] | None = None, requested: tuple[str, ...] = ()
    ) -> Target:
        """``http://127.0.0.1:8080/`` or ``nginx=http://127.0.0.1:8080/``. ``requested``: the
        suites the run asks for by name; those a scheme runs only on request (:data:`ON_REQUEST`)
        are added, and when any is asked for, the scheme's other suites run only if asked for
        too (``--suite ws`` against ``h2c://`` runs the WebSocket suite, not the HTTP/2 one)."""
        name = None
        url = spec
        head, sep, rest = spec.partition("=")
        if sep and "://" not in head:
            name, url = head, rest
            if not _NAME.fullmatch(name):
                raise UsageError(f"target name {name!r}: letters, digits, '.', '_' and '-'")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise UsageError(f"target {url!r}: {exc}") from None
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            raise UsageError(
                f"target {url!r}: the scheme must be one of {', '.join(s + '://' for s in SCHEMES)}"
            )
        if not parts.hostname:
            raise UsageError(f"target {url!r} has no host")
        if parts.query or parts.fragment or parts.username:
            raise UsageError(f"target {url!r}: no query, fragment or user info, please")
        default_port, tls, scheme_suites = SCHEMES[scheme]
        extra = tuple(s for s in ON_REQUEST.get(scheme, ()) if s in requested)
        if extra:
            scheme_suites = tuple(s for s in scheme_suites if s in requested) + extra
        host = parts.hostname
        port = port or default_port
        path = parts.path or "/"
        authority = f"[{host}]" if ":" in host else host
        if parts.port:
            authority = f"{authority}:{port}"
        return cls(
            name=name or authority,
            url=url,
            scheme=scheme,
            host=host,
            port=port,
            path=path,
            tls=tls,
            suites=suites or scheme_suites,
        )

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default_port = SCHEMES[self.scheme][0]
        return (
            host if self.port == default_port and f":{self.port}" not in self.url else f"{host}:{self.port}"
        )

    def context(self) -> TargetContext:
        return TargetContext(
            host=self.host, port=self.port, authority=self.authority, path=self.path, scheme=self.scheme
        )
