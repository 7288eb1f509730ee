"""Load case files into typed, expanded :class:`~conformance.scenario.model.Case` objects.

Every error names the file, line and column, and the case id when there is one; loading
collects the errors of every case in every file instead of stopping at the first.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import conformance.scenario.kinds  # noqa: F401  (fills the registry's tables)
from conformance.errors import ConformanceError, ScenarioError
from conformance.scenario import model
from conformance.scenario.nodes import BadHex, Node, read_yaml
from conformance.scenario.registry import (
    CAPABILITIES,
    BuildContext,
    build_step,
    capability_of_template,
    check_keys,
    expect_type,
    non_negative_int,
    text,
)
from conformance.scenario.templates import TARGET_FIELDS, fill_params, names_in
from conformance.verdicts.verdict import Requirement

FILE_FIELDS = {"protocol", "role", "rfc", "section", "title", "defaults", "cases"}
CASE_FIELDS = {
    "id",
    "title",
    "requirement",
    "reference",
    "aliases",
    "tags",
    "timeout",
    "transcript",
    "params",
    "steps",
    "description",
    "requires",
    "rule",
}
RULE_FIELDS = ("quote", "source", "subject", "exception")
SLUG = re.compile(r"[a-z0-9][a-z0-9._-]*")
SECTION = re.compile(r"[0-9A-Za-z][0-9A-Za-z.-]*")


class ScenarioErrors(ConformanceError):
    """One or more case files are broken; ``errors`` holds each, located."""

    def __init__(self, errors: Sequence[ScenarioError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(error.render() for error in self.errors))


def default_case_paths() -> list[Path]:
    """The cases that ship with the tool."""
    from conformance.scenario import bundled_cases_dir

    return [bundled_cases_dir()]


def discover(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()))
        else:
            files.append(path)
    return files


@dataclass
class LoadResult:
    cases: list[model.Case]
    errors: list[ScenarioError]
    files: int


def load(paths: Iterable[Path] | None = None, *, role: str | None = "server") -> LoadResult:
    """Load every case under ``paths`` (default: the bundled cases), collecting errors.

    ``role`` keeps the cases of one role (model.ROLES): ``server`` by default, what
    ``conformance run`` judges, so that the client-role cases (``role: client`` files, under
    ``cases/client/``) never run against a server; None keeps both."""
    files = discover(default_case_paths() if paths is None else paths)
    cases: list[model.Case] = []
    errors: list[ScenarioError] = []
    for file in files:
        file_cases, file_errors = load_file(file)
        cases.extend(case for case in file_cases if role is None or case.role == role)
        errors.extend(file_errors)
    seen: dict[str, model.Case] = {}
    for case in cases:
        if case.id in seen:
            first = seen[case.id].location
            errors.append(
                ScenarioError(
                    f"duplicate case id (first defined at {first})", location=case.location, case_id=case.id
                )
            )
        else:
            seen[case.id] = case
    return LoadResult(cases=list(seen.values()), errors=errors, files=len(files))


def load_cases(paths: Iterable[Path] | None = None, *, role: str | None = "server") -> list[model.Case]:
    """Load and raise :class:`ScenarioErrors` if anything is wrong."""
    result = load(paths, role=role)
    if result.errors:
        raise ScenarioErrors(result.errors)
    return result.cases


def display_name(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_file(path: Path) -> tuple[list[model.Case], list[ScenarioError]]:
    name = display_name(path)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [ScenarioError(f"cannot read the file: {exc}", location=None, snippet=name)]
    try:
        return load_text(source, name)
    except ScenarioError as error:
        return [], [_with_snippet(error, source)]


def _with_snippet(error: ScenarioError, source: str) -> ScenarioError:
    if error.location is None or error.snippet:
        return error
    lines = source.splitlines()
    index = error.location.line - 1
    if not 0 <= index < len(lines):
        return error
    line = lines[index]
    marker = " " * (error.location.column - 1) + "^"
    snippet = f"  {error.location.line:>4} | {line}\n       | {marker}"
    return ScenarioError(error.message, location=error.location, case_id=error.case_id, snippet=snippet)


def load_text(source: str, name: str) -> tuple[list[model.Case], list[ScenarioError]]:
    """Load one file's text; a file-level problem raises, case-level problems are collected."""
    root = read_yaml(source, name)
    file_ctx = BuildContext(file=name, case_id="", protocol="h1")
    if root is None or not root.is_mapping:
        where = root if root is not None else None
        raise ScenarioError(
            "a case file is a mapping with protocol, rfc, section and cases",
            location=where.location if where else None,
        )
    check_keys(root, file_ctx, FILE_FIELDS, "the file")
    for required in ("protocol", "rfc", "section", "cases"):
        if required not in root.value:
            raise ScenarioError(f"the file needs {required!r}", location=root.location)
    protocol = text(root.value["protocol"], file_ctx, "protocol")
    if protocol not in model.PROTOCOLS:
        raise file_ctx.error(
            f"protocol: one of {', '.join(model.PROTOCOLS)}, not {protocol!r}", root.value["protocol"]
        )
    rfc = text(root.value["rfc"], file_ctx, "rfc")
    if not rfc.isdigit():
        raise file_ctx.error(f"rfc: a number, not {rfc!r}", root.value["rfc"])
    role = text(root.value["role"], file_ctx, "role") if "role" in root.value else "server"
    if role not in model.ROLES:
        raise file_ctx.error(f"role: one of {', '.join(model.ROLES)}, not {role!r}", root.value["role"])
    section = text(root.value["section"], file_ctx, "section")
    if not SECTION.fullmatch(section):
        raise file_ctx.error(f"section: like 5.1 or 6.5.2, not {section!r}", root.value["section"])
    defaults: dict[str, Node] = {}
    if "defaults" in root.value:
        defaults_node = root.value["defaults"]
        if not defaults_node.is_mapping:
            raise file_ctx.error("defaults: a mapping of case fields", defaults_node)
        check_keys(defaults_node, file_ctx, CASE_FIELDS - {"id", "steps", "params"}, "defaults")
        defaults = defaults_node.value
    cases_node = root.value["cases"]
    if not cases_node.is_sequence:
        raise file_ctx.error("cases: a list of cases", cases_node)
    cases: list[model.Case] = []
    errors: list[ScenarioError] = []
    # A client case's id starts with "client/": the two roles share protocols and sections
    # (h1/9112/6.3 is a server rule and a client rule), never ids.
    prefix = f"{'client/' if role == 'client' else ''}{protocol}/{rfc}/{section}"
    for case_node in cases_node.value:
        try:
            cases.extend(_expand_case(case_node, defaults, protocol, rfc, section, prefix, name, role))
        except ScenarioError as error:
            errors.append(_with_snippet(error, source))
    return cases, errors


def _expand_case(
    node: Node,
    defaults: dict[str, Node],
    protocol: str,
    rfc: str,
    section: str,
    prefix: str,
    file: str,
    role: str = "server",
) -> list[model.Case]:
    bare = BuildContext(file=file, case_id="", protocol=protocol, role=role)
    if not node.is_mapping:
        raise bare.error("a case is a mapping with id, title, requirement and steps", node)
    raw_id = text(node.value["id"], bare, "id") if "id" in node.value else None
    ctx = BuildContext(
        file=file, case_id=f"{prefix}/{raw_id}" if raw_id else "", protocol=protocol, role=role
    )
    check_keys(node, ctx, CASE_FIELDS, "a case")
    fields = {**defaults, **node.value}
    for required in ("id", "title", "requirement", "steps"):
        if required not in fields:
            raise ctx.error(f"the case needs {required!r}", node)
    requires = _requires(fields.get("requires"), ctx)
    ctx = BuildContext(
        file=file, case_id=ctx.case_id, protocol=protocol, requires=frozenset(requires), role=role
    )
    combos = _param_combinations(fields.get("params"), ctx)
    captured = _captured_names(fields["steps"])
    cases = []
    for params in combos:
        substituted = {
            key: _fill(value, params, ctx, captured) for key, value in fields.items() if key != "params"
        }
        cases.append(_build_case(substituted, node, params, protocol, rfc, section, prefix, file, role))
    return cases


def _requires(node: Node | None, ctx: BuildContext) -> tuple[str, ...]:
    """``requires: [echo]``: capabilities the target must offer, or the case is SKIPPED."""
    if node is None:
        return ()
    if not node.is_sequence:
        raise ctx.error(f"requires: a list of capabilities ({', '.join(CAPABILITIES)})", node)
    names = []
    for item in node.value:
        name = text(item, ctx, "a capability")
        if name not in CAPABILITIES:
            raise ctx.error(f"requires: unknown capability {name!r} (known: {', '.join(CAPABILITIES)})", item)
        names.append(name)
    return tuple(dict.fromkeys(names))


def _param_combinations(node: Node | None, ctx: BuildContext) -> list[dict[str, Any]]:
    if node is None:
        return [{}]
    if node.is_mapping:
        # Each name is an axis; every combination of one value per axis is a case. A value
        # that is a mapping sets several names at once (a group: a data kind with its number).
        axes: list[list[dict[str, Any]]] = []
        for name in node.value:
            _check_param_name(name, node.value[name], ctx)
            values = node.value[name]
            if not values.is_sequence or not values.value:
                raise ctx.error(f"params: {name} needs a non-empty list of values", values)
            axes.append([_param_group(name, v, ctx) for v in values.value])
        combos = []
        for combo in itertools.product(*axes):
            merged: dict[str, Any] = {}
            for group, values in zip(combo, node.value.values(), strict=True):
                clash = set(merged) & set(group)
                if clash:
                    raise ctx.error(f"params: {sorted(clash)[0]} is set by two axes", values)
                merged.update(group)
            combos.append(merged)
        return combos
    if node.is_sequence and node.value:
        combos = []
        keys: set[str] | None = None
        for item in node.value:
            if not item.is_mapping:
                raise ctx.error("params: each entry of the list is a mapping of name to value", item)
            for name in item.value:
                _check_param_name(name, item.value[name], ctx)
            if keys is not None and set(item.value) != keys:
                raise ctx.error(f"params: every entry needs the same names ({', '.join(sorted(keys))})", item)
            keys = set(item.value)
            combos.append({name: _param_value(v, ctx) for name, v in item.value.items()})
        return combos
    raise ctx.error("params: a mapping of name to a list of values, or a list of mappings", node)


def _check_param_name(name: str, node: Node, ctx: BuildContext) -> None:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ctx.error(f"params: {name!r} is not a valid name (letters, digits, _)", node)
    if name in TARGET_FIELDS:
        raise ctx.error(f"params: {name!r} is reserved for the target's {name}", node)


def _param_group(axis: str, node: Node, ctx: BuildContext) -> dict[str, Any]:
    """One value of a params axis: a plain value names itself; a mapping sets its names."""
    if not node.is_mapping:
        return {axis: _param_value(node, ctx)}
    group = {}
    for name, value in node.value.items():
        _check_param_name(name, value, ctx)
        group[name] = _param_value(value, ctx)
    return group


def _param_value(node: Node, ctx: BuildContext) -> Any:
    if isinstance(node.value, list) and all(
        isinstance(item.value, int) and not isinstance(item.value, bool) for item in node.value
    ):
        # A list of numbers, for a lone "{name}" that takes a list (split offsets, fragment sizes).
        return [item.value for item in node.value]
    if isinstance(node.value, (dict, list)):
        raise ctx.error("a parameter value is text, a number, a list of numbers or !hex bytes", node)
    return node.value


def _captured_names(steps: Node) -> frozenset[str]:
    """The names the case's ``capture`` steps define: filled at run time, like target fields."""
    names: set[str] = set()
    if steps.is_sequence:
        for step in steps.value:
            if step.is_mapping and "capture" in step.value and step.value["capture"].is_mapping:
                names.update(str(name) for name in step.value["capture"].value)
    return frozenset(names)


def _fill(
    node: Node, params: dict[str, Any], ctx: BuildContext, captured: frozenset[str] = frozenset()
) -> Node:
    """Fill parameters into every text below ``node``; refuse unknown template names."""
    if isinstance(node.value, dict):
        return Node(
            {k: _fill(v, params, ctx, captured) for k, v in node.value.items()}, node.location, node.tag
        )
    if isinstance(node.value, list):
        return Node([_fill(v, params, ctx, captured) for v in node.value], node.location, node.tag)
    if isinstance(node.value, BadHex):
        raise ctx.error(node.value.message, node)
    if not isinstance(node.value, str):
        return node
    value = node.value
    match = re.fullmatch(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", value)
    if match and match.group(1) in params and not isinstance(params[match.group(1)], str):
        whole = params[match.group(1)]  # a lone "{n}" takes the parameter's own type
        if isinstance(whole, list):  # a list of scalars (byte offsets, fragment sizes)
            return Node([Node(item, node.location) for item in whole], node.location)
        return Node(whole, node.location, "!hex" if isinstance(whole, bytes) else "")
    unknown = names_in(value) - set(params) - TARGET_FIELDS - captured
    if unknown:
        known = ", ".join(sorted(set(params) | TARGET_FIELDS | captured))
        raise ctx.error(
            f"unknown template {{{sorted(unknown)[0]}}} (known: {known}; write {{{{ for a literal brace)",
            node,
        )
    for name in sorted(names_in(value) - set(params)):
        capability = capability_of_template(name)
        if capability is not None and not capability.optional and capability.name not in ctx.requires:
            needs = f"`requires: [{capability.name}]` ({capability.summary})"
            raise ctx.error(f"{{{name}}} needs the case to declare {needs}", node)
    text_params = {k: _param_text(v) for k, v in params.items()}
    return Node(fill_params(value, text_params, run_time=captured), node.location, node.tag)


def _param_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


def _build_case(
    fields: dict[str, Node],
    node: Node,
    params: dict[str, Any],
    protocol: str,
    rfc: str,
    section: str,
    prefix: str,
    file: str,
    role: str = "server",
) -> model.Case:
    bare = BuildContext(file=file, case_id="", protocol=protocol, role=role)
    slug = text(fields["id"], bare, "id")
    case_id = f"{prefix}/{slug}"
    requires = _requires(fields.get("requires"), bare)
    ctx = BuildContext(file=file, case_id=case_id, protocol=protocol, requires=frozenset(requires), role=role)
    if not SLUG.fullmatch(slug):
        raise ctx.error(
            f"id {slug!r}: lowercase letters, digits, '.', '_' and '-', starting with a letter or digit",
            fields["id"],
        )
    if "{{" in slug:
        raise ctx.error("id: braces are not allowed", fields["id"])
    requirement_text = text(fields["requirement"], ctx, "requirement").upper()
    try:
        requirement = Requirement(requirement_text)
    except ValueError:
        choices = ", ".join(r.value for r in Requirement)
        raise ctx.error(
            f"requirement: one of {choices}, not {requirement_text!r}", fields["requirement"]
        ) from None
    transcript = None
    if "transcript" in fields:
        transcript = non_negative_int(fields["transcript"], ctx, "transcript (bytes of wire data kept)")
        if not 1024 <= transcript <= 1 << 20:
            raise ctx.error("transcript: from 1024 bytes to 1 MiB", fields["transcript"])
    timeout = None
    if "timeout" in fields:
        timeout = float(expect_type(fields["timeout"], ctx, (int, float), "a timeout in seconds"))
        if not 0 < timeout <= 600:
            raise ctx.error("timeout: more than 0 and at most 600 seconds", fields["timeout"])
    steps_node = fields["steps"]
    if not steps_node.is_sequence or not steps_node.value:
        raise ctx.error("steps: a non-empty list of steps", steps_node)
    steps = [build_step(step, ctx) for step in steps_node.value]
    if role == "client":
        # A client case starts by accepting the client's connection.
        if not isinstance(steps[0], model.Accept):
            from conformance.scenario.kinds.client import default_answer

            answer = default_answer(protocol)
            steps.insert(0, model.Accept(answer=answer, location=steps_node.location))
    elif not isinstance(steps[0], model.Connect):
        mode = model.DEFAULT_CONNECT.get(protocol, "target")
        steps.insert(0, model.Connect(mode=mode, location=steps_node.location))
    if not any(isinstance(step, model.Expect) for step in steps):
        raise ctx.error("a case needs at least one expect step (or it could never fail)", steps_node)
    return model.Case(
        id=case_id,
        protocol=protocol,
        rfc=rfc,
        section=section,
        slug=slug,
        title=text(fields["title"], ctx, "title"),
        requirement=requirement,
        reference=text(fields["reference"], ctx, "reference").strip() if "reference" in fields else "",
        aliases=_text_list(fields.get("aliases"), ctx, "aliases"),
        tags=_text_list(fields.get("tags"), ctx, "tags"),
        timeout=timeout,
        transcript=transcript,
        steps=tuple(steps),
        location=node.location,
        requires=requires,
        rule=_rule(fields.get("rule"), ctx),
        role=role,
    )


def _rule(node: Node | None, ctx: BuildContext) -> model.Rule | None:
    """``rule: {quote, source, subject[, exception]}``: the sentence that decides the case."""
    if node is None:
        return None
    if not node.is_mapping:
        raise ctx.error("rule: a mapping with quote, source and subject (and an optional exception)", node)
    check_keys(node, ctx, set(RULE_FIELDS), "rule")
    for required in ("quote", "source", "subject"):
        if required not in node.value:
            raise ctx.error(f"rule needs {required!r}", node)
    values = {key: " ".join(text(child, ctx, f"rule: {key}").split()) for key, child in node.value.items()}
    if values["subject"].lower() not in values["quote"].lower():
        raise ctx.error(
            f"rule: the subject {values['subject']!r} is not in the quoted sentence", node.value["subject"]
        )
    return model.Rule(**values)


def _text_list(node: Node | None, ctx: BuildContext, what: str) -> tuple[str, ...]:
    if node is None:
        return ()
    if not node.is_sequence:
        raise ctx.error(f"{what}: a list of text", node)
    return tuple(text(item, ctx, what) for item in node.value)
