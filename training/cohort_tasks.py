"""Celery entry point for freezing large cohorts; imported by TrainingConfig.ready()."""
from __future__ import annotations

from celery import shared_task

from reports.jobs.runner import run_job
from training.services.cohorts import cohort_freeze_job


@shared_task(name="training.cohort_tasks.cohort_freeze_task", acks_late=True)
def cohort_freeze_task(job_id: int) -> None:
    """Run a queued cohort_freeze job; a duplicate delivery or a finished job is a no-op (run_job)."""
    run_job(job_id, cohort_freeze_job, failure="Freezing the cohort failed")
