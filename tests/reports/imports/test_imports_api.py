"""POST /api/v1/imports/ and GET /api/v1/jobs/{id}/: scoped, 202 with a job, field errors otherwise."""
from __future__ import annotations

from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from reports.apps import IMPORT_JOB
from reports.models import Job, JobStatus
from tests.reports.imports.conftest import GOOD_CSV

pytestmark = pytest.mark.django_db
IMPORTS = "/api/v1/imports/"


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def upload(name: str = "r.csv", content: bytes = GOOD_CSV.encode()) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


@pytest.fixture
def delay():
    with mock.patch("reports.tasks.import_reports.delay") as patched:
        yield patched


@pytest.mark.parametrize("role", ["curator", "scientist"])
def test_an_upload_answers_202_with_the_job(request, protocol, delay, upload_dir, role,
                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(request.getfixturevalue(role)).post(IMPORTS, {"file": upload(), "protocol": protocol.pk})

    assert response.status_code == 202, response.json()
    job = Job.objects.get()
    assert response.json() == {"job": job.pk, "status": "queued", "url": f"/api/v1/jobs/{job.pk}/"}
    assert (job.kind, job.params["channel"]) == (IMPORT_JOB, "api")
    delay.assert_called_once_with(job.pk)
    assert (upload_dir / job.params["upload"]).exists()


def test_the_format_field_overrides_the_name(curator, protocol, delay):
    response = api(curator).post(IMPORTS, {"file": upload("x.dat"), "protocol": protocol.pk, "format": "jsonl"})
    assert response.status_code == 202
    assert Job.objects.get().params["format"] == "jsonl"


def test_anonymous_gets_401(protocol):
    assert api().post(IMPORTS, {"file": upload(), "protocol": protocol.pk}).status_code == 401


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"file": upload("r.csv", b"")}, "file"),
        ({}, "file"),
        ({"file": upload("r.txt")}, "format"),
        ({"file": upload(), "format": "xml"}, "format"),
        ({"file": upload(), "protocol": 999_999}, "protocol"),
        ({"file": upload(), "protocol": "abc"}, "protocol"),
        ({"file": "not a file"}, "file"),
    ],
)
def test_bad_input_answers_400_naming_the_field(curator, protocol, delay, data, field):
    response = api(curator).post(IMPORTS, {"protocol": protocol.pk, **data})
    assert response.status_code == 400
    assert field in response.json()
    assert not Job.objects.exists()


@pytest.mark.parametrize("role", ["radiologist", "outsider", "admin_user"])
def test_a_protocol_the_caller_cannot_import_into_is_unknown(request, protocol, delay, role):
    response = api(request.getfixturevalue(role)).post(IMPORTS, {"file": upload(), "protocol": protocol.pk})
    assert response.status_code == 400
    assert "protocol" in response.json()
    assert not Job.objects.exists()


def test_an_oversize_file_answers_413(curator, protocol, settings, delay, upload_dir):
    settings.IMPORT_MAX_BYTES = 20
    response = api(curator).post(IMPORTS, {"file": upload(), "protocol": protocol.pk})
    assert response.status_code == 413
    assert "larger than" in response.json()["file"][0]
    assert not Job.objects.exists()


def test_a_huge_content_length_is_refused_before_reading(curator, protocol, settings):
    settings.IMPORT_MAX_BYTES = 1000
    response = api(curator).post(IMPORTS, data=b"x" * 10, content_type="multipart/form-data; boundary=x",
                                 CONTENT_LENGTH=str(10**9))
    assert response.status_code == 413


@pytest.fixture
def job(protocol, curator):
    return Job.objects.create(
        kind=IMPORT_JOB, protocol=protocol, created_by=curator, status=JobStatus.FAILED, total=4, done=4,
        message="1 problem(s) found; nothing was imported.",
        errors=[{"line": 3, "field": "text", "message": "The report text is missing."}],
    )


@pytest.mark.parametrize("role", ["curator", "radiologist"])
def test_members_read_the_job(request, job, role):
    response = api(request.getfixturevalue(role)).get(f"/api/v1/jobs/{job.pk}/")
    assert response.status_code == 200
    assert response.json() == {
        "id": job.pk, "kind": "import", "status": "failed", "total": 4, "done": 4, "percent": 100,
        "message": "1 problem(s) found; nothing was imported.",
        "errors": [{"line": 3, "field": "text", "message": "The report text is missing."}], "result": {},
    }


@pytest.mark.parametrize("role", ["outsider", "expired_member", "admin_user"])
def test_others_get_404_for_the_job(request, job, role):
    assert api(request.getfixturevalue(role)).get(f"/api/v1/jobs/{job.pk}/").status_code == 404


def test_anonymous_gets_401_for_the_job(job):
    assert api().get(f"/api/v1/jobs/{job.pk}/").status_code == 401
