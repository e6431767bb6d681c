"""A curator who types y twenty times without waiting judges twenty matches, none dropped.

Found in issue 8's walk-through: a key pressed while the previous verdict was still being saved
was ignored, though the current row had moved on, so fast judging silently skipped rows.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from annotation.models import MatchJudgement
from tests.e2e.conftest import login
from tests.e2e.test_judge_matches import PER_PAGE, _setup

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_keys_pressed_while_a_verdict_is_saving_are_not_lost(page: Page, live_server):
    protocol_id, label_id = _setup(PER_PAGE)
    login(page, live_server, "lead")
    page.goto(f"{live_server.url}/protocols/{protocol_id}/labels/{label_id}/phrases/")
    expect(page.locator("#phrase-rows")).to_contain_text("not judged")
    page.get_by_title("Judge the matches of “pleural effusion”").click()
    page.wait_for_load_state()  # judge.js is deferred: keys typed before it runs go nowhere
    rows = page.locator(".match-row")
    expect(rows).to_have_count(PER_PAGE)

    for _ in range(PER_PAGE - 1):
        page.keyboard.press("y")
    page.keyboard.press("n")

    expect(page.locator("#phrase-precision")).to_contain_text(f"{PER_PAGE} judged", timeout=60_000)
    expect(rows.locator(".verdict-right")).to_have_count(PER_PAGE - 1)
    expect(rows.nth(PER_PAGE - 1).locator(".verdict")).to_contain_text("wrong")
    assert MatchJudgement.objects.count() == PER_PAGE
    page.goto(f"{live_server.url}/protocols/{protocol_id}/labels/{label_id}/phrases/")
    expect(page.locator("#phrase-rows")).to_contain_text("0.95 [0.79–0.99]")
    expect(page.locator("#phrase-rows .interval-bar")).to_have_count(1)
