"""A reader looks at a study's images beside its report: thumbnails, slices by key, presets."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from reports.models import AccessEvent, AuditAction, Role
from tests.e2e.conftest import login
from tests.reports.dicom.factories import make_imaged_study
from tests.reports.factories import MembershipFactory, ProtocolFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_reader_scrolls_slices_and_switches_presets(page: Page, live_server, settings, tmp_path):
    settings.DICOM_STORAGE_DIR = tmp_path / "dicom"
    settings.IMAGE_CACHE_DIR = tmp_path / "cache"
    protocol = ProtocolFactory()
    MembershipFactory(user=UserFactory(username="reader"), protocol=protocol, role=Role.RADIOLOGIST)
    study, series = make_imaged_study(protocol, slices=6)
    login(page, live_server, "reader")
    page.goto(f"{live_server.url}/read/{study.pk}/")

    viewer = page.locator("#viewer-image")
    expect(viewer).to_be_visible()
    expect(page.locator(".series-thumb")).to_have_count(1)
    expect(page.locator("#viewer-position")).to_have_text("Slice 1 / 6")
    page.locator(".viewer").focus()
    page.keyboard.press(".")
    page.keyboard.press(".")
    expect(page.locator("#viewer-position")).to_have_text("Slice 3 / 6")
    page.keyboard.press("2")
    expect(viewer).to_have_attribute("src", f"/series/{series.pk}/slice.png?i=2&preset=lung")
    expect(page.locator(".preset.current")).to_have_text("Lung 2")
    # Polled from here: wait_for_function would evaluate a string, which the page's CSP forbids.
    for _ in range(50):
        if viewer.evaluate("img => img.complete && img.naturalWidth > 0"):
            break
        page.wait_for_timeout(100)
    assert viewer.evaluate("img => img.naturalWidth") > 0
    page.keyboard.press(",")
    expect(page.locator("#viewer-position")).to_have_text("Slice 2 / 6")
    slices = {event.detail["slice"] for event in AccessEvent.objects.filter(action=AuditAction.IMAGE_READ)}
    assert {0, 2} <= slices  # what was shown was audited
