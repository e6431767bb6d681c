"""The job page of a cohort image conversion: converted / already converted / skipped counts and
the refused studies with their reasons (training.job_summaries, registered with the job kind)."""
from __future__ import annotations

import pytest
from django.urls import reverse

from reports.jobs.runner import run_job
from tests.training.cohorts.images import dicom_storage, import_broken, import_series  # noqa: F401
from training.services.cohort_images import cohort_images_job, cohort_images_request
from training.services.cohorts import cohort_freeze, cohort_spec_build

pytestmark = pytest.mark.django_db


def test_the_job_page_shows_the_conversion_counts_and_the_refused_studies(
    client_for, protocol, scientist, confirmed, dicom_storage  # noqa: F811
):
    import_series(confirmed[0])
    import_broken(confirmed[2])
    cohort = cohort_freeze(spec=cohort_spec_build(protocol=protocol, data={"name": "images"}), actor=scientist)
    client = client_for(scientist)
    page = reverse("reports:job-detail", args=[cohort_images_request(cohort=cohort, actor=scientist).pk])
    assert "<table" not in client.get(page).content.decode()  # queued: no empty counts yet

    job = run_job(cohort_images_request(cohort=cohort, actor=scientist).pk, cohort_images_job)
    body = client.get(page).content.decode()
    assert '<th scope="col">Converted</th><th scope="col">Already converted</th><th scope="col">Skipped</th>' in body
    assert "<td>1</td><td>0</td><td>11</td>" in body
    assert "10 of the skipped studies have no DICOM images." in body  # counted, not listed
    reason = job.result["skipped"][str(confirmed[2].pk)]
    assert reason.startswith("Series ")
    assert "Missing slices" in reason
    assert f"<td>{confirmed[2].pk}</td><td>{reason}</td>" in body
    assert f"<td>{confirmed[3].pk}</td>" not in body
    assert "Unchanged" not in body

    job = run_job(cohort_images_request(cohort=cohort, actor=scientist, retry_refused=True).pk, cohort_images_job)
    body = client.get(reverse("reports:job-detail", args=[job.pk])).content.decode()
    assert "<td>0</td><td>1</td><td>11</td>" in body
