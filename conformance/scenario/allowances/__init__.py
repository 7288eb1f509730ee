"""Named sets of behaviours the RFCs always allow a server, shared by the cases.

A case includes one with ``allow: NAME`` wherever an expectation may stand (usually as the
last alternatives of a ``one_of``): the same permitted behaviour (an early final answer then
a close, a graceful GOAWAY, a documented size limit) is then judged the same way in every
case where it can happen, instead of by copies that drift apart. Each protocol's sets live in
``<protocol>.yaml`` beside this module; a set has a ``summary`` (how reports describe it), the
``rule`` that permits it (RFC sentence and section) and the ``expect`` it stands for, in the
ordinary expectation language with its grades (``strict: false``, ``unexercised: true``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from conformance.errors import ScenarioError
from conformance.scenario.nodes import Node, read_yaml


@dataclass(frozen=True, kw_only=True)
class Allowance:
    name: str
    summary: str
    rule: str
    expect: Node  # built by the registry in the including case's context


@cache
def allowances(protocol: str) -> dict[str, Allowance]:
    """The named sets of one protocol (``h1``, ``h2``, ``ws``), read once."""
    resource = resources.files(__package__).joinpath(f"{protocol}.yaml")
    if not resource.is_file():
        return {}
    file = f"conformance/scenario/allowances/{protocol}.yaml"
    root = read_yaml(resource.read_text(encoding="utf-8"), file)
    found: dict[str, Allowance] = {}
    if root is None:
        return found
    if not root.is_mapping:
        raise ScenarioError("an allowance file is a mapping of names to sets", location=root.location)
    for name, node in root.value.items():
        if not node.is_mapping or {"summary", "rule", "expect"} - set(node.value):
            raise ScenarioError(
                f"allowance {name!r}: a mapping with summary, rule and expect", location=node.location
            )
        found[name] = Allowance(
            name=name,
            summary=str(node.value["summary"].value).strip(),
            rule=str(node.value["rule"].value).strip(),
            expect=node.value["expect"],
        )
    return found
