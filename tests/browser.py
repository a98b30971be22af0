"""Headless Chromium (Debian's, driven by Playwright) for the browser tests of tests/web and
tests/console: where it is, how it starts, when the tests skip, and the ``browser`` fixture
(exposed to the whole suite by tests/conftest.py).

A browser test module starts with ``pytestmark = [*BROWSER_TEST, pytest.mark.timeout(...)]``:
the page talks to ``live_server`` in another thread, so the test's data must be committed
(``transaction=True``), and without Chromium the module is skipped on a developer's machine but
fails in CI, which installs it (.ci/run).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import Browser, sync_playwright

from tests.helpers import in_ci

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

BROWSER_TEST = [
    pytest.mark.skipif(
        not CHROMIUM.exists() and not in_ci(),
        reason="Chromium is not installed at /usr/bin/chromium (CI installs it and runs this test)",
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still
    # synchronous code, so Django's async-safety guard is relaxed for this test only.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            # Inside Playwright's context Django sees database connections of their own (its
            # connection handler is context-local); close them here or they outlive the test
            # database.
            connections.close_all()
