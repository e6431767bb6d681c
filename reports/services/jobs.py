"""The job state machine: queued -> running -> succeeded | failed | cancelled.

A job's state lives in the database, so a killed worker, a lost broker message or a restart
never leaves it unknowable: the worker heartbeats while it runs, and `job_reap` re-queues or
fails jobs whose heartbeat stopped, and sends again the message of a job queued for too long
(SECURITY.md promises 13 and 14; tests/integration/test_worker_death_soak.py and
test_restart_broker_database.py kill workers and connections to prove it).

`attempts` doubles as the fencing token of a run: job_start bumps it, and progress and the final
state are written only while it is unchanged, so a worker the reaper gave up on (frozen, cut off
from the database) cannot overwrite the state of the attempt that replaced it.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Case, F, Q, When
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
    the job to running. It counts the attempt in the same statement, so a worker killed right
    after the claim still leaves the attempt counted for the reaper's limit.
    """
    job = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).first()
    if job is None:
        return None
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED, attempts=job.attempts).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, message="Running",
        attempts=job.attempts + 1,
    )
    if not claimed:
        return None
    job.status, job.started_at, job.heartbeat_at, job.message = JobStatus.RUNNING, now, now, "Running"
    job.attempts += 1
    return job


def _owned(job: Job) -> Any:
    """The job's row while this attempt still runs it (see the module docstring on fencing)."""
    return Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts)


def job_progress(*, job: Job, done: int, total: int | None = None, message: str = "") -> None:
    """Record progress and heartbeat; raise JobCancelled if the job was cancelled meanwhile."""
    fields: dict[str, Any] = {"done": done, "heartbeat_at": timezone.now()}
    if total is not None:
        fields["total"] = total
    if message:
        fields["message"] = message[:500]
    updated = _owned(job).update(**fields)
    if not updated:
        # Cancelled, or re-queued by the reaper (and maybe claimed by another worker): stop.
        raise JobCancelled(f"Job {job.pk} is no longer running in this attempt")
    for key, value in fields.items():
        setattr(job, key, value)


def job_heartbeat(*, job: Job) -> None:
    """Tell the reaper this job's worker is alive; raise JobCancelled if it was cancelled."""
    job_progress(job=job, done=job.done)


def _finish(job: Job, status: str, message: str, **fields: Any) -> None:
    now = timezone.now()
    _owned(job).update(status=status, message=message[:500], finished_at=now, heartbeat_at=now, **fields)
    job.refresh_from_db()


def job_succeed(*, job: Job, result: dict[str, Any], message: str = "Done") -> None:
    # From the row, not this object: progress may have gone through another connection (an
    # import's writing phase on PostgreSQL), which left this object's total behind.
    complete = Case(When(total__gt=0, then=F("total")), default=F("done"))
    _finish(job, JobStatus.SUCCEEDED, message, result=result, done=complete)


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


def job_retry(*, job: Job, reason: str, enqueue: Callable[[int, str], object] = job_enqueue) -> bool:
    """Hand this attempt's job back to the queue, or fail it after MAX_ATTEMPTS; True if re-queued.

    For a run stopped by a transient failure outside the job (the database connection dropped):
    its own transaction was rolled back, so the next attempt starts clean.
    """
    if job.attempts >= MAX_ATTEMPTS:
        _finish(job, JobStatus.FAILED, f"{reason}; gave up after {job.attempts} attempts.")
        return False
    # heartbeat_at: when it was queued again, so the reaper leaves its new message time to arrive.
    requeued = _owned(job).update(
        status=JobStatus.QUEUED, message=f"{reason}; re-queued."[:500], heartbeat_at=timezone.now()
    )
    if not requeued:
        return False
    enqueue(job.pk, job.kind)
    return True


def job_reap(*, enqueue: Callable[[int, str], object] = job_enqueue) -> dict[str, int]:
    """Re-queue running jobs whose heartbeat stopped, or fail them after MAX_ATTEMPTS; send queued
    jobs that waited past the heartbeat timeout again.

    Jobs are idempotent by design (imports check accessions, relabels recompute), so running
    one again after a worker died gives the same result as a clean run.

    A queued job's message can be lost: a broker restarted without persistence, or a worker
    killed between taking the message and claiming the job (the filesystem transport has no
    acknowledgement). Sending it again costs at most a duplicate delivery, which job_start ignores;
    heartbeat_at of a queued job records when it was last sent, so a long queue gets one more
    message per job and timeout, not one per reaper run.
    """
    now = timezone.now()
    cutoff = now - settings.JOB_HEARTBEAT_TIMEOUT
    counts = {"requeued": 0, "failed": 0}
    waiting = Job.objects.filter(status=JobStatus.QUEUED).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    )
    for job in waiting:
        resent = Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED, heartbeat_at=job.heartbeat_at)
        if resent.update(heartbeat_at=now):
            enqueue(job.pk, job.kind)
            counts["requeued"] += 1
    stale = Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff)
    for job in stale:
        if job.attempts >= MAX_ATTEMPTS:
            _finish(job, JobStatus.FAILED, f"The worker stopped {job.attempts} times; giving up.")
            counts["failed"] += 1
            continue
        requeued = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, heartbeat_at__lt=cutoff).update(
            status=JobStatus.QUEUED, message="Re-queued after the worker stopped", heartbeat_at=now
        )
        if requeued:
            enqueue(job.pk, job.kind)
            counts["requeued"] += 1
    return counts
