"""Celery entry points for cohort jobs (freezing large cohorts, converting their images)."""
from __future__ import annotations

from celery import shared_task

from reports.jobs.runner import run_job
from training.services.cohort_images import cohort_images_job
from training.services.cohorts import cohort_freeze_job


@shared_task(name="training.cohort_tasks.cohort_freeze_task", acks_late=True)
def cohort_freeze_task(job_id: int) -> None:
    """Run a queued cohort_freeze job; a duplicate delivery or a finished job is a no-op (run_job)."""
    run_job(job_id, cohort_freeze_job, failure="Freezing the cohort failed")


@shared_task(name="training.cohort_tasks.cohort_images_task", acks_late=True)
def cohort_images_task(job_id: int) -> None:
    """Run a queued cohort_images job: convert the cohort's series to NIfTI (idempotent)."""
    run_job(job_id, cohort_images_job, failure="Converting the cohort's images failed")
