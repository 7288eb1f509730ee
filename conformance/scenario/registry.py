"""The one registry of step and expectation kinds: its tables and the machinery to fill them.

Adding a kind is one entry in a table: its builder (YAML node to typed model, with located
errors), its summary (for docs and error messages) and its JSON Schema fragment (for the
shipped schema file). Builders are pure: they read nodes and return frozen objects.

The kinds themselves live in :mod:`conformance.scenario.kinds` (one module per protocol or
role) and register here when imported; this module imports none of them, so imports run one
way (kinds -> registry). Whoever reads the tables (the loader, the schema) imports
:mod:`conformance.scenario.kinds` first, which fills them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from conformance.errors import ScenarioError
from conformance.scenario import model, payloads
from conformance.scenario.nodes import HEX_TAG, Node
from conformance.verdicts import expectations as ex

T = TypeVar("T")


@dataclass(frozen=True)
class BuildContext:
    file: str
    case_id: str
    protocol: str
    requires: frozenset[str] = frozenset()  # the capabilities the case declares
    role: str = "server"  # model.ROLES: the side the implementation under test plays

    def error(self, message: str, node: Node) -> ScenarioError:
        return ScenarioError(message, location=node.location, case_id=self.case_id)


@dataclass(frozen=True)
class Kind(Generic[T]):
    name: str
    summary: str
    schema: dict[str, Any]
    build: Callable[[Node, BuildContext], T]
    protocols: tuple[str, ...] = model.PROTOCOLS
    options: tuple[str, ...] = field(default=())  # extra keys allowed beside the kind key
    requires: str | None = None  # a capability a case must declare to use this kind
    roles: tuple[str, ...] = ("server",)  # the roles (model.ROLES) whose cases may use it


@dataclass(frozen=True)
class Capability:
    """Something optional a target may offer; a case that ``requires`` it is SKIPPED, with
    ``skip_reason``, against a target that does not offer it."""

    name: str
    summary: str
    skip_reason: str
    template_fields: tuple[str, ...] = ()  # run-time templates only such cases may use

    @property
    def optional(self) -> bool:
        """Whether a case may use the templates without requiring the capability: against a
        target without the resource they are its URL's path (templates.PATH_FALLBACK_FIELDS),
        and the case runs there. A case that can judge only on the resource requires it."""
        from conformance.scenario.templates import PATH_FALLBACK_FIELDS

        return bool(self.template_fields) and set(self.template_fields) <= PATH_FALLBACK_FIELDS


def _resource(name: str, serving: str, example: str) -> Capability:
    """A capability that is a resource of the target, named by its path with the setting
    ``{name}-path`` (conformance.target.RESOURCE_SETTINGS) and used as ``{{name_path}}``:
    the target's URL path when it names none (:attr:`Capability.optional`)."""
    return Capability(
        name=name,
        summary=f"a resource serving {serving} (the target's {name}-path)",
        skip_reason=(
            f"needs a resource serving {serving}: set --target-option NAME.{name}-path={example}, "
            f"or {name}-path in the target's table of the configuration file"
        ),
        template_fields=(f"{name}_path",),
    )


CAPABILITIES: dict[str, Capability] = {
    "echo": Capability(
        name="echo",
        summary="an endpoint that reflects the parsed request as JSON (--echo-path)",
        skip_reason="needs --echo-path (the target's echo endpoint)",
        template_fields=("echo_path",),
    ),
    "validator": _resource("validator", "a 200 with an ETag to GET", "/index.html"),
    "large": _resource("large", "a 200 to GET with at least 128 KiB of content", "/large.bin"),
    "chunked": _resource("chunked", "a chunked 200 to an HTTP/1.1 GET", "/stream"),
}


def capability_of_template(name: str) -> Capability | None:
    """The capability a run-time template field belongs to, if any."""
    return next((c for c in CAPABILITIES.values() if name in c.template_fields), None)


STEP_KINDS: dict[str, Kind[model.Step]] = {}
EXPECT_KINDS: dict[str, Kind[ex.Expectation]] = {}
PAYLOAD_KINDS: dict[str, Kind[payloads.Payload]] = {}


def _register(table: dict[str, Kind[Any]], kind: Kind[Any]) -> None:
    if kind.name in table:
        raise RuntimeError(f"kind {kind.name!r} registered twice")
    table[kind.name] = kind


# ---------------------------------------------------------------- scalar helpers


def expect_type(node: Node, ctx: BuildContext, kinds: type | tuple[type, ...], what: str) -> Any:
    if isinstance(node.value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
        raise ctx.error(f"expected {what}, got {node.value!r}", node)
    if not isinstance(node.value, kinds):
        raise ctx.error(f"expected {what}, got {_shown(node)}", node)
    return node.value


def _shown(node: Node) -> str:
    if node.is_mapping:
        return "a mapping"
    if node.is_sequence:
        return "a list"
    return repr(node.value)


def non_negative_int(node: Node, ctx: BuildContext, what: str) -> int:
    value = expect_type(node, ctx, int, what)
    if value < 0:
        raise ctx.error(f"{what} must not be negative, got {value}", node)
    return int(value)


def text(node: Node, ctx: BuildContext, what: str) -> str:
    value = node.value
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list, bytes)):
        raise ctx.error(f"expected {what} (text), got {_shown(node)}", node)
    return str(value)


def check_keys(node: Node, ctx: BuildContext, allowed: set[str] | tuple[str, ...], what: str) -> None:
    for key, child in node.value.items():
        if key not in allowed:
            choices = ", ".join(sorted(allowed))
            raise ctx.error(f"unknown field {key!r} in {what} (expected one of: {choices})", child)


def one_kind(
    node: Node, ctx: BuildContext, table: dict[str, Kind[Any]], what: str, common: set[str]
) -> tuple[Kind[Any], Node]:
    """The single kind key of a mapping such as ``{response: ..., strict: false}``."""
    if not node.is_mapping:
        raise ctx.error(
            f"expected {what} (a mapping with one of: {', '.join(table)}), got {_shown(node)}", node
        )
    keys = [key for key in node.value if key in table]
    if len(keys) != 1:
        found = f"{len(keys)} ({', '.join(keys)})" if keys else "none"
        raise ctx.error(f"{what} needs exactly one of: {', '.join(table)}; found {found}", node)
    kind = table[keys[0]]
    check_keys(node, ctx, {kind.name, *kind.options, *common}, what)
    if ctx.protocol not in kind.protocols:
        raise ctx.error(
            f"{kind.name!r} is for {'/'.join(kind.protocols)} cases, not {ctx.protocol}",
            node.value[kind.name],
        )
    if ctx.role not in kind.roles:
        raise ctx.error(
            f"{kind.name!r} is for {' and '.join(kind.roles)}-role cases, not a {ctx.role}-role case",
            node.value[kind.name],
        )
    return kind, node.value[kind.name]


# ---------------------------------------------------------------- payloads


def build_payload(node: Node, ctx: BuildContext) -> payloads.Payload:
    if node.tag == HEX_TAG or isinstance(node.value, bytes):
        return payloads.Raw(data=node.value)
    if isinstance(node.value, str):
        return latin1_text(node, ctx)
    if node.is_mapping:
        kind, value = one_kind(node, ctx, PAYLOAD_KINDS, "a payload", common=set())
        return kind.build(node if kind.options else value, ctx)
    if node.is_sequence:
        return payloads.Concat(parts=tuple(build_payload(child, ctx) for child in node.value))
    raise ctx.error(f"expected a payload (text, !hex or a generator), got {_shown(node)}", node)


def latin1_text(node: Node, ctx: BuildContext) -> payloads.Text:
    value = text(node, ctx, "text")
    for index, char in enumerate(value):
        if ord(char) > 0xFF:
            raise ctx.error(
                f"character {char!r} (U+{ord(char):04X}) at offset {index} is not one byte; "
                "use {utf8: ...} for UTF-8 text or \\xNN escapes for bytes",
                node,
            )
    return payloads.Text(text=value)


# ---------------------------------------------------------------- steps


@dataclass(frozen=True)
class ConnectMode:
    """A way to open a connection. ``target``, ``tcp`` and ``tls`` choose only the transport;
    a protocol mode (``h2``, ``websocket``, ...) also names an opener in the driver
    (``driver.openers``) and may take options beside ``mode`` and ``alpn``, built into a
    typed object by ``options``."""

    name: str
    summary: str
    protocols: tuple[str, ...] = model.PROTOCOLS
    options: Callable[[Node, BuildContext], Any] | None = None  # the whole mapping in, typed out
    option_schema: dict[str, Any] = field(default_factory=dict)  # JSON Schema of each option


CONNECT_MODES: dict[str, ConnectMode] = {}


def register_connect_mode(mode: ConnectMode) -> None:
    _register(CONNECT_MODES, mode)  # type: ignore[arg-type]


def connect_schema() -> dict[str, Any]:
    """Generated from :data:`CONNECT_MODES` when the schema is built (modes may be added later)."""
    variants: list[dict[str, Any]] = [{"enum": list(CONNECT_MODES)}]
    for mode in CONNECT_MODES.values():
        variants.append(
            {
                "type": "object",
                "description": mode.summary,
                "properties": {
                    "mode": {"const": mode.name},
                    "alpn": {"type": "array", "items": {"type": "string"}},
                    **mode.option_schema,
                },
                "additionalProperties": False,
            }
        )
    return {"anyOf": variants}


def build_step(node: Node, ctx: BuildContext) -> model.Step:
    kind, value = one_kind(node, ctx, STEP_KINDS, "a step", common=set())
    return kind.build(value, ctx)


# ---------------------------------------------------------------- expectations

_GRADE_KEYS = {"strict", "unimplemented", "unexercised"}


def build_expectation(node: Node, ctx: BuildContext) -> ex.Expectation:
    if node.is_sequence:
        if not node.value:
            raise ctx.error("an empty list of expectations", node)
        return ex.Sequence_(items=tuple(build_expectation(child, ctx) for child in node.value))
    kind, value = one_kind(node, ctx, EXPECT_KINDS, "an expectation", common=_GRADE_KEYS)
    if kind.requires is not None and kind.requires not in ctx.requires:
        raise ctx.error(
            f"{kind.name!r} needs the case to declare `requires: [{kind.requires}]` "
            f"({CAPABILITIES[kind.requires].summary})",
            node.value[kind.name],
        )
    built = kind.build(value, ctx)
    grades: dict[str, bool] = {}
    for key in _GRADE_KEYS & set(node.value):
        grades[key] = expect_type(node.value[key], ctx, bool, f"{key}: true or false")
    chosen = [grades.get("unimplemented", False), grades.get("unexercised", False)]
    chosen.append(grades.get("strict") is False)
    if sum(chosen) > 1:
        raise ctx.error(
            "an outcome is one of strict: false, unimplemented: true or unexercised: true, not several", node
        )
    if grades:
        built = _with_grades(built, grades)
    return built


def _with_grades(expectation: ex.Expectation, grades: dict[str, bool]) -> ex.Expectation:
    import dataclasses

    return dataclasses.replace(expectation, **grades)


def _alternatives(node: Node, ctx: BuildContext, what: str) -> tuple[ex.Expectation, ...]:
    if not node.is_sequence or not node.value:
        raise ctx.error(f"{what} takes a non-empty list of expectations", node)
    return tuple(build_expectation(child, ctx) for child in node.value)
