"""One journey: sign in through the login page, find the studies, sign out."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


def test_radiologist_signs_in_sees_their_study_and_signs_out(page: Page, live_server, radiologist, study) -> None:
    page.goto(f"{live_server.url}/studies/")
    # Signed out, every page sends the browser to the login page first.
    expect(page).to_have_url(re.compile(r"/accounts/login/"))

    login(page, live_server, "radiologist")
    # The dashboard shows the protocol as a card, with its reading queue one click away.
    expect(page.get_by_role("heading", name=study.protocol.title)).to_be_visible()
    expect(page.get_by_role("link", name="Start reading")).to_be_visible()
    page.get_by_role("link", name="Studies").first.click()
    expect(page.get_by_role("link", name=study.accession)).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.goto(f"{live_server.url}/studies/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_outsider_sees_no_study(page: Page, live_server, outsider, study) -> None:
    login(page, live_server, "outsider")
    page.goto(f"{live_server.url}/studies/")
    expect(page.get_by_text("No studies.")).to_be_visible()
    expect(page.get_by_text(study.accession)).to_have_count(0)
    # Nor by typing the study's address: out of scope answers 404, like a study that does not exist.
    response = page.goto(f"{live_server.url}/studies/{study.pk}/")
    assert response is not None
    assert response.status == 404


def test_wrong_password_is_refused_on_the_login_page(page: Page, live_server, radiologist) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("radiologist")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
    expect(page.locator(".topbar .who")).to_have_count(0)
