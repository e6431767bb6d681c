"""The moments of a worker's death that a random kill rarely hits, set up one by one in this
process (no worker): the import committed but its outcome was not recorded, the broker message
was lost, the database connection dropped, a run the reaper gave up on comes back.

The soak (test_worker_death_soak.py) and the restart tests reach the same code through real
workers; these pin each case down on every run, in a second.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db import OperationalError
from django.utils import timezone

from reports import hooks
from reports.jobs.runner import JobOutcome, run_job
from reports.models import AccessEvent, AuditAction, Job, JobStatus, Study
from reports.services.imports import report_import, report_import_enqueue, upload_path
from reports.services.jobs import (
    JobCancelled,
    job_progress,
    job_reap,
    job_start,
    job_succeed,
)
from reports.tasks import import_reports
from tests.reports.imports.conftest import GOOD_CSV
from tests.reports.jobs.conftest import SentTasks

pytestmark = pytest.mark.django_db

CLEAN_RESULT = {"created": 3, "updated": 0, "unchanged": 0, "warnings": []}


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    return settings.UPLOAD_DIR


@pytest.fixture
def sent_tasks(monkeypatch) -> SentTasks:
    """The broker, as the reaper and the runner reach it (what leaves the process)."""
    sent = SentTasks()
    monkeypatch.setattr("reports.services.jobs.current_app", sent)
    return sent


@pytest.fixture
def listened(monkeypatch) -> list[int]:
    """Import listeners (reports.hooks) replaced by one that records the protocols it was told of."""
    calls: list[int] = []
    monkeypatch.setattr(hooks, "_import_listeners", [calls.append])
    return calls


def _queued_import(protocol, user, content: str = GOOD_CSV) -> Job:
    return report_import_enqueue(
        protocol=protocol,
        source=io.BytesIO(content.encode()),
        filename="r.csv",
        fmt=None,
        actor=user,
        channel="api",
        enqueue=lambda job_id: None,
    )


def _stale(job: Job, settings) -> None:
    long_ago = timezone.now() - settings.JOB_HEARTBEAT_TIMEOUT - dt.timedelta(seconds=5)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=long_ago)


def test_an_import_that_committed_before_its_worker_died_is_recorded_not_imported_again(
    protocol, curator, settings, sent_tasks, listened
):
    # An extra column, so the result carries a warning the audit row does not.
    with_ward = "".join(
        ("ward," if n == 0 else "w," if line.startswith("A") else "") + line
        for n, line in enumerate(GOOD_CSV.splitlines(keepends=True))
    )
    job = _queued_import(protocol, curator, with_ward)
    # The first attempt: the import's transaction commits, then the worker dies before job_succeed
    # and before the import's on-commit listeners run (this test's transaction never commits).
    first = job_start(job_id=job.pk)
    first_result = report_import(
        protocol=protocol,
        path=upload_path(job.params["upload"]),
        fmt="csv",
        actor=curator,
        channel="api",
        job=first,
    )
    _stale(job, settings)
    assert job_reap() == {"requeued": 1, "failed": 0}

    import_reports(job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.result == first_result.as_dict()
    assert job.result["created"] == 3
    assert job.result["warnings"] == ["1 unknown column(s) ignored: ward."]
    assert job.message == "Imported: 3 new, 0 updated, 0 unchanged."
    assert job.attempts == 2
    assert (
        AccessEvent.objects.filter(action=AuditAction.REPORT_IMPORT, object_id=str(job.pk)).count()
        == 1
    )
    assert Study.objects.filter(protocol=protocol).count() == 3
    assert listened == [protocol.pk]  # told now, since the dead worker never told them
    assert not upload_path(job.params["upload"]).exists()


def test_a_rerun_of_an_import_that_never_committed_imports_it(
    protocol, curator, settings, sent_tasks
):
    job = _queued_import(protocol, curator)
    job_start(job_id=job.pk)  # the worker died before writing anything
    _stale(job, settings)
    job_reap()

    import_reports(job.pk)

    job.refresh_from_db()
    assert (job.status, job.result, job.attempts) == (JobStatus.SUCCEEDED, CLEAN_RESULT, 2)
    assert (
        AccessEvent.objects.filter(action=AuditAction.REPORT_IMPORT, object_id=str(job.pk)).count()
        == 1
    )


def test_a_queued_job_whose_message_was_lost_is_sent_again_once_per_timeout(
    protocol, settings, sent_tasks
):
    waited = timezone.now() - settings.JOB_HEARTBEAT_TIMEOUT - dt.timedelta(seconds=5)
    lost = Job.objects.create(kind="import", protocol=protocol)
    Job.objects.filter(pk=lost.pk).update(created_at=waited)
    Job.objects.create(kind="import", protocol=protocol)  # just queued: its message is on its way

    assert job_reap() == {"requeued": 1, "failed": 0}
    assert job_reap() == {"requeued": 0, "failed": 0}  # sent again just now: not yet
    _stale(lost, settings)
    assert job_reap() == {"requeued": 1, "failed": 0}

    assert sent_tasks.sent == [("reports.tasks.import_reports", [lost.pk], {})] * 2
    assert Job.objects.get(pk=lost.pk).status == JobStatus.QUEUED


def test_the_attempts_are_counted_by_the_claim_itself(protocol):
    job = Job.objects.create(kind="import", protocol=protocol)

    claimed = job_start(job_id=job.pk)

    assert claimed is not None
    assert claimed.attempts == Job.objects.get(pk=job.pk).attempts == 1
    assert job_start(job_id=job.pk) is None


def test_a_run_the_reaper_gave_up_on_cannot_overwrite_the_attempt_that_replaced_it(
    protocol, settings, sent_tasks
):
    job = Job.objects.create(kind="import", protocol=protocol)
    frozen = job_start(job_id=job.pk)  # a worker that stops answering (paused, cut off)
    _stale(job, settings)
    job_reap()
    current = job_start(job_id=job.pk)
    assert current is not None

    with pytest.raises(JobCancelled):
        job_progress(job=frozen, done=1, total=3)
    job_succeed(job=frozen, result={"from": "the frozen run"})
    assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING

    job_succeed(job=current, result={"from": "the current run"})
    job.refresh_from_db()
    assert (job.status, job.result, job.attempts) == (
        JobStatus.SUCCEEDED,
        {"from": "the current run"},
        2,
    )


def test_a_run_stopped_because_the_reaper_requeued_it_returns_none_so_its_files_stay(
    protocol, settings, sent_tasks
):
    job = Job.objects.create(kind="import", protocol=protocol)

    def body(claimed: Job) -> JobOutcome:
        _stale(claimed, settings)
        job_reap()
        job_progress(job=claimed, done=1)
        return JobOutcome()

    assert run_job(job.pk, body) is None
    assert Job.objects.get(pk=job.pk).status == JobStatus.QUEUED


def test_success_records_the_rows_progress_not_a_stale_copy(protocol):
    job = job_start(job_id=Job.objects.create(kind="import", protocol=protocol).pk)
    # Progress written through another connection (an import's writing phase on PostgreSQL).
    Job.objects.filter(pk=job.pk).update(done=1200, total=1500)

    job_succeed(job=job, result={})

    job.refresh_from_db()
    assert (job.done, job.total, job.percent) == (1500, 1500, 100)


def test_a_job_that_lost_the_database_goes_back_to_the_queue_instead_of_failing(
    protocol, sent_tasks
):
    job = Job.objects.create(kind="import", protocol=protocol)

    def body(claimed: Job) -> JobOutcome:
        raise OperationalError("server closed the connection unexpectedly")

    assert run_job(job.pk, body) is None

    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.QUEUED, 1)
    assert job.message == "The database connection was lost; re-queued."
    assert sent_tasks.sent == [("reports.tasks.import_reports", [job.pk], {})]


def test_a_job_that_keeps_losing_the_database_fails_with_the_reason(protocol, sent_tasks):
    job = Job.objects.create(kind="import", protocol=protocol, attempts=2)

    def body(claimed: Job) -> JobOutcome:
        raise OperationalError("server closed the connection unexpectedly")

    run_job(job.pk, body)

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.message == "The database connection was lost; gave up after 3 attempts."
    assert sent_tasks.sent == []
