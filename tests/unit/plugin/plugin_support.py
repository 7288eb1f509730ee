"""What the plugin's tests share besides fixtures (those are in conftest.py): the case file
their projects hold and how they run pytest (in a subprocess, with this checkout's package)."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

CASES = """\
protocol: h1
rfc: 9112
section: "1"
cases:
  - id: must-200
    title: a plain GET is answered
    requirement: MUST
    steps:
      - send: "GET / HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect: {response: {status: 200}}
  - id: should-400
    title: this server should have said 400
    requirement: SHOULD
    steps:
      - send: "GET / HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect: {response: {status: 400}}
  - id: should-404
    title: this server should have said 404
    requirement: SHOULD
    steps:
      - send: "GET / HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect: {response: {status: 404}}
  - id: lenient
    title: 400 preferred, 200 allowed
    requirement: MUST
    steps:
      - send: "GET / HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect:
          one_of:
            - response: {status: 400}
            - response: {status: 200}
              strict: false
  - id: optional-feature
    title: an optional feature this server lacks
    requirement: MAY
    steps:
      - send: "GET / HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect:
          one_of:
            - response: {status: 400}
            - response: {status: 200}
              unimplemented: true
"""


def _plugin_installed() -> bool:
    return any(ep.name == "conformance" for ep in metadata.entry_points(group="pytest11"))


# Installed (tox), the entry point loads the plugin; from a checkout, -p does.
PLUGIN = [] if _plugin_installed() else ["-p", "conformance.pytest_plugin"]


def run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    return project.runpytest_subprocess(*PLUGIN, "-p", "no:cacheprovider", *args, timeout=120)


def target_args(url: str) -> list[str]:
    return ["--conformance-target", f"srv={url}", "--conformance-cases", "cases.yaml"]
