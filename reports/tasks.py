"""Celery entry points for reports: thin wrappers that load a job by id and call a service."""
from __future__ import annotations

from pathlib import Path

from celery import shared_task
from django.utils import timezone

from reports.hooks import import_committed
from reports.importers.parse import check_file
from reports.jobs.runner import JobFailed, JobOutcome, run_job
from reports.models import AccessEvent, AuditAction, Job
from reports.services.dicom import dicom_import
from reports.services.imports import (
    ImportRejected,
    ImportResult,
    report_import,
    upload_delete,
    upload_path,
)
from reports.services.jobs import job_reap
from reports.services.pacs import PacsError, UnknownSource, pacs_pull


def _import_body(job: Job) -> JobOutcome:
    committed = _committed_import(job)
    if committed is not None:
        return _import_outcome(committed)
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
    return _import_outcome(result)


def _import_outcome(result: ImportResult) -> JobOutcome:
    return JobOutcome(
        result=result.as_dict(),
        message=f"Imported: {result.created:,} new, {result.updated:,} updated, {result.unchanged:,} unchanged.",
    )


def _committed_import(job: Job) -> ImportResult | None:
    """What an earlier attempt of this job imported, when it committed but its worker died before
    recording the outcome; None when no attempt committed.

    report_import writes its audit row in the import's own transaction, so that row proves the
    commit and holds the counts. Importing again would find every row unchanged, report "0 new"
    and audit the import twice; this answers what a clean run answered, once.
    """
    if job.attempts <= 1:
        return None
    event = AccessEvent.objects.filter(
        action=AuditAction.REPORT_IMPORT, object_type=Job._meta.model_name, object_id=str(job.pk)
    ).first()
    if event is None:
        return None
    counts = {key: int(event.detail.get(key, 0)) for key in ("created", "updated", "unchanged")}
    try:
        # The warnings (unknown columns) are not audited: read them again from the kept upload.
        with upload_path(job.params["upload"]).open("rb") as stream:
            warnings = check_file(stream, job.params["format"], tz=timezone.get_default_timezone()).warnings
    except FileNotFoundError:
        warnings = []
    if counts["created"] or counts["updated"]:
        # Its on_commit listeners died with the worker; they only queue idempotent work.
        import_committed(job.protocol_id)
    return ImportResult(**counts, warnings=warnings)


@shared_task(name="reports.tasks.import_reports", acks_late=True)
def import_reports(job_id: int) -> None:
    """Run an import job; the uploaded copy is deleted once the job's outcome is recorded."""
    job = run_job(job_id, _import_body, failure="The import failed on the server; nothing was imported")
    if job is not None and job.is_finished:
        # Reached only once the outcome is stored: if the database was down, or the job went
        # back to the queue, the file stays for the next attempt.
        upload_delete(job.params["upload"])


def _dicom_import_body(job: Job) -> JobOutcome:
    from django.conf import settings

    root = Path(settings.DICOM_IMPORT_ROOT) / job.params["folder"]
    if not root.is_dir():
        raise JobFailed("The folder is gone from the DICOM inbox; copy it there again.")
    result = dicom_import(protocol=job.protocol, root=root, actor=job.created_by, channel=job.params.get("channel", "task"),
                          job=job)
    if result.instances == 0:
        raise JobFailed("Nothing could be read: no DICOM image in the folder.", errors=result.skipped[:200])
    return JobOutcome(
        result=result.as_dict(),
        message=f"Imported {result.studies} studies ({result.new_instances} new images); "
        f"{len(result.unlinked)} without a report, {len(result.skipped)} files skipped.",
    )


@shared_task(name="reports.tasks.import_dicom", acks_late=True)
def import_dicom(job_id: int) -> None:
    """Run a DICOM folder import job (idempotent: a re-run adds nothing)."""
    run_job(job_id, _dicom_import_body, failure="The DICOM import failed on the server")


def _pacs_pull_body(job: Job) -> JobOutcome:
    try:
        result = pacs_pull(protocol=job.protocol, source_name=job.params["source"], accessions=job.params["accessions"],
                           actor=job.created_by, channel=job.params.get("channel", "task"), job=job)
    except (PacsError, UnknownSource) as exc:
        raise JobFailed(str(exc)) from None
    imported = result.imported
    return JobOutcome(
        result=result.as_dict(),
        message=f"Found {result.found} studies; imported {imported.new_instances if imported else 0} new images"
        + (f"; {len(result.not_found)} accession(s) not found" if result.not_found else "") + ".",
    )


@shared_task(name="reports.tasks.pull_pacs", acks_late=True)
def pull_pacs(job_id: int) -> None:
    """Retrieve studies from a PACS source and import them (idempotent: a re-run adds nothing)."""
    run_job(job_id, _pacs_pull_body, failure="The PACS retrieval failed on the server")


@shared_task(name="reports.tasks.reap_jobs")
def reap_jobs() -> dict[str, int]:
    """Re-queue or fail jobs whose worker stopped heartbeating (run it every minute or so)."""
    return job_reap()
