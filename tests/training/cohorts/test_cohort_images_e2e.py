"""In Chromium: the scientist converts a demo cohort's images; the card and its progress pass axe."""
from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from reports.jobs.runner import run_job
from reports.models import Job, Protocol
from tests.e2e.conftest import (  # noqa: F401  (Debian chromium, as in tests/e2e)
    browser_type_launch_args,
    login,
)
from tests.training.cohorts.test_cohort_pages_e2e import AXE, AXE_RUN, PASSWORD, WAIT
from training.services.cohort_images import COHORT_IMAGES_JOB, cohort_images_job
from training.services.cohorts import cohort_freeze, cohort_spec_build

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_scientist_converts_a_demo_cohort_s_images(page: Page, live_server, monkeypatch, settings, tmp_path):
    settings.DICOM_STORAGE_DIR = tmp_path / "dicom"
    settings.IMAGE_CACHE_DIR = tmp_path / "cache"
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    call_command("seed_demo", reports=40, verbosity=0)
    protocol = Protocol.objects.get(irb_number="IRB-DEMO-0001")
    # Every study with a report, soft labels for the unconfirmed: the demo's imaged studies are in.
    spec = cohort_spec_build(protocol=protocol, data={"name": "images-e2e", "source": "confirmed+soft"})
    cohort = cohort_freeze(spec=spec, actor=None)
    page.add_init_script(path=str(AXE))
    login(page, live_server, "scientist", PASSWORD)
    page.goto(f"{live_server.url}/cohorts/{cohort.pk}/")
    assert not page.evaluate(AXE_RUN)
    # The job is queued (no worker in this test): the card shows it, polling, and passes axe.
    page.get_by_role("button", name="Convert images").click()
    expect(page.locator("#cohort-images progress")).to_be_visible(timeout=WAIT)
    assert not page.evaluate(AXE_RUN)
    run_job(Job.objects.get(kind=COHORT_IMAGES_JOB).pk, cohort_images_job)
    # htmx polling swaps in the finished card with the manifest links.
    expect(page.get_by_role("link", name="nifti-manifest", exact=True)).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("button", name="Convert images")).to_have_count(0)
    assert not page.evaluate(AXE_RUN)
    with page.expect_download() as download:
        page.get_by_role("link", name="nifti-manifest", exact=True).click()
    assert download.value.suggested_filename == f"cohort-{cohort.pk}-v1-nifti.jsonl"
    assert len(download.value.path().read_text().splitlines()) == cohort.volumes.count() > 0
