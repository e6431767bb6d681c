"""Celery entry points for training jobs: thin wrappers that load ids and call services.

Both run on the "training" queue, so a deployment can give training its own workers (GPU hosts)
while imports and relabels keep the default queue.
"""
from __future__ import annotations

from celery import shared_task

# Celery autodiscovers `<app>.tasks` only: the other task modules register through this one.
import training.cohort_tasks  # noqa: F401
import training.monitoring_tasks  # noqa: F401
from reports.jobs.runner import JobOutcome, run_job
from reports.models import Job
from training.models import TrainingRun
from training.services.jobs import training_run_execute
from training.services.trials import trials_reap, trials_run_available


def _train_body(job: Job) -> JobOutcome:
    return training_run_execute(job=job)


@shared_task(name="training.tasks.train", acks_late=True)
def train_task(job_id: int) -> None:
    """Run a queued training job: its trials, then the best model's predictions and artifact."""
    run_job(job_id, _train_body, failure="Training failed")


@shared_task(name="training.tasks.run_trials", acks_late=True)
def run_trials_task(run_id: int) -> int:
    """Help a running training job: claim and run its queued trial slots until none is left."""
    run = TrainingRun.objects.select_related("cohort", "job").filter(pk=run_id).first()
    if run is None:
        return 0
    return trials_run_available(run=run)


@shared_task(name="training.tasks.reap_trials")
def reap_trials_task() -> dict[str, int]:
    """Fail (and retry, bounded) trials whose worker stopped heartbeating."""
    return trials_reap()
