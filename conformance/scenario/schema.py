"""The JSON Schema of case files, generated from the kind registry.

The shipped copy (``conformance/schema/case.schema.json``) is what editors use; a test
checks that it equals what this module generates, so the two never drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import conformance.scenario.kinds  # noqa: F401  (fills the registry's tables)
from conformance.scenario.registry import (
    CAPABILITIES,
    EXPECT_KINDS,
    PAYLOAD_KINDS,
    STEP_KINDS,
    Kind,
    connect_schema,
)

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema" / "case.schema.json"


def _one_key_objects(table: dict[str, Kind[Any]], extra: dict[str, Any]) -> list[dict[str, Any]]:
    variants = []
    for kind in table.values():
        properties: dict[str, Any] = {kind.name: {**kind.schema, "description": kind.summary}}
        for option in kind.options:
            properties[option] = {}
        properties.update(extra)
        variants.append(
            {
                "type": "object",
                "required": [kind.name],
                "properties": properties,
                "additionalProperties": False,
            }
        )
    return variants


def build_schema() -> dict[str, Any]:
    grade = {
        "strict": {"type": "boolean"},
        "unimplemented": {"type": "boolean"},
        "unexercised": {"type": "boolean"},
    }
    header_condition = {
        "oneOf": [
            {"type": ["string", "number", "boolean"]},
            {
                "type": "object",
                "properties": {
                    "equals": {"type": "string"},
                    "contains": {"type": "string"},
                    "matches": {"type": "string"},
                },
                "additionalProperties": False,
                "minProperties": 1,
                "maxProperties": 1,
            },
        ]
    }
    case_properties: dict[str, Any] = {
        "id": {
            "type": "string",
            "pattern": "^[a-z0-9{][a-z0-9._{}A-Za-z_-]*$",
            "description": "stable slug; the full id is protocol/rfc/section/slug",
        },
        "title": {"type": "string"},
        "requirement": {"enum": ["MUST", "SHOULD", "MAY", "INFO"]},
        "reference": {"type": "string", "description": "what the RFC says, with its section"},
        "rule": {
            "type": "object",
            "description": "the RFC sentence that decides the case: its keyword sets requirement, "
            "its subject is the implementation under test",
            "properties": {
                "quote": {"type": "string", "description": "the sentence, verbatim"},
                "source": {"type": "string", "description": "e.g. RFC 9112 §6.3"},
                "subject": {"type": "string", "description": "the sentence's subject, as written in it"},
                "exception": {"type": "string", "description": "why the keyword does not set the level"},
            },
            "required": ["quote", "source", "subject"],
            "additionalProperties": False,
        },
        "description": {"type": "string"},
        "aliases": {"type": "array", "items": {"type": "string"}},
        "tags": {"type": "array", "items": {"type": "string"}},
        "requires": {
            "type": "array",
            "items": {"enum": list(CAPABILITIES)},
            "description": "what the target must offer, or the case is SKIPPED: "
            + "; ".join(f"{c.name}: {c.summary}" for c in CAPABILITIES.values()),
        },
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 600},
        "transcript": {"type": "integer", "minimum": 1024, "maximum": 1048576},
        "params": {
            "oneOf": [
                {"type": "object", "additionalProperties": {"type": "array", "minItems": 1}},
                {"type": "array", "items": {"type": "object"}, "minItems": 1},
            ]
        },
        "steps": {"type": "array", "items": {"$ref": "#/$defs/step"}, "minItems": 1},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://conformance.invalid/case.schema.json",
        "title": "conformance case file",
        "type": "object",
        "required": ["protocol", "rfc", "section", "cases"],
        "additionalProperties": False,
        "properties": {
            "protocol": {"enum": ["h1", "h2", "ws"]},
            "role": {
                "enum": ["server", "client"],
                "description": "the side the implementation under test plays: server (conformance "
                "run, the default) or client (conformance client: the harness listens and starts it)",
            },
            "rfc": {"type": ["integer", "string"]},
            "section": {"type": "string"},
            "title": {"type": "string"},
            "defaults": {
                "type": "object",
                "properties": {
                    k: v for k, v in case_properties.items() if k not in ("id", "steps", "params")
                },
                "additionalProperties": False,
            },
            "cases": {"type": "array", "items": {"$ref": "#/$defs/case"}},
        },
        "$defs": {
            "case": {
                "type": "object",
                "required": ["id", "title", "steps"],
                "properties": case_properties,
                "additionalProperties": False,
            },
            "step": {"oneOf": _one_key_objects(STEP_KINDS, {})},
            "connect": connect_schema(),
            "payload": {
                "oneOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"$ref": "#/$defs/payload"}},
                    *_one_key_objects(PAYLOAD_KINDS, {}),
                ]
            },
            "send": {
                "anyOf": [
                    {"$ref": "#/$defs/payload"},
                    {"type": "object", "description": "a payload generator plus split / delay_ms"},
                ]
            },
            "expectation": {
                "oneOf": [
                    {"type": "array", "items": {"$ref": "#/$defs/expectation"}},
                    *_one_key_objects(EXPECT_KINDS, grade),
                ]
            },
            "echo_condition": {
                "description": "true/false (present/absent), the combined value, {contains}, {matches}, "
                "{equals}, {not: condition}, or a list of conditions (any of them)",
                "oneOf": [
                    {"type": ["string", "number", "boolean"]},
                    {"type": "array", "items": {"$ref": "#/$defs/echo_condition"}, "minItems": 1},
                    {
                        "type": "object",
                        "properties": {
                            "equals": {"type": "string"},
                            "contains": {"type": "string"},
                            "matches": {"type": "string"},
                            "not": {"$ref": "#/$defs/echo_condition"},
                        },
                        "additionalProperties": False,
                        "minProperties": 1,
                        "maxProperties": 1,
                    },
                ],
            },
            "response": {
                "type": ["object", "null"],
                "properties": {
                    "status": {
                        "oneOf": [
                            {"type": "integer"},
                            {"type": "string", "pattern": "^[1-5]xx$"},
                            {"type": "array"},
                        ]
                    },
                    "version": {"type": "string"},
                    "reason": {"type": ["string", "null"]},
                    "headers": {"type": "object", "additionalProperties": header_condition},
                    "body": {},
                    "violations": {
                        "oneOf": [{"const": "none"}, {"type": "array", "items": {"type": "string"}}]
                    },
                },
                "additionalProperties": False,
            },
        },
    }


def schema_text() -> str:
    return json.dumps(build_schema(), indent=2, sort_keys=True) + "\n"
