"""SIGKILL of a real worker mid-trial: the trial is failed by our reaper and retried once, the job ends succeeded.

Optuna's heartbeat does not cover ask / tell, so the dead trial would stay RUNNING in its storage
forever; our trial rows heartbeat, and the reaper fails the stale one (in Optuna too) and queues
its slot again with the same params. The job itself is re-queued by the reports reaper.
"""
from __future__ import annotations

import datetime as dt
import os
import signal

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from rest_framework.test import APIClient

from reports.models import Job, JobStatus
from reports.tasks import reap_jobs
from tests.training.jobs.builders import data_scientist, make_training_cohort
from tests.training.jobs.worker_support import (  # noqa: F401
    broker_env,
    finished_job,
    start_worker,
    stop_worker,
    wait_for,
)
from training.models import TrainingRun, TrainingTrial, TrialState

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_worker_killed_mid_trial_leaves_the_trial_failed_and_retried_and_the_job_consistent(tmp_path, broker_env):  # noqa: F811
    cohort = make_training_cohort(200, name="kill")
    client = APIClient()
    client.force_authenticate(data_scientist(cohort.protocol))
    first = start_worker(tmp_path, broker_env, "train-kill-1")
    try:
        job_id = client.post("/api/v1/training/jobs/", {"cohort": cohort.pk, "strategy": "random", "trials": 2,
                                                        "epochs": 30, "pruner": "none"}, format="json").json()["id"]
        run = TrainingRun.objects.get(job_id=job_id)
        victim = wait_for(lambda: run.trials.filter(state=TrialState.RUNNING).exclude(curve=[]).first(),
                          first, what="a trial to report an epoch")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        stop_worker(first)

    # Stuck as the killed worker left it: the job and the trial still say running.
    assert Job.objects.get(pk=job_id).status == JobStatus.RUNNING
    victim.refresh_from_db()
    assert victim.state == TrialState.RUNNING
    # Time passes past both heartbeat limits (as in tests/integration/test_import_worker.py).
    long_ago = timezone.now() - django_settings.JOB_HEARTBEAT_TIMEOUT - dt.timedelta(minutes=5)
    Job.objects.filter(pk=job_id).update(heartbeat_at=long_ago)
    TrainingTrial.objects.filter(pk=victim.pk).update(heartbeat_at=long_ago)

    second = start_worker(tmp_path, broker_env, "train-kill-2", TRAINING_TRIAL_HEARTBEAT_SECONDS="60")
    try:
        assert reap_jobs() == {"requeued": 1, "failed": 0}
        job = finished_job(job_id, second, timeout=180)
    finally:
        stop_worker(second)

    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.attempts == 2
    victim.refresh_from_db()
    assert victim.state == TrialState.FAILED
    assert "worker stopped" in victim.message
    retry = TrainingTrial.objects.get(run=run, slot=victim.slot, attempt=2)
    assert retry.state == TrialState.COMPLETE
    assert retry.params == victim.params
    assert not run.trials.filter(state__in=[TrialState.RUNNING, TrialState.QUEUED]).exists()
    assert run.trials.filter(state=TrialState.COMPLETE).count() == 2
