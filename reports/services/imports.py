"""Import report files into a protocol: all rows or none, in bulk.

The file is read twice, streaming: first to validate every row (nothing is written when any row
is bad), then to write inside one transaction in batches of `BATCH_SIZE`. Memory stays flat
whatever the file size. Re-importing an accession compares it with what is stored: identical
rows are left alone, changed ones update the study and report (a changed text raises the report's
revision); see docs/IMPORT.md.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.http import HttpRequest
from django.utils import timezone

from reports.apps import IMPORT_JOB
from reports.hooks import import_committed, report_sections
from reports.importers.parse import ReportRow, RowError, check_file, detect_format, iter_valid_rows
from reports.importers.upload_limit import OVER_LIMIT_ATTR
from reports.models import AuditAction, Job, JobStatus, Patient, Protocol, Report, Study
from reports.services.audit import audit_record
from reports.services.jobs import JobCancelled, job_create, job_progress

BATCH_SIZE = 1000
STUDY_FIELDS = (
    "modality", "body_part", "study_date", "study_instance_uid",
    "manufacturer", "scanner_model", "software_version", "station",
)
UPLOAD_SUFFIX = ".upload"
# Room for the multipart envelope and the form fields around the file itself.
UPLOAD_ENVELOPE_BYTES = 64 * 1024


class ImportRejected(Exception):
    """The file has problems; nothing was written. `errors` name line, field and problem."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} problem(s); nothing was imported")
        self.errors = errors


class UploadTooLarge(Exception):
    """The upload passed settings.IMPORT_MAX_BYTES and was discarded."""


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def report_import(
    *,
    protocol: Protocol,
    path: Path,
    fmt: str,
    actor: AbstractBaseUser | None,
    channel: str,
    job: Job | None = None,
) -> ImportResult:
    """Validate then write every report of a file into `protocol`; raise ImportRejected if any row is bad."""
    size = path.stat().st_size
    if size > settings.IMPORT_MAX_BYTES:
        raise ImportRejected([RowError(None, "", _too_large_message())])
    progress = _Progress(job)
    tz = timezone.get_default_timezone()

    with path.open("rb") as stream:
        checked = check_file(
            stream, fmt, tz=tz, on_progress=lambda rows, read: progress.checking(rows=rows, read=read, size=size)
        )
    if not checked.ok:
        raise ImportRejected(checked.errors)
    progress.writing(done=0, total=checked.rows)

    result = ImportResult(warnings=checked.warnings)
    try:
        with transaction.atomic(), path.open("rb") as stream:
            for batch in _batched(iter_valid_rows(stream, fmt, tz=tz), BATCH_SIZE):
                _write_batch(protocol=protocol, rows=batch, result=result)
                progress.writing(done=result.total, total=checked.rows)
            audit_record(
                actor=actor,
                action=AuditAction.REPORT_IMPORT,
                obj=job,
                protocol=protocol,
                channel=channel,
                detail={"created": result.created, "updated": result.updated, "unchanged": result.unchanged,
                        "format": fmt, "job": job.pk if job is not None else None},
            )
            if result.created or result.updated:
                transaction.on_commit(lambda: import_committed(protocol.pk))
    except IntegrityError:
        # Only a concurrent import of the same accessions gets here: validation caught the rest.
        raise ImportRejected(
            [RowError(None, "accession", "Another import added some of these accessions at the same time; try again.")]
        ) from None
    finally:
        progress.close()
    return result


def _batched(rows: Iterable[ReportRow], size: int) -> Iterator[list[ReportRow]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _text_fields(text: str) -> dict[str, Any]:
    return {
        "text": text,
        "text_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "sections": [list(section) for section in report_sections(text)],
    }


def _patients(protocol: Protocol, pseudonyms: set[str]) -> dict[str, int]:
    if not pseudonyms:
        return {}
    # ignore_conflicts: a concurrent import may create the same patient; re-read gives the ids.
    known = dict(Patient.objects.filter(protocol=protocol, pseudonym__in=pseudonyms).values_list("pseudonym", "pk"))
    missing = pseudonyms - known.keys()
    if missing:
        Patient.objects.bulk_create(
            [Patient(protocol=protocol, pseudonym=p) for p in missing], ignore_conflicts=True
        )
        known.update(
            Patient.objects.filter(protocol=protocol, pseudonym__in=missing).values_list("pseudonym", "pk")
        )
    return known


def _write_batch(*, protocol: Protocol, rows: list[ReportRow], result: ImportResult) -> None:
    patient_ids = _patients(protocol, {row.patient for row in rows if row.patient})
    # order_by(): Study's default ordering would steer the planner to the (protocol, date) index
    # and scan the whole protocol for every batch instead of looking each accession up.
    existing = {
        study.accession: study
        for study in Study.objects.filter(protocol=protocol, accession__in=[row.accession for row in rows])
        .select_related("report")
        .order_by()
    }
    now = timezone.now()
    new_studies: list[Study] = []
    new_reports: list[tuple[Study, ReportRow]] = []
    changed_studies: list[Study] = []
    changed_reports: list[Report] = []
    for row in rows:
        study = existing.get(row.accession)
        if study is None:
            study = Study(protocol=protocol, accession=row.accession)
            _apply_study(study, row, patient_ids)
            new_studies.append(study)
            new_reports.append((study, row))
            result.created += 1
            continue
        study_changed = _apply_study(study, row, patient_ids)
        report = study.report if _has_report(study) else None
        if report is None:
            # A study that arrived without its report (from DICOM, say) gets it now.
            new_reports.append((study, row))
            result.created += 1
        else:
            report_changed = _apply_report(report, row, now)
            if report_changed:
                changed_reports.append(report)
            if study_changed or report_changed:
                result.updated += 1
            else:
                result.unchanged += 1
        if study_changed:
            changed_studies.append(study)
    Study.objects.bulk_create(new_studies)
    Report.objects.bulk_create(
        [Report(study=study, signed_at=row.signed_at, **_text_fields(row.text)) for study, row in new_reports]
    )
    _update_rows(Study, changed_studies, ["patient", *STUDY_FIELDS])
    _update_rows(Report, changed_reports, ["text", "text_sha256", "sections", "revision", "signed_at", "updated_at"])


def _update_rows(model: type[Model], objs: list[Model], names: list[str]) -> None:
    """UPDATE each object by primary key with one executemany.

    QuerySet.bulk_update builds a CASE WHEN expression per object and field, which costs about
    5 ms an object: 100,000 changed reports would take minutes in Python alone.
    """
    if not objs:
        return
    fields = [model._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(model._meta.pk.column)} = %s"  # noqa: S608
    params = [
        [field.get_db_prep_save(getattr(obj, field.attname), connection) for field in fields] + [obj.pk]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _has_report(study: Study) -> bool:
    try:
        study.report  # noqa: B018 - select_related filled it, or raises when there is none
    except Report.DoesNotExist:
        return False
    return True


def _apply_study(study: Study, row: ReportRow, patient_ids: dict[str, int]) -> bool:
    """Copy the row's metadata onto the study; True if anything changed.

    Only fields the row carries are touched: a file without a `modality` column leaves the
    stored modality alone, while an empty cell clears it.
    """
    changed = False
    for name in STUDY_FIELDS:
        if name in row.present and getattr(study, name) != getattr(row, name):
            setattr(study, name, getattr(row, name))
            changed = True
    if "patient" in row.present:
        patient_id = patient_ids.get(row.patient) if row.patient else None
        if study.patient_id != patient_id:
            study.patient_id = patient_id
            changed = True
    return changed


def _apply_report(report: Report, row: ReportRow, now: Any) -> bool:
    changed = False
    if report.text != row.text:
        for name, value in _text_fields(row.text).items():
            setattr(report, name, value)
        # A new revision tells the labelling side that confirmations were made on older text.
        report.revision += 1
        changed = True
    if "signed_at" in row.present and report.signed_at != row.signed_at:
        report.signed_at = row.signed_at
        changed = True
    if changed:
        report.updated_at = now
    return changed


def _too_large_message() -> str:
    return f"The file is larger than the {settings.IMPORT_MAX_BYTES // (1024 * 1024):,} MB import limit."


class _Progress:
    """Job progress for both phases; a no-op without a job.

    Checking runs outside any transaction, so plain `job_progress` calls are seen by the page
    at once. Writing runs inside the import's transaction, where an update of the job row would
    stay invisible until the end (and would hold the job's row lock); on PostgreSQL a second,
    autocommitting connection records writing progress and the heartbeat instead. SQLite has a
    single writer, so there (and when a caller's transaction wraps the whole import) progress
    goes through the import's own connection and shows once it commits.
    """

    def __init__(self, job: Job | None) -> None:
        self.job = job
        self._side: Any = None
        if job is not None and connection.vendor == "postgresql" and not connection.in_atomic_block:
            self._side = connection.copy()

    def checking(self, *, rows: int, read: int, size: int) -> None:
        if self.job is not None:
            job_progress(job=self.job, done=read, total=size, message=f"Checking the file: {rows:,} reports read")

    def writing(self, *, done: int, total: int) -> None:
        if self.job is None:
            return
        message = f"Writing reports: {done:,} of {total:,}"
        if self._side is not None:
            self._side_update(done=done, total=total, message=message)
        else:
            job_progress(job=self.job, done=done, total=total, message=message)

    def _side_update(self, *, done: int, total: int, message: str) -> None:
        table = Job._meta.db_table
        with self._side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET done = %s, total = %s, message = %s, heartbeat_at = %s "  # noqa: S608
                "WHERE id = %s AND status = %s AND attempts = %s",
                # The attempt fences the write as in job_progress: an import the reaper gave up on
                # must not overwrite the progress of the attempt that replaced it.
                [done, total, message, timezone.now(), self.job.pk, JobStatus.RUNNING,
                 self.job.attempts],
            )
            if cursor.rowcount == 0:
                raise JobCancelled(f"Job {self.job.pk} is no longer running in this attempt")

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None


# -- uploads -------------------------------------------------------------------------------------


def upload_store(*, source: IO[bytes] | Iterable[bytes]) -> str:
    """Copy an upload into settings.UPLOAD_DIR under a random name; return that name.

    The user's file name is never used (it may hold PHI, or a path). The copy is written to a
    temporary name and renamed, so a worker never sees half a file. Raises UploadTooLarge past
    settings.IMPORT_MAX_BYTES, and ImportRejected for an empty file.
    """
    upload_dir = Path(settings.UPLOAD_DIR)
    upload_dir.mkdir(parents=True, exist_ok=True)
    name = secrets.token_hex(16) + UPLOAD_SUFFIX
    partial = upload_dir / (name + ".part")
    chunks = source.chunks() if hasattr(source, "chunks") else source
    written = 0
    try:
        with partial.open("xb") as out:
            for chunk in chunks:
                written += len(chunk)
                if written > settings.IMPORT_MAX_BYTES:
                    raise UploadTooLarge(_too_large_message())
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if written == 0:
            raise ImportRejected([RowError(None, "file", "The file is empty.")])
        os.replace(partial, upload_dir / name)
    finally:
        partial.unlink(missing_ok=True)
    return name


def upload_too_large(content_length: str | None) -> bool:
    """Whether a request body is past the limit before it is read (room left for the envelope)."""
    try:
        length = int(content_length or 0)
    except ValueError:
        return False  # Django reads what arrives; the copy in upload_store still stops at the limit
    return length > settings.IMPORT_MAX_BYTES + UPLOAD_ENVELOPE_BYTES


def upload_was_cut(request: HttpRequest) -> bool:
    """Whether MaxSizeUploadHandler dropped a file of this request for passing the limit."""
    return bool(getattr(request, OVER_LIMIT_ATTR, False))


def upload_path(name: str) -> Path:
    """The stored upload; refuses anything but a name this module made."""
    if Path(name).name != name or not name.endswith(UPLOAD_SUFFIX):
        raise ValueError("Not an upload name")
    return Path(settings.UPLOAD_DIR) / name


def upload_delete(name: str) -> None:
    upload_path(name).unlink(missing_ok=True)


def report_import_enqueue(
    *,
    protocol: Protocol,
    source: IO[bytes] | Iterable[bytes],
    filename: str | None,
    fmt: str | None,
    actor: AbstractBaseUser,
    channel: str,
    enqueue: Callable[[int], object] | None = None,
) -> Job:
    """Store an upload and queue its import as a job; the caller has checked the actor's role.

    Raises FormatError, UploadTooLarge or ImportRejected (empty file) before anything is queued.
    """
    fmt = detect_format(filename, fmt)
    name = upload_store(source=source)
    if enqueue is None:
        from reports.tasks import import_reports as import_reports_task

        enqueue = import_reports_task.delay
    try:
        return job_create(
            kind=IMPORT_JOB,
            protocol=protocol,
            actor=actor,
            params={"upload": name, "format": fmt, "channel": channel},
            enqueue=enqueue,
        )
    except Exception:
        upload_delete(name)
        raise
