"""Cohort images: one NIfTI volume per cohort study, converted from one of its DICOM series.

The series of a study (`series_choose`): among the series of the study's DICOM studies that hold
instances, those of the study's own modality when there are any, then the one with the most
instances (the volume, not a scout), ties broken by series UID so the choice never depends on
database ids. A projection image (one single-frame instance without a patient position, as CR
and DX write) becomes a one-slice volume in a nominal axial plane.

Files go to `<protocol storage>/nifti/cohort-<cohort id>/<study id>.nii.gz`, gzip-compressed with
no time stamp or name in the gzip header, so converting again writes the same bytes: the SHA-256
recorded in CohortVolume can be checked against the file at any time (SECURITY.md #15).
"""
from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydicom
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from reports.dicom.files import write_atomic
from reports.dicom.geometry import SlicePlane
from reports.dicom.nifti import ConversionError, Frame, nifti_image, read_series, series_volume
from reports.jobs.runner import JobOutcome
from reports.models import DicomSeries, Job, JobStatus
from reports.services.audit import audit_record
from reports.services.dicom import dicom_storage_dir
from reports.services.jobs import job_create, job_progress
from training.apps import COHORT_IMAGES_ACTION
from training.job_summaries import NO_IMAGES, cohort_images_refusals
from training.models import Cohort, CohortStudy, CohortVolume

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest

COHORT_IMAGES_JOB = "cohort_images"
NIFTI_FOLDER = "nifti"
# A projection image's plane: axial, at the origin. Its real position is not recorded by the
# modality, and a model reads the pixels, not the patient coordinates.
PROJECTION_ORIENTATION = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
# progress(done, total, message): job_progress in a job, which raises JobCancelled.
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class VolumeRow:
    """One converted study of a cohort, as a trainer reads it.

    `labels` are the cohort's training targets in `cohort.labels` order (1, 0, or None for "no
    target": masked in the loss); `path` is absolute; `sha256` is of the file's bytes.
    """

    study_id: int
    path: Path
    labels: list[int | None]
    split: str
    sha256: str


def cohort_volume_relpath(cohort: Cohort, study_id: int) -> str:
    """The volume's path relative to the protocol's storage folder (what the manifest shows)."""
    return f"{NIFTI_FOLDER}/cohort-{cohort.pk}/{study_id}.nii.gz"


def cohort_volumes(cohort: Cohort) -> list[VolumeRow]:
    """Every converted volume of the cohort with its label vector and split, by study id.

    Two queries. Studies without a volume (no images, or not convertible) are absent: call
    cohort_volumes_convert first. The caller has checked access to the cohort.
    """
    storage = dicom_storage_dir(cohort.protocol)
    labels = list(cohort.labels)
    rows = {
        study_id: (split, targets)
        for study_id, split, targets in CohortStudy.objects.filter(cohort=cohort).values_list("study_id", "split", "targets")
    }
    volumes = CohortVolume.objects.filter(cohort=cohort).order_by("study_id").values_list("study_id", "relpath", "sha256")
    return [
        VolumeRow(
            study_id=study_id, path=storage / relpath, labels=[rows[study_id][1].get(name) for name in labels],
            split=rows[study_id][0], sha256=sha256,
        )
        for study_id, relpath, sha256 in volumes
    ]


def series_choose(series: Iterable[DicomSeries], modality: str) -> DicomSeries | None:
    """The series a study's volume is made from (the rule in this module's docstring)."""
    candidates = [s for s in series if s.instances > 0]
    own = [s for s in candidates if modality and s.modality == modality]
    pool = own or candidates
    return min(pool, key=lambda s: (-s.instances, s.series_instance_uid), default=None)


def _projection_frame(path: Path) -> Frame | None:
    """A single-frame image without a patient position (CR, DX) as a one-slice frame, else None."""
    dataset = pydicom.dcmread(path)
    if "PixelData" not in dataset or "ImagePositionPatient" in dataset or int(dataset.get("NumberOfFrames", 1) or 1) != 1:
        return None
    spacing = dataset.get("PixelSpacing") or dataset.get("ImagerPixelSpacing") or (1.0, 1.0)
    plane = SlicePlane(
        position=(0.0, 0.0, 0.0), orientation=PROJECTION_ORIENTATION,
        pixel_spacing=(float(spacing[0]), float(spacing[1])),
        rows=int(dataset.Rows), columns=int(dataset.Columns), label=path.name,
    )
    slope = float(dataset.get("RescaleSlope", 1) or 1)
    intercept = float(dataset.get("RescaleIntercept", 0) or 0)
    return Frame(plane, dataset, None, slope, intercept)


def _frames(paths: list[Path]) -> list[Frame]:
    if len(paths) == 1:
        projection = _projection_frame(paths[0])
        if projection is not None:
            return [projection]  # one slice, SliceThickness thick (1 mm when absent)
    return read_series(paths)


def series_nifti(series: DicomSeries, storage: Path) -> tuple[bytes, list[int], list[float]]:
    """The series as .nii.gz bytes (deterministic), its shape and voxel spacing; ConversionError."""
    paths = [storage / path for path in series.instance_files.order_by("id").values_list("path", flat=True)]
    missing = [path.name for path in paths if not path.is_file()]
    if missing:
        raise ConversionError(f"{len(missing)} stored file(s) missing, first {missing[0]}")
    data, volume, scale = series_volume(_frames(paths))
    raw = nifti_image(data, volume, scale).to_bytes()
    # mtime=0 and no file name: the same volume always compresses to the same bytes.
    return gzip.compress(raw, compresslevel=6, mtime=0), [int(n) for n in data.shape[:3]], [
        round(float(s), 6) for s in volume.spacing
    ]


def _series_by_study(cohort: Cohort) -> dict[int, list[DicomSeries]]:
    found: dict[int, list[DicomSeries]] = {}
    # A subquery, not a list of ids: a large cohort would pass SQLite's parameter limit.
    studies = CohortStudy.objects.filter(cohort=cohort).values("study_id")
    for series in DicomSeries.objects.filter(dicom_study__study_id__in=studies).select_related("dicom_study"):
        found.setdefault(series.dicom_study.study_id, []).append(series)  # type: ignore[arg-type]
    return found


def cohort_volumes_convert(cohort: Cohort, progress: Progress | None = None) -> dict[str, Any]:
    """Convert each cohort study that has images and no volume yet; return what happened.

    {"converted": n, "existing": n, "skipped": {study_id: reason}}. Idempotent: a study with a
    volume row whose file is in place is left alone; a missing file is written again and must
    match its recorded SHA-256. A study without images, or whose series cannot be converted,
    is skipped with the reason, never fatal. Each volume's file is written before its row, so a
    crash between the two leaves a file that the next run overwrites with the same bytes.
    """
    storage = dicom_storage_dir(cohort.protocol)
    studies = list(
        CohortStudy.objects.filter(cohort=cohort).order_by("study_id").values_list("study_id", "study__modality")
    )
    series_of = _series_by_study(cohort)
    recorded = {v.study_id: v for v in CohortVolume.objects.filter(cohort=cohort)}
    summary: dict[str, Any] = {"converted": 0, "existing": 0, "skipped": {}}
    total = len(studies)
    for done, (study_id, modality) in enumerate(studies, start=1):
        reason = _convert_one(cohort, study_id, modality, series_of.get(study_id, []), recorded.get(study_id), storage, summary)
        if reason:
            summary["skipped"][study_id] = reason
        if progress:
            progress(done, total, f"Converted {summary['converted']} of {total} studies ({done} looked at)")
    return summary


def _convert_one(
    cohort: Cohort, study_id: int, modality: str, series: list[DicomSeries], recorded: CohortVolume | None,
    storage: Path, summary: dict[str, Any],
) -> str:
    """Convert one study's volume; the reason it was skipped, or "" (summary counts updated)."""
    if recorded is not None and (storage / recorded.relpath).is_file():
        summary["existing"] += 1
        return ""
    chosen = series_choose(series, modality) if recorded is None else recorded.series
    if chosen is None:
        return NO_IMAGES
    try:
        data, shape, spacing = series_nifti(chosen, storage)
    except ConversionError as refused:
        return f"Series {chosen.series_instance_uid}: {refused}"
    sha256 = hashlib.sha256(data).hexdigest()
    relpath = cohort_volume_relpath(cohort, study_id)
    if recorded is not None and recorded.sha256 != sha256:
        return "The volume's file was missing and converting again gave other bytes (SHA-256 differs)"
    write_atomic(storage / relpath, data)
    if recorded is not None:
        summary["existing"] += 1
        return ""
    try:
        with transaction.atomic():
            CohortVolume.objects.create(
                cohort=cohort, study_id=study_id, series=chosen, relpath=relpath, sha256=sha256, shape=shape,
                spacing=spacing,
            )
    except IntegrityError:
        # Another run recorded it first: the same series, so the same bytes.
        summary["existing"] += 1
        return ""
    summary["converted"] += 1
    return ""


def cohort_images_pending(cohort: Cohort, *, retry_refused: bool = False) -> bool:
    """Whether some study of the cohort has DICOM images, no volume, and was not already refused
    by the latest finished conversion (whose skip reasons the page shows instead).

    With `retry_refused`, refused studies count as waiting too: their stored files may be back,
    or the rest of the series imported since.
    """
    waiting = set(
        CohortStudy.objects.filter(cohort=cohort, study__dicom_studies__series__instances__gt=0)
        .exclude(study_id__in=CohortVolume.objects.filter(cohort=cohort).values("study_id"))
        .values_list("study_id", flat=True)
    )
    if retry_refused:
        return bool(waiting)
    last = cohort_images_jobs(cohort).filter(status=JobStatus.SUCCEEDED).only("result").first()
    refused = {int(study_id) for study_id in (last.result.get("skipped") or {})} if last else set()
    return bool(waiting - refused)


def cohort_images_jobs(cohort: Cohort) -> QuerySet[Job]:
    """The cohort's conversion jobs, newest first."""
    return Job.objects.filter(kind=COHORT_IMAGES_JOB, protocol=cohort.protocol, params__cohort=cohort.pk).order_by(
        "-created_at", "-pk"
    )


@dataclass(frozen=True)
class ImagesStatus:
    """What the cohort page shows about images: volumes so far, whether more can be converted, the
    latest conversion job (None when never started) and the studies it skipped, with reasons."""

    volumes: int
    pending: bool
    job: Job | None
    without_images: int  # studies the job found no series for: counted, not listed
    refused: list[tuple[str, str]]  # (study id, reason): series that could not be converted

    @property
    def retryable(self) -> bool:
        """Whether to offer "Retry refused": the last conversion is over, refused some series,
        and "Convert images" (which would retry them too) is not on offer."""
        return bool(self.refused) and not self.pending and self.job is not None and self.job.is_finished


def cohort_images_status(cohort: Cohort) -> ImagesStatus:
    job = cohort_images_jobs(cohort).first()
    without_images, refused = cohort_images_refusals(job.result if job else {})
    return ImagesStatus(
        volumes=CohortVolume.objects.filter(cohort=cohort).count(), pending=cohort_images_pending(cohort), job=job,
        without_images=without_images, refused=refused,
    )


def cohort_images_request(
    *, cohort: Cohort, actor: AbstractBaseUser, retry_refused: bool = False, request: HttpRequest | None = None,
    channel: str = "page",
) -> Job | None:
    """Queue the conversion of the cohort's images, or return the job already at it.

    None when no study of the cohort has images left to convert (with `retry_refused`: none
    left, counting those the last conversion refused). Idempotent while a job is queued or
    running; each new job is audited. The caller has checked the actor's role.
    """
    running = cohort_images_jobs(cohort).filter(status__in=(JobStatus.QUEUED, JobStatus.RUNNING)).first()
    if running is not None:
        return running
    if not cohort_images_pending(cohort, retry_refused=retry_refused):
        return None
    # Every run converts whatever has no volume yet; the flag is kept to say why this one ran.
    params: dict[str, Any] = {"cohort": cohort.pk, **({"retry_refused": True} if retry_refused else {})}
    with transaction.atomic():
        job = job_create(kind=COHORT_IMAGES_JOB, protocol=cohort.protocol, actor=actor, params=params)
        audit_record(
            actor=actor, action=COHORT_IMAGES_ACTION, obj=cohort, protocol=cohort.protocol, request=request,
            channel=channel, detail={"cohort": cohort.pk, "job": job.pk, "retry_refused": retry_refused},
        )
    return job


def cohort_images_job(job: Job) -> JobOutcome:
    """The body of a `cohort_images` job (training.cohort_tasks)."""
    cohort = Cohort.objects.select_related("protocol").get(pk=job.params["cohort"])

    def progress(done: int, total: int, message: str) -> None:
        job_progress(job=job, done=done, total=total, message=message)

    summary = cohort_volumes_convert(cohort, progress)
    # JSON object keys are strings: say so here rather than let the job's JSON field do it.
    result = {**summary, "cohort": cohort.pk, "skipped": {str(k): v for k, v in summary["skipped"].items()}}
    skipped = len(summary["skipped"])
    return JobOutcome(
        result=result,
        message=f"Converted {summary['converted']} volumes ({summary['existing']} already there, {skipped} skipped)",
    )
