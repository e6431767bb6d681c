"""Browser fixtures for tests marked `e2e`: Playwright driving Debian's chromium.

pytest-playwright provides `browser`, `context` and `page`; this only tells it which chromium to
launch (Playwright's own browser download is unreachable on the hospital network and in CI) and
with which flags. Tests serve the app with pytest-django's `live_server`.
"""
from __future__ import annotations

import os
from typing import Any

import pytest
from playwright.sync_api import Page, expect

CHROMIUM = os.environ.get("RADLABEL_CHROMIUM", "/usr/bin/chromium")
# The password of every user made by tests.reports.factories.UserFactory.
PASSWORD = "correct-horse-battery"
# Without the background-networking flag chromium keeps dialling out, and the closed network
# refuses each attempt; no sandbox because CI runs as root.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    # Playwright's sync API keeps an event loop running in this thread for the rest of the
    # session; Django would then refuse every ORM call the test makes as "async-unsafe", although
    # nothing here runs asynchronously.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}


def login(page: Page, live_server: Any, username: str, password: str = PASSWORD) -> None:
    """Sign in through the real login page and wait until the app shows who is signed in."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".topbar .who")).to_have_text(username)
