"""One journey: a radiologist turns on two-step sign-in, then signs in with password and code.

The sign-in code page is never reached by the accessibility crawl (the crawl is signed in), so
this journey runs axe-core on it, on the account page and on the enrolment page itself.
"""
from __future__ import annotations

import base64
import re
import time

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PASSWORD, login
from tests.e2e.test_accessibility import AXE

pytestmark = pytest.mark.e2e

AXE_RUN = (
    "async () => (await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}))"
    ".violations.map(v => v.id)"
)


def _app_code(key_text: str, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for the key typed from the page (30 s, 6 digits)."""
    key = key_text.replace(" ", "")
    totp = TOTP(base64.b32decode(key + "=" * (-len(key) % 8)), step=30, t0=0, digits=6)
    totp.time = time.time() + steps_ahead * 30
    return f"{totp.token():06d}"


def test_radiologist_enrols_then_signs_in_with_a_code(page: Page, live_server, radiologist) -> None:
    page.add_init_script(path=str(AXE))
    login(page, live_server, "radiologist")
    page.locator(".topbar .who").click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    assert page.evaluate(AXE_RUN) == []
    page.get_by_role("link", name="Set up two-step sign-in").click()

    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    assert page.evaluate(AXE_RUN) == []
    key_text = page.locator(".totp-key").inner_text()
    page.get_by_label("6-digit code").fill(_app_code(key_text))
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.get_by_text("Two-step sign-in is on")).to_be_visible()
    expect(page.get_by_role("button", name="Remove two-step sign-in")).to_be_visible()
    assert page.evaluate(AXE_RUN) == []

    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Username").fill("radiologist")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Sign-in code")).to_be_visible()
    expect(page.locator(".topbar .who")).to_have_count(0)
    assert page.evaluate(AXE_RUN) == []

    page.get_by_label("6-digit code").fill("000000" if _app_code(key_text, 1) != "000000" else "111111")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong or has expired")
    assert page.evaluate(AXE_RUN) == []

    # The code used to enrol is spent; the app's next one is already accepted.
    page.get_by_label("6-digit code").fill(_app_code(key_text, steps_ahead=1))
    page.get_by_role("button", name="Verify").click()
    expect(page.locator(".topbar .who")).to_have_text("radiologist")
