"""How the job page reads the results of reports' own job kinds (registered in ReportsConfig.ready).

Skipped files are named by their path relative to the folder that was imported (an inbox
sub-folder, or the numbered files of a PACS retrieval), as the import recorded them: never a
server path, and nothing read from the files' headers.
"""
from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from reports.jobs.registry import JobSummary, ResultTable, default_summary, result_table

if TYPE_CHECKING:
    from reports.models import Job


def _succeeded(job: Job) -> bool:
    from reports.models import JobStatus

    return job.status == JobStatus.SUCCEEDED and isinstance(job.result, dict)


def report_import_summary(job: Job) -> JobSummary:
    base = default_summary(job)
    if not _succeeded(job):
        return base
    result = job.result
    counts = (("New", result.get("created", 0)), ("Updated", result.get("updated", 0)),
              ("Unchanged", result.get("unchanged", 0)))
    return JobSummary(counts=counts, notes=base.notes, tables=base.tables)


def _shown_path(path: str) -> str:
    # The import records relative paths; should an absolute one ever reach a result, show its
    # file name rather than the server's folders.
    return PurePosixPath(path).name if PurePosixPath(path).is_absolute() else path


def skipped_files_table(skipped: list[dict[str, Any]]) -> ResultTable | None:
    """The files an import skipped ({"path", "reason"}), with the reason for each."""
    rows = [(_shown_path(str(item.get("path", ""))), item.get("reason")) for item in skipped if isinstance(item, dict)]
    return result_table("Skipped files", ("File", "Reason"), rows) if rows else None


def _dicom_counts(imported: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return (
        ("Studies", imported.get("studies", 0)), ("Series", imported.get("series", 0)),
        ("Images", imported.get("instances", 0)), ("New images", imported.get("new_instances", 0)),
        ("Linked to a report", imported.get("linked", 0)), ("Without a report", len(imported.get("unlinked") or [])),
        ("Skipped files", len(imported.get("skipped") or [])),
    )


def dicom_import_summary(job: Job) -> JobSummary:
    """Counts of an import, and every skipped file with its reason (a failed import that read
    nothing keeps its skipped files in job.errors)."""
    if _succeeded(job):
        counts, skipped = _dicom_counts(job.result), job.result.get("skipped") or []
    else:
        counts, skipped = (), [error for error in job.errors if isinstance(error, dict) and "path" in error]
    table = skipped_files_table(skipped)
    return JobSummary(counts=counts, tables=(table,) if table else ())


def pacs_pull_summary(job: Job) -> JobSummary:
    """What was found and retrieved, then the import's counts and skipped files."""
    if not _succeeded(job):
        return default_summary(job)
    result = job.result
    imported = result.get("imported") or {}
    counts = (("Studies found", result.get("found", 0)), ("Files retrieved", result.get("retrieved_files", 0)),
              ("Accessions not found", result.get("not_found", 0)), ("New images", imported.get("new_instances", 0)),
              ("Skipped files", len(imported.get("skipped") or [])))
    table = skipped_files_table(imported.get("skipped") or [])
    return JobSummary(counts=counts, tables=(table,) if table else ())
