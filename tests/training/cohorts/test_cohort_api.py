"""/api/v1/cohorts/: freeze, read, list, export; data scientists only, scoped to their protocols."""
from __future__ import annotations

import json

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from reports.jobs.runner import run_job
from reports.models import Job, JobStatus
from tests.training.cohorts.conftest import LABELS, make_study, read
from training.models import Cohort
from training.services.cohorts import cohort_freeze_job

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def body(protocol, **extra):
    return {"protocol": protocol.pk, "name": "api", "labels": list(LABELS), "source": "confirmed", "seed": 7, **extra}


def test_post_freezes_and_the_same_request_gives_the_same_hash(protocol, confirmed, scientist):
    first = api(scientist).post("/api/v1/cohorts/", body(protocol), format="json")
    assert first.status_code == 201, first.content
    data = first.json()
    assert set(data) == {"id", "sha256", "studies", "splits"}
    assert data["studies"] == 12
    assert sum(data["splits"].values()) == 12
    assert set(data["splits"]) == {"train", "validation", "test"}
    second = api(scientist).post("/api/v1/cohorts/", body(protocol), format="json").json()
    assert second["sha256"] == data["sha256"]
    assert second["id"] != data["id"]


def test_a_cohort_without_studies_is_400_saying_why(protocol, labels, radiologist, scientist):
    read(make_study(protocol), radiologist, {})
    response = api(scientist).post("/api/v1/cohorts/", body(protocol), format="json")
    assert response.status_code == 400
    assert "none has an agreed or adjudicated final label" in response.json()["detail"]


def test_bad_input_is_400_by_field(protocol, labels, scientist):
    response = api(scientist).post("/api/v1/cohorts/", body(protocol, labels=["Nope"], source="soft"), format="json")
    assert response.status_code == 400
    assert "source" in response.json()
    response = api(scientist).post("/api/v1/cohorts/", body(protocol, labels=["Nope"]), format="json")
    assert response.status_code == 400
    assert "labels" in response.json()


@pytest.mark.parametrize("who", ["radiologist", "curator"])
def test_other_roles_are_refused_with_403(request, protocol, confirmed, scientist, who):
    user = request.getfixturevalue(who)
    assert api(user).post("/api/v1/cohorts/", body(protocol), format="json").status_code == 403
    cohort_id = api(scientist).post("/api/v1/cohorts/", body(protocol), format="json").json()["id"]
    assert api(user).get(f"/api/v1/cohorts/{cohort_id}/").status_code == 403
    assert api(user).get(f"/api/v1/cohorts/{cohort_id}/export/?format=jsonl").status_code == 403
    assert api(user).get("/api/v1/cohorts/").json()["results"] == []


def test_other_protocols_are_404(protocol, other_protocol, confirmed, scientist, outsider):
    from reports.models import Membership, Role

    Membership.objects.filter(user=outsider).update(role=Role.DATA_SCIENTIST)
    assert api(outsider).post("/api/v1/cohorts/", body(protocol), format="json").status_code == 404
    cohort_id = api(scientist).post("/api/v1/cohorts/", body(protocol), format="json").json()["id"]
    assert api(outsider).get(f"/api/v1/cohorts/{cohort_id}/").status_code == 404
    assert api(outsider).get(f"/api/v1/cohorts/{cohort_id}/export/?format=csv").status_code == 404
    assert api(outsider).get("/api/v1/cohorts/").json()["results"] == []


def test_detail_list_and_export(protocol, confirmed, scientist):
    client = api(scientist)
    cohort_id = client.post("/api/v1/cohorts/", body(protocol), format="json").json()["id"]
    detail = client.get(f"/api/v1/cohorts/{cohort_id}/").json()
    assert detail["labels"] == list(LABELS)
    assert detail["params"]["seed"] == 7
    assert "summary" in detail
    listed = client.get(f"/api/v1/cohorts/?protocol={protocol.pk}").json()["results"]
    assert [c["id"] for c in listed] == [cohort_id]
    response = client.get(f"/api/v1/cohorts/{cohort_id}/export/?format=jsonl")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    rows = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert len(rows) == 12
    assert set(rows[0]) >= {"study", "accession", "patient", "split", "labels", "source", "text"}
    by_patient: dict[str, str] = {}
    for row in rows:
        if row["patient"]:
            assert by_patient.setdefault(row["patient"], row["split"]) == row["split"]
    assert client.get(f"/api/v1/cohorts/{cohort_id}/export/?format=xml").status_code == 400


@override_settings(COHORT_INLINE_STUDIES=5)
def test_a_large_cohort_is_frozen_by_a_job(protocol, confirmed, scientist):
    response = api(scientist).post("/api/v1/cohorts/", body(protocol), format="json")
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["job"])
    assert job.kind == "cohort_freeze"
    assert job.status == JobStatus.QUEUED
    run_job(job.pk, cohort_freeze_job)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    cohort = Cohort.objects.get(pk=job.result["cohort"])
    assert cohort.job_id == job.pk
    assert cohort.study_count == 12
    assert job.done == 12
    # A re-run (the reaper re-queued it after the worker died past the commit) adds no version.
    Job.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)
    run_job(job.pk, cohort_freeze_job)
    assert Cohort.objects.count() == 1
    assert Job.objects.get(pk=job.pk).result["cohort"] == cohort.pk
    inline = Cohort.objects.filter(pk=cohort.pk).values_list("sha256", flat=True).get()
    with override_settings(COHORT_INLINE_STUDIES=5000):
        again = api(scientist).post("/api/v1/cohorts/", body(protocol), format="json").json()
    assert again["sha256"] == inline


@override_settings(COHORT_INLINE_STUDIES=0)
def test_an_empty_large_cohort_fails_its_job_with_the_reason(protocol, labels, radiologist, scientist):
    read(make_study(protocol), radiologist, {})
    job_id = api(scientist).post("/api/v1/cohorts/", body(protocol), format="json").json()["job"]
    run_job(job_id, cohort_freeze_job)
    job = Job.objects.get(pk=job_id)
    assert job.status == JobStatus.FAILED
    assert "none has" in job.message
