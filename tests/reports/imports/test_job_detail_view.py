"""The job page: scoped to the job's protocol, polled by htmx while it runs."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from reports.apps import IMPORT_JOB
from reports.models import Job, JobStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(protocol, curator):
    return Job.objects.create(
        kind=IMPORT_JOB, protocol=protocol, created_by=curator, status=JobStatus.RUNNING, total=200, done=50,
        message="Writing reports: 50 of 200",
    )


def url(job) -> str:
    return reverse("reports:job-detail", args=[job.pk])


@pytest.mark.parametrize("role", ["curator", "scientist", "radiologist"])
def test_members_of_the_protocol_see_the_job(request, client_for, job, role):
    response = client_for(request.getfixturevalue(role)).get(url(job))
    assert response.status_code == 200
    body = response.content.decode()
    assert '<progress max="200" value="50"' in body
    assert 'hx-trigger="every 1s"' in body
    assert "Refresh" in body


@pytest.mark.parametrize("role", ["outsider", "expired_member", "admin_user"])
def test_others_get_404(request, client_for, job, role):
    assert client_for(request.getfixturevalue(role)).get(url(job)).status_code == 404


def test_anonymous_is_sent_to_login(job):
    assert Client().get(url(job)).status_code == 302


def test_htmx_gets_only_the_status_block(client_for, curator, job):
    response = client_for(curator).get(url(job), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="job-status"')
    assert "<html" not in body


def test_a_finished_job_stops_polling_and_lists_row_errors(client_for, curator, job):
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.FAILED, message="2 problem(s) found; nothing was imported.",
        errors=[{"line": 7, "field": "study_date", "message": "Not a valid calendar date (YYYY-MM-DD)."},
                {"line": None, "field": "", "message": "Stopped after 50 problems."}],
    )
    body = client_for(curator).get(url(job), headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in body
    assert "<td>7</td><td>study_date</td><td>Not a valid calendar date (YYYY-MM-DD).</td>" in body
    assert "<td>—</td><td>—</td><td>Stopped after 50 problems.</td>" in body


def test_a_succeeded_import_shows_its_counts(client_for, curator, job):
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.SUCCEEDED, result={"created": 5, "updated": 2, "unchanged": 1, "warnings": []}
    )
    body = client_for(curator).get(url(job)).content.decode()
    assert "<td>5</td><td>2</td><td>1</td>" in body


def test_it_rejects_post(client_for, curator, job):
    assert client_for(curator).post(url(job)).status_code == 405
