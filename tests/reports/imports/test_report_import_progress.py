"""An import's writing progress is fenced by the job's attempt, like every other job write.

On PostgreSQL the writing phase records progress through a second, autocommitting connection
(reports.services.imports._Progress); these tests run outside a test transaction so that path is
the one taken there. On SQLite the same progress goes through job_progress: both must agree.
"""
from __future__ import annotations

import pytest

from reports.apps import IMPORT_JOB
from reports.models import Job, JobStatus, Report
from reports.services import imports
from reports.services.imports import report_import
from reports.services.jobs import JobCancelled, job_retry, job_start
from tests.reports.imports.conftest import GOOD_CSV

pytestmark = pytest.mark.django_db(transaction=True)


def _import(protocol, path, job: Job) -> None:
    report_import(protocol=protocol, path=path, fmt="csv", actor=None, channel="command", job=job)


def _started_job(protocol) -> Job:
    job = Job.objects.create(kind=IMPORT_JOB, protocol=protocol)
    started = job_start(job_id=job.pk)
    assert started is not None
    return started


def test_the_current_attempt_records_writing_progress(protocol, write_file):
    job = _started_job(protocol)
    _import(protocol, write_file("r.csv", GOOD_CSV), job)
    row = Job.objects.get(pk=job.pk)
    assert (row.done, row.total, row.message, row.attempts) == (3, 3, "Writing reports: 3 of 3", 1)


def test_a_stale_attempts_writing_progress_is_ignored(protocol, write_file, monkeypatch):
    stale = _started_job(protocol)
    check_file = imports.check_file
    fields = ("status", "attempts", "message", "done", "total", "heartbeat_at")
    restarted: dict = {}

    def check_then_lose_the_job(*args, **kwargs):
        # Between checking and writing, the reaper hands the job to another worker (attempt 2).
        checked = check_file(*args, **kwargs)
        assert job_retry(job=stale, reason="Worker stopped", enqueue=lambda job_id, kind: None)
        assert job_start(job_id=stale.pk) is not None
        restarted.update(Job.objects.values(*fields).get(pk=stale.pk))
        return checked

    monkeypatch.setattr(imports, "check_file", check_then_lose_the_job)
    with pytest.raises(JobCancelled):
        _import(protocol, write_file("r.csv", GOOD_CSV), stale)
    # The second attempt's state as job_start left it: the stale writer changed nothing.
    assert Job.objects.values(*fields).get(pk=stale.pk) == restarted
    assert (restarted["status"], restarted["attempts"]) == (JobStatus.RUNNING, 2)
    assert not Report.objects.filter(study__protocol=protocol).exists()
