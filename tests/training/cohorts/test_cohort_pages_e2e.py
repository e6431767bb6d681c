"""In Chromium: the scientist freezes a cohort on the demo, the live count updates, the pages pass axe."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from tests.e2e.conftest import (  # noqa: F401  (Debian chromium, as in tests/e2e)
    browser_type_launch_args,
    login,
)
from training.models import Cohort

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parents[2] / "e2e" / "vendor" / "axe-4.11.0.min.js"
PASSWORD = "demo-Password-42"
WAIT = 20_000  # ms: the shared CI machine can be slow to answer a freeze
AXE_RUN = (
    "async () => (await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}))"
    ".violations.map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))"
)


def test_scientist_freezes_a_demo_cohort_in_the_browser(page: Page, live_server, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    call_command("seed_demo", reports=40, verbosity=0)
    page.add_init_script(path=str(AXE))
    login(page, live_server, "scientist", PASSWORD)
    page.get_by_role("link", name="Cohorts", exact=True).click()
    assert not page.evaluate(AXE_RUN)
    page.get_by_role("link", name="New cohort").click()
    page.get_by_label("Name").fill("demo-e2e")
    page.get_by_label("U-Zeros: uncertain is negative").check()  # a change: htmx asks for the count
    expect(page.locator("#cohort-preview strong")).to_have_text(re.compile(r"^[1-9]\d*$"), timeout=WAIT)
    counted = int(page.locator("#cohort-preview strong").inner_text())
    assert not page.evaluate(AXE_RUN)
    page.get_by_role("button", name="Freeze cohort").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Cohort demo-e2e", timeout=WAIT)
    cohort = Cohort.objects.get(name="demo-e2e")
    assert cohort.study_count == counted
    expect(page.locator("figure.cohort-chart svg rect")).not_to_have_count(0)
    expect(page.get_by_text(cohort.sha256)).to_be_visible()
    assert not page.evaluate(AXE_RUN)
    with page.expect_download() as download:
        page.get_by_role("link", name="JSONL").click()
    assert download.value.suggested_filename == f"cohort-{cohort.pk}-v1.jsonl"
