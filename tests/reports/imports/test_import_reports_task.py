"""The import task: job state, row errors, the uploaded copy removed; and the reaper task."""
from __future__ import annotations

import datetime as dt
import io
from unittest import mock

import pytest
from django.utils import timezone

from reports.models import AccessEvent, AuditAction, Job, JobStatus, Study
from reports.services.imports import report_import_enqueue
from reports.tasks import import_reports, reap_jobs
from tests.reports.imports.conftest import GOOD_CSV

pytestmark = pytest.mark.django_db


def queued_job(protocol, user, content: bytes, name: str = "r.csv") -> Job:
    return report_import_enqueue(
        protocol=protocol, source=io.BytesIO(content), filename=name, fmt=None, actor=user, channel="api",
        enqueue=lambda job_id: None,
    )


def test_a_good_file_succeeds_and_its_copy_is_deleted(protocol, curator, upload_dir):
    job = queued_job(protocol, curator, GOOD_CSV.encode())

    import_reports(job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.result == {"created": 3, "updated": 0, "unchanged": 0, "warnings": []}
    assert job.message == "Imported: 3 new, 0 updated, 0 unchanged."
    assert Study.objects.filter(protocol=protocol).count() == 3
    event = AccessEvent.objects.get(action=AuditAction.REPORT_IMPORT)
    assert (event.user, event.channel, event.object_id, event.detail["job"]) == (curator, "api", str(job.pk), job.pk)
    assert not any(upload_dir.iterdir())


def test_a_bad_file_fails_with_row_errors_and_imports_nothing(protocol, curator, upload_dir):
    job = queued_job(protocol, curator, (GOOD_CSV + "A9,P1,CR,CHEST,2024-13-01,,x\nA1,P1,CR,,,,dup\n").encode())

    import_reports(job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.message == "2 problem(s) found; nothing was imported."
    assert job.errors == [
        {"line": 7, "field": "study_date", "message": "Not a valid calendar date (YYYY-MM-DD)."},
        {"line": 8, "field": "accession", "message": "The same accession is already on line 2."},
    ]
    assert not Study.objects.exists()
    assert not any(upload_dir.iterdir())


def test_a_finished_job_is_not_run_again(protocol, curator):
    job = queued_job(protocol, curator, GOOD_CSV.encode())
    import_reports(job.pk)
    import_reports(job.pk)  # a duplicate delivery of the message
    assert Study.objects.count() == 3
    assert AccessEvent.objects.filter(action=AuditAction.REPORT_IMPORT).count() == 1


def test_a_missing_upload_fails_the_job(protocol, curator, upload_dir):
    job = queued_job(protocol, curator, GOOD_CSV.encode())
    (upload_dir / job.params["upload"]).unlink()
    import_reports(job.pk)
    job.refresh_from_db()
    assert (job.status, job.message) == (JobStatus.FAILED, "The uploaded file is gone; upload it again.")


def test_the_reaper_requeues_a_stale_import(protocol, curator, settings):
    job = queued_job(protocol, curator, GOOD_CSV.encode())
    stale = timezone.now() - settings.JOB_HEARTBEAT_TIMEOUT - dt.timedelta(seconds=5)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, heartbeat_at=stale, attempts=1)

    with mock.patch("reports.services.jobs.current_app.send_task") as send_task:
        assert reap_jobs() == {"requeued": 1, "failed": 0}

    send_task.assert_called_once_with("reports.tasks.import_reports", args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    import_reports(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED


def test_the_reaper_fails_a_stale_job_no_task_can_run(protocol, settings):
    stale = timezone.now() - settings.JOB_HEARTBEAT_TIMEOUT - dt.timedelta(seconds=5)
    job = Job.objects.create(kind="export", protocol=protocol, status=JobStatus.RUNNING, heartbeat_at=stale,
                             attempts=1)
    reap_jobs()  # no app registered "export"
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
