"""YAML read into nodes that remember where they came from.

Composing (not constructing) keeps every node's line and column, so any error in a case
file can point at the exact spot. Uses libyaml's C loader when it is available.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from conformance.errors import ScenarioError, SourceLocation

try:  # the C-accelerated loader, when PyYAML was built with libyaml
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Loader = yaml.SafeLoader

_scalar_constructor = yaml.constructor.SafeConstructor()
HEX_TAG = "!hex"
_HEX_CHARS = re.compile(r"[0-9a-fA-F\s]*")


@dataclass(frozen=True)
class BadHex:
    """A ``!hex`` scalar that is not hexadecimal; reported when its case is built, so the
    error can name the case."""

    message: str


@dataclass(frozen=True)
class Node:
    """A YAML value (dict of Nodes, list of Nodes, or a scalar) and its location."""

    value: Any
    location: SourceLocation
    tag: str = ""

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_sequence(self) -> bool:
        return isinstance(self.value, list)

    def plain(self) -> Any:
        """The value with every nested Node unwrapped."""
        if isinstance(self.value, dict):
            return {key: node.plain() for key, node in self.value.items()}
        if isinstance(self.value, list):
            return [node.plain() for node in self.value]
        return self.value


def _location(file: str, node: yaml.Node) -> SourceLocation:
    return SourceLocation(file=file, line=node.start_mark.line + 1, column=node.start_mark.column + 1)


def _convert(file: str, node: yaml.Node) -> Node:
    location = _location(file, node)
    if isinstance(node, yaml.MappingNode):
        items: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ScenarioError("mapping keys must be plain text", location=_location(file, key_node))
            key = str(_scalar_constructor.construct_object(key_node))
            if key == "<<":
                raise ScenarioError("YAML merge keys are not supported", location=_location(file, key_node))
            if key in items:
                raise ScenarioError(f"duplicate key {key!r}", location=_location(file, key_node))
            items[key] = _convert(file, value_node)
        return Node(items, location)
    if isinstance(node, yaml.SequenceNode):
        return Node([_convert(file, child) for child in node.value], location)
    if node.tag == HEX_TAG:
        text = node.value
        if not _HEX_CHARS.fullmatch(text):
            return Node(
                BadHex(f"!hex takes hexadecimal digits and spaces, not {text!r}"), location, tag=HEX_TAG
            )
        digits = re.sub(r"\s+", "", text)
        if len(digits) % 2:
            return Node(BadHex("!hex needs an even number of hexadecimal digits"), location, tag=HEX_TAG)
        return Node(bytes.fromhex(digits), location, tag=HEX_TAG)
    if node.tag.startswith("!"):
        raise ScenarioError(f"unknown tag {node.tag}", location=location)
    try:
        value = _scalar_constructor.construct_object(node)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"bad value: {exc}", location=location) from None
    return Node(value, location)


def read_yaml(text: str, file: str) -> Node | None:
    """Parse one YAML document into nodes; a syntax error becomes a located ScenarioError."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        location = SourceLocation(file=file, line=mark.line + 1, column=mark.column + 1) if mark else None
        problem = exc.problem or str(exc)
        if exc.context:
            problem = f"{problem} ({exc.context})"
        raise ScenarioError(f"YAML syntax: {problem}", location=location) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"YAML: {exc}", location=SourceLocation(file=file, line=1, column=1)) from None
    if root is None:
        return None
    return _convert(file, root)
