"""run_job: the one wrapper every task body runs in (claim, succeed, fail, cancel, duplicates)."""
from __future__ import annotations

import logging

import pytest

from reports.jobs.runner import JobFailed, JobOutcome, run_job
from reports.models import Job, JobStatus
from reports.services.jobs import job_cancel, job_progress
from tests.reports.jobs.conftest import FAKE_KIND

pytestmark = pytest.mark.django_db

SECRET = "Patient Jane Roe, accession ACC-123: 4 mm nodule"


@pytest.fixture
def job(protocol, fake_kind):
    return Job.objects.create(kind=FAKE_KIND, protocol=protocol)


def test_a_body_that_returns_succeeds_the_job_with_its_result(job):
    def body(claimed: Job) -> JobOutcome:
        assert claimed.status == JobStatus.RUNNING
        job_progress(job=claimed, done=2, total=2, message="Crunched 2 of 2")
        return JobOutcome(result={"crunched": 2}, message="Crunched 2")

    finished = run_job(job.pk, body)

    job.refresh_from_db()
    assert finished is not None
    assert (job.status, job.result, job.message) == (JobStatus.SUCCEEDED, {"crunched": 2}, "Crunched 2")
    assert (job.done, job.total, job.attempts) == (2, 2, 1)
    assert job.started_at is not None
    assert job.finished_at is not None


def test_job_failed_fails_the_job_with_the_bodys_own_message_and_errors(job):
    def body(claimed: Job) -> JobOutcome:
        raise JobFailed("Line 3 has no text.", errors=[{"line": 3, "field": "text"}])

    run_job(job.pk, body)

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.message == "Line 3 has no text."
    assert job.errors == [{"line": 3, "field": "text"}]


def test_an_unexpected_exception_is_recorded_by_its_type_only(job, caplog):
    def body(claimed: Job) -> JobOutcome:
        raise KeyError(SECRET)

    with caplog.at_level(logging.ERROR, logger="reports.jobs.runner"):
        run_job(job.pk, body, failure="Crunching failed")

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.message == "Crunching failed (KeyError)."
    assert SECRET not in job.message
    assert "KeyError" in caplog.text
    assert SECRET not in caplog.text
    assert "Jane Roe" not in caplog.text


def test_a_job_cancelled_while_running_stops_at_its_next_progress_and_stays_cancelled(job):
    reached: list[int] = []

    def body(claimed: Job) -> JobOutcome:
        for done in range(1, 4):
            if done == 2:
                job_cancel(job=claimed)
            job_progress(job=claimed, done=done, total=3)
            reached.append(done)
        return JobOutcome(result={"never": True})

    run_job(job.pk, body)

    job.refresh_from_db()
    assert reached == [1]
    assert job.status == JobStatus.CANCELLED
    assert job.result == {}


def test_a_duplicate_delivery_runs_the_body_once(job):
    calls: list[int] = []

    def body(claimed: Job) -> JobOutcome:
        calls.append(claimed.pk)
        return JobOutcome()

    first = run_job(job.pk, body)
    second = run_job(job.pk, body)

    assert first is not None
    assert second is None
    assert calls == [job.pk]
    job.refresh_from_db()
    assert job.attempts == 1


def test_a_job_cancelled_before_a_worker_took_it_never_runs(job):
    job_cancel(job=job)

    assert run_job(job.pk, lambda claimed: pytest.fail("the body ran")) is None
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED


def test_a_job_held_by_another_worker_is_not_run_again(job):
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, attempts=1)

    assert run_job(job.pk, lambda claimed: pytest.fail("the body ran")) is None
