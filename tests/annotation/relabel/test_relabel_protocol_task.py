from __future__ import annotations

from unittest import mock

import pytest

from annotation.apps import RELABEL_JOB
from annotation.models import SoftLabel
from annotation.services.relabel import relabel_start
from annotation.tasks import relabel_protocol_task
from reports.models import Job, JobStatus
from reports.services.jobs import job_cancel

pytestmark = pytest.mark.django_db

BLEED = "FINDINGS: Acute subdural hematoma. There is no midline shift."


def test_the_task_runs_a_queued_job_to_success(ct_protocol, make_report, curator):
    make_report(ct_protocol, BLEED)
    job = relabel_start(protocol=ct_protocol, actor=curator)

    relabel_protocol_task(job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert (job.total, job.done, job.result["reports"]) == (1, 1, 1)
    assert SoftLabel.objects.count() == 2


def test_a_duplicate_delivery_of_a_finished_job_does_nothing(ct_protocol, make_report, curator):
    make_report(ct_protocol, BLEED)
    job = relabel_start(protocol=ct_protocol, actor=curator)
    relabel_protocol_task(job.pk)
    SoftLabel.objects.all().delete()

    relabel_protocol_task(job.pk)

    assert not SoftLabel.objects.exists()


def test_a_cancelled_job_is_not_run(ct_protocol, make_report, curator):
    make_report(ct_protocol, BLEED)
    job = relabel_start(protocol=ct_protocol, actor=curator)
    job_cancel(job=job)

    relabel_protocol_task(job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert not SoftLabel.objects.exists()


def test_an_engine_error_fails_the_job_without_quoting_the_report(ct_protocol, make_report, curator):
    make_report(ct_protocol, BLEED)
    job = relabel_start(protocol=ct_protocol, actor=curator)

    with mock.patch("annotation.tasks.relabel_protocol", side_effect=ValueError(BLEED)):
        relabel_protocol_task(job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "ValueError" in job.message
    assert "hematoma" not in job.message


def test_starting_twice_returns_the_job_already_queued(ct_protocol, curator, scientist):
    first = relabel_start(protocol=ct_protocol, actor=curator)

    second = relabel_start(protocol=ct_protocol, actor=scientist)

    assert second.pk == first.pk
    assert Job.objects.filter(kind=RELABEL_JOB).count() == 1


def test_a_finished_relabel_does_not_block_the_next_one(ct_protocol, curator):
    first = relabel_start(protocol=ct_protocol, actor=curator)
    relabel_protocol_task(first.pk)

    second = relabel_start(protocol=ct_protocol, actor=curator)

    assert second.pk != first.pk
    assert second.status == JobStatus.QUEUED


def test_the_task_is_queued_with_the_job_id_once_committed(ct_protocol, curator, django_capture_on_commit_callbacks):
    with (
        mock.patch("annotation.tasks.relabel_protocol_task.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        job = relabel_start(protocol=ct_protocol, actor=curator)

    delay.assert_called_once_with(job.pk)
