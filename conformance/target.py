"""Targets: the servers a run judges, parsed from ``[name=]URL``, and each one's own
settings: the paths of the resources that some cases need (an echo endpoint, a resource with
a validator, a large body, a chunked response), set per target on the command line
(``--target-option NAME.KEY=PATH``) or in the configuration file (:mod:`conformance.config`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
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

#: The per-target settings naming a resource, as typed (``--target-option NAME.KEY=PATH``, a
#: key of a target's table in the configuration file) -> the capability cases ``require``
#: to use it (``conformance.scenario.registry.CAPABILITIES``).
RESOURCE_SETTINGS: dict[str, str] = {
    "echo-path": "echo",
    "validator-path": "validator",
    "large-path": "large",
    "chunked-path": "chunked",
}
#: What a resource path may be: origin-form, printable ASCII without spaces.
_RESOURCE_PATH = re.compile(r"/[\x21-\x7e]*")


def check_resource_path(setting: str, value: str) -> str:
    """``value`` when it is a path a resource setting may name, else a UsageError that names
    the setting."""
    if not _RESOURCE_PATH.fullmatch(value):
        raise UsageError(f"{setting} {value!r}: a path starting with '/', e.g. /echo")
    return value


def parse_target_option(text: str) -> tuple[str, str, str]:
    """``NAME.KEY=PATH`` (``--target-option mine.echo-path=/echo``) as (target name,
    capability, path). The name is everything before the last dot, so names with dots and
    the default ``host:port`` names work: ``127.0.0.1:8080.echo-path=/echo``."""
    head, sep, value = text.partition("=")
    name, dot, key = head.rpartition(".")
    known = ", ".join(RESOURCE_SETTINGS)
    if not sep or not dot or not name:
        raise UsageError(
            f"--target-option {text!r}: NAME.KEY=PATH, e.g. mine.echo-path=/echo (keys: {known})"
        )
    if key not in RESOURCE_SETTINGS:
        raise UsageError(f"--target-option {text!r}: unknown key {key!r} (keys: {known})")
    return name, RESOURCE_SETTINGS[key], check_resource_path(f"--target-option {head}", value)


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
    # (capability ("echo", "validator", ...), the path of the target's resource offering it),
    # sorted: a tuple, so that a target stays hashable
    resources: tuple[tuple[str, str], ...] = ()

    def resource(self, capability: str) -> str | None:
        """The path of the target's resource offering ``capability``, if it named one."""
        return dict(self.resources).get(capability)

    def with_resources(self, resources: Mapping[str, str], *, override: bool = True) -> Target:
        """This target with more resource paths (keyed by capability); with ``override``
        False, those it names already are kept (a run-wide ``--echo-path`` under a target's
        own ``echo-path``)."""
        mine = dict(self.resources)
        merged = {**mine, **resources} if override else {**resources, **mine}
        return replace(self, resources=tuple(sorted(merged.items())))

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
            host=self.host,
            port=self.port,
            authority=self.authority,
            path=self.path,
            scheme=self.scheme,
            # The capability "echo" is the template field {echo_path}, and so on.
            resource_paths=tuple((f"{capability}_path", path) for capability, path in self.resources),
        )
