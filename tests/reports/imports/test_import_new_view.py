"""The upload page: curators and data scientists of a protocol only; the file becomes a job."""
from __future__ import annotations

from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from reports.apps import IMPORT_JOB
from reports.models import Job, JobStatus
from tests.reports.imports.conftest import GOOD_CSV

pytestmark = pytest.mark.django_db
URL = reverse("reports:import-new")


def upload(name: str = "reports.csv", content: bytes = GOOD_CSV.encode()) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


@pytest.fixture
def delay():
    with mock.patch("reports.tasks.import_reports.delay") as patched:
        yield patched


@pytest.mark.parametrize("role", ["curator", "scientist"])
def test_importers_see_the_form_with_their_protocol(request, client_for, protocol, other_protocol, role):
    response = client_for(request.getfixturevalue(role)).get(URL)
    assert response.status_code == 200
    assert response.context["form"].fields["protocol"].queryset.get() == protocol


@pytest.mark.parametrize("role", ["radiologist", "outsider", "expired_member", "admin_user"])
def test_others_get_404(request, client_for, protocol, role):
    client = client_for(request.getfixturevalue(role))
    assert client.get(URL).status_code == 404
    assert client.post(URL, {"protocol": protocol.pk, "file": upload()}).status_code == 404
    assert not Job.objects.exists()


def test_anonymous_is_sent_to_login():
    response = Client().get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_an_upload_creates_a_job_and_redirects_to_it(client_for, curator, protocol, upload_dir, delay,
                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(curator).post(URL, {"protocol": protocol.pk, "file": upload()})

    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:job-detail", args=[job.pk])
    assert (job.kind, job.status, job.protocol, job.created_by) == (IMPORT_JOB, JobStatus.QUEUED, protocol, curator)
    assert job.params["format"] == "csv"
    assert job.params["channel"] == "page"
    delay.assert_called_once_with(job.pk)
    stored = upload_dir / job.params["upload"]
    assert stored.read_bytes() == GOOD_CSV.encode()
    assert "reports" not in job.params["upload"]  # never the user's file name


def test_the_format_can_be_chosen(client_for, curator, protocol, delay):
    response = client_for(curator).post(URL, {"protocol": protocol.pk, "file": upload("export.txt"), "format": "jsonl"})
    assert response.status_code == 302
    assert Job.objects.get().params["format"] == "jsonl"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"file": upload("r.csv", b"")}, "file"),
        ({}, "file"),
        ({"file": upload("r.txt")}, "format"),
    ],
)
def test_bad_uploads_are_refused_with_a_message(client_for, curator, protocol, delay, upload_dir, data, field):
    response = client_for(curator).post(URL, {"protocol": protocol.pk, **data})
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert not Job.objects.exists()
    assert not upload_dir.exists() or not any(upload_dir.iterdir())


def test_another_protocol_cannot_be_chosen(client_for, curator, other_protocol, delay):
    response = client_for(curator).post(URL, {"protocol": other_protocol.pk, "file": upload()})
    assert response.status_code == 400
    assert response.context["form"].errors["protocol"]
    assert not Job.objects.exists()


def test_an_oversize_upload_is_refused(client_for, curator, protocol, settings, delay):
    settings.IMPORT_MAX_BYTES = 20
    response = client_for(curator).post(URL, {"protocol": protocol.pk, "file": upload()})
    assert response.status_code == 413
    assert "larger than the" in response.content.decode()
    assert not Job.objects.exists()


def test_the_nav_shows_import_only_to_importers(client_for, curator, radiologist):
    assert URL in client_for(curator).get(reverse("home")).content.decode()
    assert URL not in client_for(radiologist).get(reverse("home")).content.decode()


def test_the_upload_handler_stops_reading_past_the_limit(client_for, curator, protocol, settings, delay):
    settings.IMPORT_MAX_BYTES = 100
    settings.FILE_UPLOAD_HANDLERS = [
        "reports.importers.upload_limit.MaxSizeUploadHandler", *settings.FILE_UPLOAD_HANDLERS
    ]
    # Small enough to pass the Content-Length check: the handler drops the file after 100 bytes.
    response = client_for(curator).post(URL, {"protocol": protocol.pk, "file": upload(content=b"x" * 1000)})
    assert response.status_code == 413
    assert "larger than the" in response.content.decode()
    assert not Job.objects.exists()
