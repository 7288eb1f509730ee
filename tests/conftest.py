"""Shared fixtures: the process-wide reactor thread, and running cases in-process."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, settings

# pytester runs pytest in a subprocess for the pytest plugin's tests (tests/unit/plugin).
pytest_plugins = ["pytester"]

settings.register_profile("ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") == "true" else "dev"))

# The CLI keeps parsed case files between runs (conformance.scenario.cache): the runs the
# tests start keep theirs in a directory of the test session's own, not the user's home.
if "CONFORMANCE_CACHE_DIR" not in os.environ:
    _CACHE = tempfile.mkdtemp(prefix="conformance-test-cache-")
    os.environ["CONFORMANCE_CACHE_DIR"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)


@pytest.fixture(scope="session")
def reactor_thread():  # type: ignore[no-untyped-def]
    from conformance.driver.threaded import reactor_thread as get

    return get()
