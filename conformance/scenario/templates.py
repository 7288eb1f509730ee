"""``{name}`` templates in case text: parameters at load time, target fields at run time.

``{{`` and ``}}`` are literal braces; a ``{`` not followed by an identifier and ``}`` is literal
too, so JSON bodies need no escaping.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

#: The paths of the resources a target names (conformance.target.RESOURCE_SETTINGS), each
#: for the cases that require its capability (registry.CAPABILITIES).
RESOURCE_FIELDS = frozenset({"echo_path", "validator_path", "large_path", "chunked_path"})
#: Those a case may use without requiring the resource: a target that names none is asked
#: for its URL's path instead (``{path}``), as before it could name one. (No echo endpoint
#: stands in for another: ``{echo_path}`` always needs ``requires: [echo]``.)
PATH_FALLBACK_FIELDS = frozenset({"validator_path", "large_path", "chunked_path"})
#: Where a request with content goes: the echo endpoint where the target has one (a handler
#: that reads the content), else the target's path. A request the case needs read (DATA after
#: the head) is sent there, so that a static handler refusing the method from the head alone
#: does not stand between the case and its rule; the case requires nothing.
CONTENT_PATH_FIELD = "content_path"
#: Filled from the target URL (and the target's settings) when a case runs.
TARGET_FIELDS = (
    frozenset({"host", "port", "authority", "path", "scheme", CONTENT_PATH_FIELD}) | RESOURCE_FIELDS
)

_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


def names_in(text: str) -> set[str]:
    """Every ``{identifier}`` the text refers to."""
    return {m.group(1) for m in _TOKEN.finditer(text) if m.group(1)}


def _substitute(text: str, lookup: Callable[[str], str | None], *, unescape: bool) -> str:
    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        name = match.group(1)
        if name is None:  # "{{" or "}}"
            return token[0] if unescape else token
        value = lookup(name)
        return token if value is None else value

    return _TOKEN.sub(replace, text)


def _escape_all_but(value: str, kept: frozenset[str]) -> str:
    """Escape every brace of ``value`` except those of the ``{name}`` templates in ``kept``."""
    if not kept:
        return value.replace("{", "{{").replace("}", "}}")
    field = re.compile(r"\{(" + "|".join(sorted(map(re.escape, kept))) + r")\}")
    pieces = []
    last = 0
    for match in field.finditer(value):
        pieces.append(value[last : match.start()].replace("{", "{{").replace("}", "}}"))
        pieces.append(match.group(0))
        last = match.end()
    pieces.append(value[last:].replace("{", "{{").replace("}", "}}"))
    return "".join(pieces)


def fill_params(text: str, params: Mapping[str, str], *, run_time: frozenset[str] = frozenset()) -> str:
    """Fill parameters, keeping target fields and escaped braces for run time.

    A parameter's value keeps its target fields (``"user@{authority}"`` is filled when the
    case runs), and the names in ``run_time`` (values a ``capture`` step takes); any other
    brace in it is escaped, so it stays literal.
    """
    kept = TARGET_FIELDS | run_time

    def lookup(name: str) -> str | None:
        if name in params:
            return _escape_all_but(params[name], kept)
        return None

    return _substitute(text, lookup, unescape=False)


@dataclass(frozen=True, kw_only=True)
class TargetContext:
    """The values of the run-time template fields, from the target URL."""

    host: str
    port: int
    authority: str
    path: str
    scheme: str
    # (field of RESOURCE_FIELDS, path): the resources the target named; a case using one
    # requires its capability, so it does not run without it
    resource_paths: tuple[tuple[str, str], ...] = ()
    captured: tuple[tuple[str, str], ...] = ()  # values a ``capture`` step took from a response
    # Which repetition of a ``repeat`` of messages is being rendered (0 for the first): a
    # ``sample`` payload takes its window from it. Not a template field.
    repetition: int = 0

    def fill(self, text: str) -> str:
        resources = dict(self.resource_paths)
        values = {
            **dict.fromkeys(RESOURCE_FIELDS, ""),
            **dict.fromkeys(PATH_FALLBACK_FIELDS, self.path),
            **resources,
            CONTENT_PATH_FIELD: resources.get("echo_path") or self.path,
            **dict(self.captured),
            "host": self.host,
            "port": str(self.port),
            "authority": self.authority,
            "path": self.path,
            "scheme": self.scheme,
        }
        return _substitute(text, values.get, unescape=True)
