"""Celery entry points for annotation work: thin wrappers that load ids and call services."""
from __future__ import annotations

import logging

from celery import shared_task

from annotation.services.relabel import relabel_protocol
from reports.services.jobs import JobCancelled, job_fail, job_start, job_succeed

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def relabel_protocol_task(job_id: int) -> None:
    """Run a queued relabel job; a duplicate delivery or a finished job is a no-op (job_start)."""
    job = job_start(job_id=job_id)
    if job is None:
        return
    try:
        counts = relabel_protocol(protocol=job.protocol, job=job, force=bool(job.params.get("force")))
    except JobCancelled:
        return
    except Exception as exc:
        # The exception text could quote a report; log and store its type only (SECURITY.md promise 7).
        logger.error("Relabel job %s failed: %s", job_id, type(exc).__name__)
        job_fail(job=job, message=f"Relabel failed: {type(exc).__name__}")
        return
    job_succeed(job=job, result=counts, message=f"Relabelled {counts['reports']} reports")
