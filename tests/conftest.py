"""Shared fixtures: the process-wide reactor thread, and running cases in-process."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# pytester runs pytest in a subprocess for the pytest plugin's tests (tests/unit/plugin).
pytest_plugins = ["pytester"]

settings.register_profile("ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") == "true" else "dev"))


@pytest.fixture(scope="session")
def reactor_thread():  # type: ignore[no-untyped-def]
    from conformance.driver.threaded import reactor_thread as get

    return get()
