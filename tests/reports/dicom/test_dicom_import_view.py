"""The DICOM import page: importing roles only, inbox folders and configured sources only."""
from __future__ import annotations

from unittest import mock

import pytest
from django.urls import reverse

from reports.apps import DICOM_IMPORT_JOB, PACS_PULL_JOB
from reports.dicom.synthetic import write_series
from reports.models import Job, JobStatus
from reports.tasks import import_dicom

pytestmark = pytest.mark.django_db
URL = reverse("reports:dicom-import-new")


@pytest.fixture
def inbox(dicom_storage, settings):
    write_series(settings.DICOM_IMPORT_ROOT / "batch-1" / "s", shape=(4, 4, 2))
    return settings.DICOM_IMPORT_ROOT


def test_a_curator_imports_an_inbox_folder_as_a_job(client_for, curator, protocol, inbox, django_capture_on_commit_callbacks):
    with mock.patch("reports.services.jobs.current_app.send_task") as send, django_capture_on_commit_callbacks(execute=True):
        response = client_for(curator).post(URL, {"protocol": protocol.pk, "folder": "batch-1"})
    job = Job.objects.get(kind=DICOM_IMPORT_JOB)
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:job-detail", args=[job.pk])
    send.assert_called_once_with("reports.tasks.import_dicom", args=[job.pk])
    import_dicom(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.result["new_instances"] == 2


def test_a_folder_outside_the_inbox_is_refused(client_for, curator, protocol, inbox):
    response = client_for(curator).post(URL, {"protocol": protocol.pk, "folder": "../../etc"})
    assert response.status_code == 400
    assert not Job.objects.exists()


def test_a_pacs_source_needs_accessions_and_must_be_configured(client_for, curator, protocol, inbox, settings):
    settings.PACS_SOURCES = {"main": {"dicomweb": "http://127.0.0.1:9/dicom-web"}}
    client = client_for(curator)
    assert client.post(URL, {"protocol": protocol.pk, "source": "main"}).status_code == 400
    assert client.post(URL, {"protocol": protocol.pk, "source": "elsewhere", "accessions": "A1"}).status_code == 400
    with mock.patch("reports.services.jobs.current_app.send_task"):
        response = client.post(URL, {"protocol": protocol.pk, "source": "main", "accessions": "A1\nA2\n"})
    assert response.status_code == 302
    job = Job.objects.get(kind=PACS_PULL_JOB)
    assert job.params == {"source": "main", "accessions": ["A1", "A2"], "channel": "page"}


def test_an_unreachable_pacs_fails_the_job_with_a_reason(curator, protocol, settings):
    from reports.services.pacs import pacs_pull_enqueue
    from reports.tasks import pull_pacs

    settings.PACS_SOURCES = {"main": {"dicomweb": "http://127.0.0.1:9/dicom-web"}}
    with mock.patch("reports.services.jobs.current_app.send_task"):
        job = pacs_pull_enqueue(protocol=protocol, source_name="main", accessions=["A1"], actor=curator, channel="page")
    pull_pacs(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.message.startswith("DICOMweb request to http://127.0.0.1:9/dicom-web/studies failed")


def test_choosing_both_or_neither_is_refused(client_for, curator, protocol, inbox):
    response = client_for(curator).post(URL, {"protocol": protocol.pk})
    assert response.status_code == 400
    assert b"Choose either an inbox folder or a PACS source." in response.content


def test_a_radiologist_gets_404(client_for, radiologist, inbox):
    assert client_for(radiologist).get(URL).status_code == 404
