"""Every screen passes axe-core's WCAG 2 A / AA rules, for every demo role.

A crawler, not a list: it follows the same-origin links of each page a signed-in demo user can
reach from home, so a new screen is checked the day it is linked. axe-core is vendored
(tests/e2e/vendor, MPL-2.0) because the hospital network, and CI, cannot fetch it.
"""
from __future__ import annotations

import re
from collections import deque
from pathlib import Path
from urllib.parse import urldefrag, urlparse

import pytest
from django.core.management import call_command
from playwright.sync_api import Page

from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).with_name("vendor") / "axe-4.11.0.min.js"
DEMO_PASSWORD = "demo-Password-42"
MAX_PAGES = 30  # per user: enough for one of each screen, since lists repeat the same detail page
# Links that end the session, download files, or belong to Django's own admin.
SKIP = re.compile(r"/accounts/logout|/admin/|/export|/model/|\.png$|\.csv$|\.jsonl$|/api/")


def _same_kind(path: str) -> str:
    """/read/12/ and /read/13/ are one screen: check one of each."""
    return re.sub(r"\d+", "N", path)


def _crawl(page: Page, base: str) -> dict[str, list[str]]:
    page.add_init_script(path=str(AXE))
    seen_kinds: set[str] = set()
    queue = deque([f"{base}/"])
    violations: dict[str, list[str]] = {}
    checked = 0
    while queue and checked < MAX_PAGES:
        url = queue.popleft()
        kind = _same_kind(urlparse(url).path + ("?" + urlparse(url).query if urlparse(url).query else ""))
        if kind in seen_kinds:
            continue
        seen_kinds.add(kind)
        response = page.goto(url)
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            continue
        # htmx fragments load right after the page (the image strip, job progress): let them land.
        page.wait_for_timeout(300)
        checked += 1
        result = page.evaluate(
            "async () => (await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})).violations"
            ".map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))"
        )
        if result:
            violations[urlparse(url).path] = result
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            href = urldefrag(href)[0]
            if href.startswith(base) and not SKIP.search(href):
                queue.append(href)
    assert checked >= 3, f"the crawl reached only {checked} page(s)"
    return violations


@pytest.mark.parametrize("username", ["radiologist", "curator", "scientist", "admin"])
def test_every_reachable_screen_has_no_axe_violation(page: Page, live_server, username, monkeypatch, tmp_path, settings):
    settings.DICOM_STORAGE_DIR = tmp_path / "dicom"
    settings.IMAGE_CACHE_DIR = tmp_path / "cache"
    monkeypatch.setenv("DEMO_PASSWORD", DEMO_PASSWORD)
    call_command("seed_demo", reports=40, verbosity=0)
    login(page, live_server, username, DEMO_PASSWORD)
    violations = _crawl(page, live_server.url)
    assert not violations, "\n".join(f"{path}: {items}" for path, items in violations.items())
