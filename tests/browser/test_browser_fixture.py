"""The browser lives only as long as the browser tests: Playwright's sync API keeps an asyncio
loop marked "running" in the main thread while it is open, and tests elsewhere that run an
event loop of their own (tests/integration/test_apps.py) fail under it."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_the_chromium_fixture_is_torn_down_with_this_package(request: pytest.FixtureRequest) -> None:
    definitions = request._fixturemanager.getfixturedefs("chromium", request.node)
    assert definitions is not None
    assert [definition.scope for definition in definitions] == ["package"]
    # Package scope means this directory only if it is a package: without __init__.py pytest
    # has no Package node here and a "package" fixture lives as long as the session.
    packages = [parent for parent in request.node.iter_parents() if isinstance(parent, pytest.Package)]
    assert [package.path for package in packages] == [Path(__file__).parent]
