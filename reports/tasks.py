"""Celery entry points for reports: thin wrappers that load a job by id and call a service."""
from __future__ import annotations

from celery import shared_task

from reports.jobs.runner import JobFailed, JobOutcome, run_job
from reports.models import Job
from reports.services.imports import ImportRejected, report_import, upload_delete, upload_path
from reports.services.jobs import job_reap


def _import_body(job: Job) -> JobOutcome:
    try:
        result = report_import(
            protocol=job.protocol,
            path=upload_path(job.params["upload"]),
            fmt=job.params["format"],
            actor=job.created_by,
            channel=job.params.get("channel", "task"),
            job=job,
        )
    except ImportRejected as rejected:
        raise JobFailed(
            f"{len(rejected.errors)} problem(s) found; nothing was imported.",
            errors=[error.as_dict() for error in rejected.errors],
        ) from None
    except FileNotFoundError:
        raise JobFailed("The uploaded file is gone; upload it again.") from None
    return JobOutcome(
        result=result.as_dict(),
        message=f"Imported: {result.created:,} new, {result.updated:,} updated, {result.unchanged:,} unchanged.",
    )


@shared_task(name="reports.tasks.import_reports", acks_late=True)
def import_reports(job_id: int) -> None:
    """Run an import job; the uploaded copy is deleted once the job's outcome is recorded."""
    job = run_job(job_id, _import_body, failure="The import failed on the server; nothing was imported")
    if job is not None:
        # Reached only once the outcome is stored: if the database was down, the file stays for
        # the reaper's retry.
        upload_delete(job.params["upload"])


@shared_task(name="reports.tasks.reap_jobs")
def reap_jobs() -> dict[str, int]:
    """Re-queue or fail jobs whose worker stopped heartbeating (run it every minute or so)."""
    return job_reap()
