"""Browser tests of index.html: Playwright driving Debian's chromium, headless.

Never downloads a browser: Playwright is pointed at /usr/bin/chromium. Outside CI the tests
skip when chromium or the playwright package is missing; under CI=true they fail instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CONFORMANCE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Runs before the page's own script (Playwright injects it through the DevTools protocol, so
# the page's Content-Security-Policy does not apply to it): records every CSP violation.
WATCH_CSP = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests cannot run under CI: {reason}")
    pytest.skip(reason)


# Package scope, never session: Playwright's sync API keeps an asyncio loop marked "running"
# in the main thread for as long as it lives, and tests outside tests/browser that start an
# event loop of their own (tests/integration/test_apps.py) fail under it. Torn down with the
# package, the browser is gone before any other package's tests run.
@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _unavailable(f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Opened:
    """A report page and everything it did: requests, console messages, errors."""

    page: Any
    url: str
    requests: list[str] = field(default_factory=list)
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (url, why)

    def violations(self) -> list[str]:
        return list(self.page.evaluate("window.__violations"))

    def assert_clean(self) -> None:
        """Nothing loaded but the file, nothing failed, the CSP refused nothing."""
        assert [url.split("#")[0] for url in self.requests] == [self.url.split("#")[0]]
        assert self.errors == []
        assert [text for kind, text in self.console if kind in ("error", "warning")] == []
        assert self.violations() == []


@pytest.fixture
def open_report(chromium: Any) -> Iterator[Any]:
    """``open_report(path, fragment="")``: the report loaded from file://, its script done."""
    contexts = []

    def open_(path: Path, fragment: str = "", *, wait: bool = True) -> Opened:
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        context.add_init_script(WATCH_CSP)
        page = context.new_page()
        url = path.resolve().as_uri() + (f"#{fragment}" if fragment else "")
        opened = Opened(page=page, url=url)
        page.on("request", lambda request: opened.requests.append(request.url))
        page.on("console", lambda message: opened.console.append((message.type, message.text)))
        page.on("pageerror", lambda error: opened.errors.append(str(error)))
        page.on("requestfailed", lambda request: opened.failed.append((request.url, request.failure or "")))
        page.goto(url, wait_until="load")
        if wait:
            page.wait_for_selector("html[data-ready=true]", state="attached", timeout=10_000)
        return opened

    yield open_
    for context in contexts:
        context.close()
