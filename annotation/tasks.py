"""Celery entry points for annotation work: thin wrappers that load ids and call services."""
from __future__ import annotations

from celery import shared_task

from annotation.services.relabel import relabel_protocol
from reports.jobs.runner import JobOutcome, run_job
from reports.models import Job


def _relabel_body(job: Job) -> JobOutcome:
    counts = relabel_protocol(protocol=job.protocol, job=job, force=bool(job.params.get("force")))
    return JobOutcome(result=counts, message=f"Relabelled {counts['reports']} reports")


@shared_task(name="annotation.tasks.relabel_protocol_task", acks_late=True)
def relabel_protocol_task(job_id: int) -> None:
    """Run a queued relabel job; a duplicate delivery or a finished job is a no-op (run_job)."""
    run_job(job_id, _relabel_body, failure="Relabel failed")
