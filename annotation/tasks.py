"""Celery entry points for annotation work: thin wrappers that load ids and call services."""
from __future__ import annotations

from celery import shared_task

from annotation.services.relabel import relabel_protocol
from annotation.services.report_terms import report_terms_refresh
from reports.jobs.runner import JobOutcome, run_job
from reports.models import Job


def _relabel_body(job: Job) -> JobOutcome:
    counts = relabel_protocol(protocol=job.protocol, job=job, force=bool(job.params.get("force")))
    # The relabel has just read the new and edited reports: index their words for the preview.
    report_terms_refresh(protocol=job.protocol)
    return JobOutcome(result=counts, message=f"Relabelled {counts['reports']} reports")


@shared_task(name="annotation.tasks.relabel_protocol_task", acks_late=True)
def relabel_protocol_task(job_id: int) -> None:
    """Run a queued relabel job; a duplicate delivery or a finished job is a no-op (run_job)."""
    run_job(job_id, _relabel_body, failure="Relabel failed")


def _quality_sample_body(job: Job) -> JobOutcome:
    from annotation.services.quality import quality_sample_job_run

    result = quality_sample_job_run(job=job)
    return JobOutcome(result=result, message=f"Drew quality sample {result['sample']} ({result['items']} items)")


@shared_task(name="annotation.tasks.quality_sample_task", acks_late=True)
def quality_sample_task(job_id: int) -> None:
    """Draw a quality sample too large for a web request (issue 8, part 5)."""
    run_job(job_id, _quality_sample_body, failure="Drawing the quality sample failed")
