"""The configuration file: the settings of ``conformance run`` that a project commits.

Two places hold it, the first found wins:

- ``--config FILE``: a TOML file whose top level holds the keys below (``conformance.toml``);
- else, from the current directory upwards, the first directory that has a ``conformance.toml``
  (the whole file) or a ``pyproject.toml`` with a ``[tool.conformance]`` table.

Keys (each the long option of ``run`` of the same name; the command line overrides them)::

    suites = ["h1", "h2"]        select = ["h1/9112"]        exclude = ["h1/9112/7.1"]
    cases = ["my-cases/"]        baseline = "conformance-baseline.yaml"
    fail-on = "must"             profile = "default"         jobs = 16
    timeout = 2.0                case-timeout = 30.0         report-dir = "reports/ci"
    transcripts = "failures"     insecure = false            ca-file = "ca.pem"
    allow-errors = false         echo-path = "/echo"         # every target without its own
    server-start-timeout = 30.0  # seconds a target's server has to accept a connection

    [targets.mine]               # [tool.conformance.targets.mine] in pyproject.toml
    url = "http://127.0.0.1:8080/"
    echo-path = "/echo"          # and validator-path, large-path, chunked-path

    [targets.built]              # a server the run starts (as --server built=COMMAND)
    server = "./myserver --port {port}"
    url = "h2c://127.0.0.1:{port}/"   # optional: http://127.0.0.1:{port}/ by default

Paths in the file (``cases``, ``baseline``, ``report-dir``, ``ca-file``) are relative to the
file's directory. A target table may leave ``url`` out when the command line gives the URL
(``conformance run mine=http://127.0.0.1:$PORT/``): the table's settings then apply to the
command line's target of that name. A target with a ``server`` is started by the run on a
free port (``{port}`` in its command and URL), as ``--server NAME=COMMAND`` would.

:func:`find_config` and :func:`load_config` are plain functions that return a
:class:`Settings`, so the pytest plugin can read the same file; an error is a
:class:`ConfigError` that names the file, the line where it can tell, and the key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.errors import UsageError
from conformance.target import RESOURCE_SETTINGS, check_resource_path

CONFIG_NAME = "conformance.toml"
PYPROJECT = "pyproject.toml"
SUITES = ("h1", "h2", "ws")
#: The URL of a server the run starts when nothing names another (``--server``, ``server =``).
DEFAULT_SERVER_URL = "http://127.0.0.1:{port}/"


class ConfigError(UsageError):
    """The configuration file is wrong: the message names the file (and line) and the key."""


@dataclass(frozen=True, kw_only=True)
class TargetSettings:
    """One target's table: its name, URL (None: the command line gives it, or a server's
    default), resources, and the command that starts it (``server``, with ``{port}``)."""

    name: str
    url: str | None
    resources: tuple[tuple[str, str], ...] = ()  # (capability, path), as Target.resources
    server: str | None = None

    @property
    def spec(self) -> str:
        """The target as the command line writes it: ``NAME=URL`` (a URL with ``{port}``
        for a server the run starts)."""
        url = self.url if self.url is not None or self.server is None else DEFAULT_SERVER_URL
        return f"{self.name}={url}"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What a configuration file sets: ``options`` keyed by the ``run`` command's parameter
    names (``fail_on``, ``baseline_path`` ...), and its targets in the file's order."""

    source: Path | None = None
    options: dict[str, Any]
    targets: tuple[TargetSettings, ...] = ()


# -- value checkers: each returns the value as ``run`` takes it, or raises ValueError with
# what the key wants.


def _string(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("a string")
    return value


def _strings(value: object) -> list[str]:
    """A string or a list of strings (``select = "h1/9112"`` is one prefix)."""
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise ValueError("a string or a list of strings")
    return list(values)


def _choice(*choices: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        if value not in choices:
            raise ValueError("one of " + ", ".join(repr(c) for c in choices))
        return str(value)

    return check


def _suites(value: object) -> list[str]:
    suites = _strings(value)
    for suite in suites:
        if suite not in SUITES:
            raise ValueError("a list of suites among " + ", ".join(repr(s) for s in SUITES))
    return suites


def _integer(low: int, high: int) -> Callable[[object], int]:
    def check(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"a whole number from {low} to {high}")
        return value

    return check


def _seconds(low: float, high: float) -> Callable[[object], float]:
    def check(value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise ValueError(f"a number of seconds from {low:g} to {high:g}")
        return float(value)

    return check


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def _path_of(value: object, base: Path) -> str:
    return str(base / _string(value))


def _paths_of(value: object, base: Path) -> list[str]:
    return [str(base / item) for item in _strings(value)]


def _resource_path(setting: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        try:
            return check_resource_path(setting, _string(value))
        except UsageError:
            raise ValueError("a path starting with '/', e.g. /echo") from None

    return check


def _profile(value: object) -> str:
    from conformance.verdicts.profiles import PROFILES

    return _choice(*PROFILES)(value)


#: key -> (the ``run`` parameter it sets, its checker); paths take the file's directory too.
OPTIONS: dict[str, tuple[str, Callable[[object], Any]]] = {
    "suites": ("suites", _suites),
    "select": ("select", _strings),
    "exclude": ("exclude", _strings),
    "fail-on": ("fail_on", _choice("must", "should", "may")),
    "profile": ("profile", _profile),
    "jobs": ("jobs", _integer(1, 1024)),
    "timeout": ("timeout", _seconds(0.05, 600)),
    "case-timeout": ("case_timeout", _seconds(0.1, 3600)),
    "transcripts": ("transcripts", _choice("failures", "all")),
    "insecure": ("insecure", _flag),
    "allow-errors": ("allow_errors", _flag),
    "echo-path": ("echo_path", _resource_path("echo-path")),
    "server-start-timeout": ("server_start_timeout", _seconds(0.1, 3600)),
}
PATH_OPTIONS: dict[str, tuple[str, Callable[[object, Path], Any]]] = {
    "cases": ("case_paths", _paths_of),
    "baseline": ("baseline_path", _path_of),
    "report-dir": ("report_dir", _path_of),
    "ca-file": ("ca_file", _path_of),
}
#: Other spellings a user may reach for, and the key they mean.
ALIASES = {"suite": "suites", "target": "targets", "fail_on": "fail-on", "echo_path": "echo-path"}
TARGET_KEYS = ("url", "server", *RESOURCE_SETTINGS)


def find_config(start: Path) -> Path | None:
    """The configuration file that applies in ``start``: the first ``conformance.toml``, or
    ``pyproject.toml`` with a ``[tool.conformance]`` table, from ``start`` upwards."""
    for directory in (start, *start.parents):
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            return candidate
        pyproject = directory / PYPROJECT
        if pyproject.is_file() and _has_our_table(pyproject):
            return pyproject
    return None


def _has_our_table(pyproject: Path) -> bool:
    """Whether ``pyproject.toml`` has ``[tool.conformance]`` (a file that cannot be read or
    parsed is looked at once more by :func:`load_config` only if it has the table's name)."""
    try:
        text = pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return re.search(r"^\s*\[\s*tool\s*\.\s*conformance\s*[.\]]", text, re.MULTILINE) is not None


def load_config(path: Path) -> Settings:
    """The settings of the file at ``path`` (``pyproject.toml``: its ``[tool.conformance]``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ConfigError(f"{path}: cannot read the configuration file: {reason}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The message ends "(at line L, column C)".
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    prefix = ""
    if path.name == PYPROJECT:
        table = document.get("tool", {}).get("conformance")
        prefix = "tool.conformance."
        if table is None:
            raise ConfigError(f"{path}: no [tool.conformance] table")
    else:
        table = document
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: {prefix.rstrip('.')} must be a table")
    return _settings(path, text, table, prefix)


def _settings(path: Path, text: str, table: dict[str, Any], prefix: str) -> Settings:
    base = path.parent

    def error(key: str, what: str) -> ConfigError:
        return ConfigError(f"{_where(path, text, prefix + key)}: {prefix}{key}: {what}")

    options: dict[str, Any] = {}
    targets: tuple[TargetSettings, ...] = ()
    for key, value in table.items():
        try:
            if key in OPTIONS:
                name, check = OPTIONS[key]
                options[name] = check(value)
            elif key in PATH_OPTIONS:
                name, check_path = PATH_OPTIONS[key]
                options[name] = check_path(value, base)
            elif key == "targets":
                targets = _targets(value, error)
            else:
                raise error(key, "unknown key; " + _known_hint(key))
        except ValueError as exc:
            raise error(key, f"wants {exc}, not {value!r}") from None
    return Settings(source=path, options=options, targets=targets)


def _targets(value: object, error: Callable[[str, str], ConfigError]) -> tuple[TargetSettings, ...]:
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise error("targets", 'wants a table per target: [targets.NAME] with url = "http://..."')
    from conformance.target import _NAME

    targets = []
    for name, table in value.items():
        if not _NAME.fullmatch(name):
            raise error(f"targets.{name}", "a target name has letters, digits, '.', '_' and '-'")
        url = server = None
        resources: dict[str, str] = {}
        for key, setting in table.items():
            where = f"targets.{name}.{key}"
            if key == "url":
                if not isinstance(setting, str) or "://" not in setting:
                    raise error(where, f'wants a URL such as "http://127.0.0.1:8080/", not {setting!r}')
                url = setting
            elif key == "server":
                if not isinstance(setting, str) or "{port}" not in setting:
                    raise error(
                        where,
                        f'wants a command with {{port}}, e.g. "./myserver --port {{port}}", not {setting!r}',
                    )
                server = setting
            elif key in RESOURCE_SETTINGS:
                try:
                    resources[RESOURCE_SETTINGS[key]] = _resource_path(key)(setting)
                except ValueError as exc:
                    raise error(where, f"wants {exc}, not {setting!r}") from None
            else:
                known = ", ".join(TARGET_KEYS)
                raise error(where, f"unknown key; a target's table knows {known}")
        if server is not None and url is not None and "{port}" not in url:
            raise error(
                f"targets.{name}.url",
                f"the target has a server, started on a free port: its URL wants {{port}} "
                f'(e.g. "h2c://127.0.0.1:{{port}}/"), not {url!r}',
            )
        if server is None and url is not None and "{port}" in url:
            raise error(f"targets.{name}.url", "has {port}, but the target has no server = COMMAND to start")
        targets.append(
            TargetSettings(name=name, url=url, resources=tuple(sorted(resources.items())), server=server)
        )
    return tuple(targets)


def _known_hint(key: str) -> str:
    if key in ALIASES:
        return f"did you mean {ALIASES[key]!r}?"
    if key in RESOURCE_SETTINGS:
        return f"{key} is a target's setting: put it in [targets.NAME]"
    known = ", ".join(sorted([*OPTIONS, *PATH_OPTIONS, "targets"]))
    return f"the keys are {known}"


def _where(path: Path, text: str, key: str) -> str:
    """``path:line`` of the line that sets ``key`` (dotted), where a simple look at the text
    finds it: each part of the key in turn, as a key or in a table header, after the line
    where the part before it was found; else ``path``. TOML's parser does not say where a
    key was."""
    lines = text.splitlines()
    found = None
    start = 0
    for part in key.split("."):
        name = re.escape(part)
        pattern = re.compile(rf"""^\s*(?:["']?{name}["']?\s*=|\[[^\]]*\b{name}\b[^\]]*\])""")
        hit = next((i for i in range(start, len(lines)) if pattern.match(lines[i])), None)
        if hit is None:
            break
        found = start = hit
    return f"{path}:{found + 1}" if found is not None else str(path)
