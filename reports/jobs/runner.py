"""The one wrapper every job's task body runs inside.

    @shared_task(name="training.tasks.train", acks_late=True)
    def train_task(job_id: int) -> None:
        run_job(job_id, lambda job: train(job=job), failure="Training failed")

The body gets the claimed Job, reports progress with `job_progress` (which heartbeats and
raises JobCancelled once someone cancelled the job) and returns a JobOutcome. It raises
JobFailed to fail the job with a message of its own; any other exception fails it with the
exception's type only, since the text of an exception can quote report content (SECURITY.md #7).
A lost database connection fails nothing: the job goes back to the queue (SECURITY.md #14).
"""
from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError, connection

from reports.models import Job
from reports.services.jobs import JobCancelled, job_fail, job_retry, job_start, job_succeed

logger = logging.getLogger(__name__)


@dataclass
class JobOutcome:
    result: dict[str, Any] = field(default_factory=dict)
    message: str = "Done"


class JobFailed(Exception):
    """Raised by a job body to fail its job with a message (and row errors) meant for users."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []


def run_job(job_id: int, body: Callable[[Job], JobOutcome], *, failure: str = "The job failed on the server") -> Job | None:
    """Claim the job, run `body`, and record how it ended; None when there was nothing to run.

    A duplicate broker delivery or a job that finished, was cancelled or is held by another
    worker returns None at once (job_start's conditional update). None too when this attempt
    lost the job (the database went away, or the reaper re-queued it): another attempt will
    finish it, so the caller must not clean up after it (an import keeps its upload).
    """
    job = job_start(job_id=job_id)
    if job is None:
        return None
    try:
        return _run(job, body, failure)
    except (OperationalError, InterfaceError) as exc:
        # The connection dropped (a database restart or failover, a killed backend) or the
        # database stayed locked: the body's transaction rolled back, so a fresh attempt is
        # safe. The error's type only, as below.
        logger.warning(
            "%s job %s lost the database (%s); re-queueing it", job.kind, job_id, type(exc).__name__
        )
        _requeue_after_database_loss(job)
        return None


def _run(job: Job, body: Callable[[Job], JobOutcome], failure: str) -> Job | None:
    try:
        outcome = body(job)
    except JobCancelled:
        job.refresh_from_db()
        return job if job.is_finished else None
    except JobFailed as failed:
        job_fail(job=job, message=failed.message, errors=failed.errors)
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        # The frames, not the message: where it broke helps, what it said could be PHI.
        logger.error(
            "%s job %s failed: %s\n%s",
            job.kind, job.pk, type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)),
        )
        job_fail(job=job, message=f"{failure} ({type(exc).__name__}).")
    else:
        job_succeed(job=job, result=outcome.result, message=outcome.message)
    return job


def _requeue_after_database_loss(job: Job) -> None:
    if not connection.in_atomic_block:  # a caller's transaction (a test's) keeps its connection
        # Drop the broken connection so the next query opens a new one.
        connection.close_if_unusable_or_obsolete()
    try:
        job_retry(job=job, reason="The database connection was lost")
    except DatabaseError as exc:
        # Still down: the job stays running without a heartbeat, and the reaper re-queues it.
        logger.warning(
            "job %s left for the reaper: the database is still unreachable (%s)", job.pk, type(exc).__name__
        )
