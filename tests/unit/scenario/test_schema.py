"""The shipped JSON Schema equals the one the kind registry generates, and accepts the
bundled cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conformance.scenario import bundled_cases_dir
from conformance.scenario.registry import EXPECT_KINDS, STEP_KINDS
from conformance.scenario.schema import SCHEMA_PATH, schema_text


def test_shipped_schema_is_current() -> None:
    assert SCHEMA_PATH.read_text() == schema_text(), "run: conformance schema --out " + str(SCHEMA_PATH)


def test_every_registered_kind_is_in_the_schema() -> None:
    schema = json.loads(schema_text())
    step_names = {next(iter(v["required"])) for v in schema["$defs"]["step"]["oneOf"]}
    assert step_names == set(STEP_KINDS)
    expect_names = {
        next(iter(v["required"])) for v in schema["$defs"]["expectation"]["oneOf"] if "required" in v
    }
    assert expect_names == set(EXPECT_KINDS)


def _hex(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(node.value)


@pytest.mark.parametrize("path", sorted(bundled_cases_dir().rglob("*.yaml")), ids=lambda p: p.name)
def test_bundled_cases_validate_against_the_schema(path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!hex", _hex)
    document = yaml.load(path.read_text(), Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    jsonschema.validate(document, json.loads(schema_text()))
