"""The job state machine: queued -> running -> succeeded | failed | cancelled.

A job's state lives in the database, so a killed worker, a lost broker message or a restart
never leaves it unknowable: the worker heartbeats while it runs, and `job_reap` re-queues or
fails jobs whose heartbeat stopped (SECURITY.md promises 13 and 14).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from reports.jobs.registry import job_kind
from reports.models import Job, JobStatus, Protocol

MAX_ATTEMPTS = 3
MAX_ERRORS_KEPT = 200


class JobCancelled(Exception):
    """Raised inside a running job when someone cancelled it; the runner stops cleanly."""


def job_enqueue(job_id: int, kind: str) -> object:
    """Send a job's id to the task registered for its kind; fail it when no task is registered."""
    spec = job_kind(kind)
    if spec is None:
        # No task can run it: fail it rather than leave it queued forever.
        return Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
            status=JobStatus.FAILED, message="No worker task is registered for this kind of job.",
            finished_at=timezone.now(),
        )
    options = {"queue": spec.queue} if spec.queue else {}
    return current_app.send_task(spec.task, args=[job_id], **options)


def job_create(
    *,
    kind: str,
    protocol: Protocol,
    actor: AbstractBaseUser | None,
    params: dict[str, Any],
    enqueue: Callable[[int], object] | None = None,
) -> Job:
    """Create a queued job and send its id to its kind's task once the row is committed.

    `enqueue` replaces the send (a command that runs the job in its own process passes a no-op).
    """
    if enqueue is None and job_kind(kind) is None:
        raise ValueError(f"Unknown job kind {kind!r}: register it in the app's AppConfig.ready()")
    with transaction.atomic():
        job = Job.objects.create(kind=kind, protocol=protocol, created_by=actor, params=params)
        send = enqueue or (lambda job_id: job_enqueue(job_id, kind))
        transaction.on_commit(lambda: send(job.pk))
    return job


def job_start(*, job_id: int) -> Job | None:
    """Claim a queued (or re-queued) job for this worker; None when it is finished or taken.

    The conditional update makes a duplicate broker delivery harmless: only one worker moves
    the job to running.
    """
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, message="Running"
    )
    if not claimed:
        return None
    job = Job.objects.get(pk=job_id)
    Job.objects.filter(pk=job_id).update(attempts=job.attempts + 1)
    job.attempts += 1
    return job


def job_progress(*, job: Job, done: int, total: int | None = None, message: str = "") -> None:
    """Record progress and heartbeat; raise JobCancelled if the job was cancelled meanwhile."""
    fields: dict[str, Any] = {"done": done, "heartbeat_at": timezone.now()}
    if total is not None:
        fields["total"] = total
    if message:
        fields["message"] = message[:500]
    updated = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(**fields)
    if not updated:
        raise JobCancelled(f"Job {job.pk} is no longer running")
    for key, value in fields.items():
        setattr(job, key, value)


def job_heartbeat(*, job: Job) -> None:
    """Tell the reaper this job's worker is alive; raise JobCancelled if it was cancelled."""
    job_progress(job=job, done=job.done)


def _finish(job: Job, status: str, message: str, **fields: Any) -> None:
    now = timezone.now()
    Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        status=status, message=message[:500], finished_at=now, heartbeat_at=now, **fields
    )
    job.refresh_from_db()


def job_succeed(*, job: Job, result: dict[str, Any], message: str = "Done") -> None:
    _finish(job, JobStatus.SUCCEEDED, message, result=result, done=job.total or job.done)


def job_fail(*, job: Job, message: str, errors: list[dict[str, Any]] | None = None) -> None:
    _finish(job, JobStatus.FAILED, message, errors=(errors or [])[:MAX_ERRORS_KEPT])


def job_cancel(*, job: Job) -> bool:
    """Cancel a job that has not finished; a running one stops at its next progress call."""
    now = timezone.now()
    return bool(
        Job.objects.filter(pk=job.pk, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
            status=JobStatus.CANCELLED, message="Cancelled", finished_at=now
        )
    )


def job_reap(*, enqueue: Callable[[int, str], object] = job_enqueue) -> dict[str, int]:
    """Re-queue running jobs whose heartbeat stopped, or fail them after MAX_ATTEMPTS.

    Jobs are idempotent by design (imports check accessions, relabels recompute), so running
    one again after a worker died gives the same result as a clean run.
    """
    cutoff = timezone.now() - settings.JOB_HEARTBEAT_TIMEOUT
    stale = Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff)
    counts = {"requeued": 0, "failed": 0}
    for job in stale:
        if job.attempts >= MAX_ATTEMPTS:
            _finish(job, JobStatus.FAILED, f"The worker stopped {job.attempts} times; giving up.")
            counts["failed"] += 1
            continue
        requeued = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, heartbeat_at__lt=cutoff).update(
            status=JobStatus.QUEUED, message="Re-queued after the worker stopped"
        )
        if requeued:
            enqueue(job.pk, job.kind)
            counts["requeued"] += 1
    return counts
