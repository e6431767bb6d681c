"""Celery entry points for reports: thin wrappers that load a job by id and call a service."""
from __future__ import annotations

import logging
from collections.abc import Callable

from celery import current_app, shared_task
from django.utils import timezone

from reports.models import Job, JobKind, JobStatus
from reports.services.imports import ImportRejected, report_import, upload_delete, upload_path
from reports.services.jobs import JobCancelled, job_fail, job_reap, job_start, job_succeed

logger = logging.getLogger(__name__)

# The task that runs each kind of job, by Celery name, so the reaper can re-queue any of them
# without importing other apps. Apps add their kind here when they add a job task.
JOB_TASKS: dict[str, str] = {
    JobKind.IMPORT: "reports.tasks.import_reports",
    JobKind.RELABEL: "annotation.tasks.relabel_protocol_task",
}


@shared_task(name="reports.tasks.import_reports", acks_late=True)
def import_reports(job_id: int) -> None:
    """Run an import job; the uploaded copy is deleted once the job's outcome is recorded."""
    job = job_start(job_id=job_id)
    if job is None:
        return  # finished, cancelled, or claimed by another delivery of this message
    name = job.params["upload"]
    try:
        result = report_import(
            protocol=job.protocol,
            path=upload_path(name),
            fmt=job.params["format"],
            actor=job.created_by,
            channel=job.params.get("channel", "task"),
            job=job,
        )
    except ImportRejected as rejected:
        job_fail(
            job=job,
            message=f"{len(rejected.errors)} problem(s) found; nothing was imported.",
            errors=[error.as_dict() for error in rejected.errors],
        )
    except JobCancelled:
        pass
    except FileNotFoundError:
        job_fail(job=job, message="The uploaded file is gone; upload it again.")
    except Exception:
        # Logged with the job id only: the exception text could quote report content.
        logger.exception("Import job %s failed", job_id)
        job_fail(job=job, message="The import failed on the server; nothing was imported.")
    else:
        job_succeed(
            job=job,
            result=result.as_dict(),
            message=f"Imported: {result.created:,} new, {result.updated:,} updated, {result.unchanged:,} unchanged.",
        )
    # Reached only once the outcome is stored: if the database was down, the file stays for
    # the reaper's retry.
    upload_delete(name)


def _enqueue_for(kind: str) -> Callable[[int], object]:
    task_name = JOB_TASKS.get(kind)

    def enqueue(job_id: int) -> object:
        if task_name is None:
            # No task can run it: fail it rather than leave it queued forever.
            return Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
                status=JobStatus.FAILED, message="No worker task is registered for this kind of job.",
                finished_at=timezone.now(),
            )
        return current_app.send_task(task_name, args=[job_id])

    return enqueue


@shared_task(name="reports.tasks.reap_jobs")
def reap_jobs() -> dict[str, int]:
    """Re-queue or fail jobs whose worker stopped heartbeating (run it every minute or so)."""
    return job_reap(enqueue_by_kind={kind: _enqueue_for(kind) for kind in JobKind.values})
