"""In Chromium: a refused study's "Retry refused", and the job pages of a cohort conversion and of
a DICOM import with skipped files; each screen passes axe."""
from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from reports.jobs.runner import run_job
from reports.models import DicomInstance, Job, Protocol
from reports.services.dicom import dicom_import_enqueue
from reports.tasks import import_dicom
from tests.e2e.conftest import (  # noqa: F401  (Debian chromium, as in tests/e2e)
    browser_type_launch_args,
    login,
)
from tests.training.cohorts.test_cohort_pages_e2e import AXE, AXE_RUN, PASSWORD, WAIT
from training.models import CohortStudy, CohortVolume
from training.services.cohort_images import COHORT_IMAGES_JOB, cohort_images_job
from training.services.cohorts import cohort_freeze, cohort_spec_build

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(monkeypatch, settings, tmp_path) -> Protocol:
    settings.DICOM_STORAGE_DIR = tmp_path / "dicom"
    settings.DICOM_IMPORT_ROOT = tmp_path / "inbox"
    settings.IMAGE_CACHE_DIR = tmp_path / "cache"
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    call_command("seed_demo", reports=40, verbosity=0)
    return Protocol.objects.get(irb_number="IRB-DEMO-0001")


def test_a_refused_study_is_retried_from_the_cohort_page(page: Page, live_server, demo, settings):
    cohort = cohort_freeze(spec=cohort_spec_build(protocol=demo, data={"name": "retry-e2e", "source": "confirmed+soft"}),
                           actor=None)
    # One study's stored file is away (an unmounted share): its conversion is refused.
    studies = CohortStudy.objects.filter(cohort=cohort).values("study_id")
    instance = DicomInstance.objects.filter(series__dicom_study__study_id__in=studies).order_by("id").first()
    stored = settings.DICOM_STORAGE_DIR / str(demo.pk) / instance.path
    stored.rename(stored.with_suffix(".away"))
    page.add_init_script(path=str(AXE))
    login(page, live_server, "scientist", PASSWORD)
    page.goto(f"{live_server.url}/cohorts/{cohort.pk}/")
    page.get_by_role("button", name="Convert images").click()
    first = Job.objects.get(kind=COHORT_IMAGES_JOB)
    run_job(first.pk, cohort_images_job)
    expect(page.get_by_role("button", name="Retry refused")).to_be_visible(timeout=WAIT)
    assert not page.evaluate(AXE_RUN)

    page.goto(f"{live_server.url}/jobs/{first.pk}/")
    expect(page.get_by_role("heading", name="Studies not converted")).to_be_visible()
    expect(page.get_by_role("cell", name="stored file(s) missing")).to_have_count(1)
    assert not page.evaluate(AXE_RUN)

    stored.with_suffix(".away").rename(stored)
    before = CohortVolume.objects.filter(cohort=cohort).count()
    page.goto(f"{live_server.url}/cohorts/{cohort.pk}/")
    page.get_by_role("button", name="Retry refused").click()
    expect(page.locator("#cohort-images progress")).to_be_visible(timeout=WAIT)
    run_job(Job.objects.filter(kind=COHORT_IMAGES_JOB).exclude(pk=first.pk).get().pk, cohort_images_job)
    expect(page.get_by_role("link", name="nifti-manifest", exact=True)).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("button", name="Retry refused")).to_have_count(0)
    assert CohortVolume.objects.filter(cohort=cohort).count() == before + 1


def test_a_dicom_import_job_page_lists_skipped_files(page: Page, live_server, demo, settings):
    folder = settings.DICOM_IMPORT_ROOT / "batch"
    (folder / "notes").mkdir(parents=True)
    (folder / "notes" / "readme.txt").write_text("not an image")
    job = dicom_import_enqueue(protocol=demo, folder="batch", actor=None, channel="page")
    import_dicom(job.pk)
    page.add_init_script(path=str(AXE))
    login(page, live_server, "curator", PASSWORD)
    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    expect(page.get_by_role("cell", name="notes/readme.txt")).to_be_visible()
    assert not page.evaluate(AXE_RUN)
