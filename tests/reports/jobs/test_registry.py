"""The job-kind registry: apps register kinds in ready(); jobs of unknown kinds never queue."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from annotation.apps import RELABEL_JOB
from reports.apps import IMPORT_JOB
from reports.jobs.registry import job_kind, job_kind_label, job_kinds, register_job_kind
from reports.models import Job, JobStatus
from reports.services.jobs import MAX_ATTEMPTS, job_create, job_enqueue, job_reap
from tests.reports.jobs.conftest import FAKE_KIND, FAKE_TASK


def test_the_apps_register_their_own_kinds_at_start_up():
    kinds = {spec.kind: spec for spec in job_kinds()}

    assert kinds[IMPORT_JOB].task.startswith("reports.")
    assert kinds[RELABEL_JOB].task.startswith("annotation.")


def test_registering_the_same_kind_twice_identically_is_harmless(fake_kind):
    again = register_job_kind(FAKE_KIND, label="Crunch", task=FAKE_TASK, queue="crunching")

    assert again == fake_kind
    assert job_kind(FAKE_KIND) == fake_kind


def test_a_kind_cannot_be_taken_over_by_another_task(fake_kind):
    with pytest.raises(ValueError, match="already registered"):
        register_job_kind(FAKE_KIND, label="Crunch", task="elsewhere.tasks.crunch")


def test_a_kind_longer_than_the_column_is_refused(fake_kind):
    with pytest.raises(ValueError, match="longer than 32"):
        register_job_kind("k" * 33, label="Long", task="x.tasks.y")


def test_an_unregistered_kind_gets_a_readable_label():
    assert job_kind_label("never_registered") == "Never registered"


@pytest.mark.django_db
def test_job_create_refuses_an_unknown_kind(protocol):
    with pytest.raises(ValueError, match="Unknown job kind"):
        job_create(kind="nobody.registered", protocol=protocol, actor=None, params={})

    assert not Job.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_job_create_sends_a_registered_kind_to_its_task_and_queue(fake_kind, sent_tasks, protocol):
    job = job_create(kind=FAKE_KIND, protocol=protocol, actor=None, params={"n": 1})

    assert sent_tasks.sent == [(FAKE_TASK, [job.pk], {"queue": "crunching"})]
    assert Job.objects.get(pk=job.pk).status == JobStatus.QUEUED


@pytest.mark.django_db
def test_the_reaper_requeues_a_stalled_job_of_a_new_app_through_send_task(
    fake_kind, sent_tasks, protocol, settings
):
    stalled_at = timezone.now() - settings.JOB_HEARTBEAT_TIMEOUT - dt.timedelta(seconds=5)
    job = Job.objects.create(
        kind=FAKE_KIND, protocol=protocol, status=JobStatus.RUNNING, attempts=1, heartbeat_at=stalled_at
    )

    assert job_reap() == {"requeued": 1, "failed": 0}

    assert sent_tasks.sent == [(FAKE_TASK, [job.pk], {"queue": "crunching"})]
    assert Job.objects.get(pk=job.pk).status == JobStatus.QUEUED


@pytest.mark.django_db
def test_the_reaper_fails_a_job_that_stalled_too_often_and_sends_nothing(
    fake_kind, sent_tasks, protocol, settings
):
    stalled_at = timezone.now() - settings.JOB_HEARTBEAT_TIMEOUT - dt.timedelta(seconds=5)
    job = Job.objects.create(
        kind=FAKE_KIND,
        protocol=protocol,
        status=JobStatus.RUNNING,
        attempts=MAX_ATTEMPTS,
        heartbeat_at=stalled_at,
    )

    assert job_reap() == {"requeued": 0, "failed": 1}

    assert sent_tasks.sent == []
    assert Job.objects.get(pk=job.pk).status == JobStatus.FAILED


@pytest.mark.django_db
def test_the_reaper_leaves_a_job_with_a_fresh_heartbeat(fake_kind, sent_tasks, protocol):
    Job.objects.create(
        kind=FAKE_KIND, protocol=protocol, status=JobStatus.RUNNING, heartbeat_at=timezone.now()
    )

    assert job_reap() == {"requeued": 0, "failed": 0}
    assert sent_tasks.sent == []


@pytest.mark.django_db
def test_a_queued_job_whose_kind_is_gone_fails_instead_of_waiting_forever(sent_tasks, protocol):
    job = Job.objects.create(kind="uninstalled.app", protocol=protocol)

    job_enqueue(job.pk, job.kind)

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "No worker task" in job.message
    assert sent_tasks.sent == []
