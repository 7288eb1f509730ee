"""The codecs are sans-IO: importing any of them does not import Twisted."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import conformance.codecs

CODEC_MODULES = sorted(
    f"conformance.codecs.{info.name}" for info in pkgutil.iter_modules(conformance.codecs.__path__)
)

PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(m for m in sys.modules if m == "twisted" or m.startswith("twisted."))))
"""


def test_the_codecs_package_has_the_http1_codec() -> None:
    assert "conformance.codecs.http1" in CODEC_MODULES
    assert "conformance.codecs.common" in CODEC_MODULES


def test_importing_every_codec_does_not_import_twisted() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "conformance.codecs", *CODEC_MODULES],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(result.stdout) == []


def test_the_probe_can_fail() -> None:
    # The same check sees Twisted when something does import it.
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "twisted.internet.defer"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "twisted.internet.defer" in json.loads(result.stdout)
