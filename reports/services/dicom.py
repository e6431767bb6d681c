"""Import a folder of DICOM files into a protocol: de-identify, store with SHA-256, record, link.

Each study is written in one transaction after its files are in place, so a crash leaves no
half-recorded study (files without rows are invisible, and the next import writes them again
byte for byte). Instances are keyed by their remapped SOP Instance UID: importing the same
folder twice adds nothing.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pydicom
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from reports.dicom.deid import BurnedInAnnotation, DeidPolicy, deidentify, remap_uid
from reports.dicom.files import write_atomic
from reports.dicom.integrity import pixel_data_problem
from reports.dicom.scan import SeriesScan, StudyScan, scan_folder
from reports.models import (
    AuditAction,
    DicomIdentity,
    DicomInstance,
    DicomSeries,
    DicomSettings,
    DicomStudy,
    Job,
    Patient,
    PatientDateShift,
    Protocol,
    Study,
)
from reports.services.audit import audit_record
from reports.services.jobs import job_create, job_progress

# A random whole number of days in this range, per patient: far enough that a shifted date
# cannot be mistaken for the real one, near enough that seasons stay roughly right.
DATE_SHIFT_DAYS = (-730, -30)
# Scanner details the monitoring timeline reads from each study (filled when still empty).
STUDY_SCANNER_FIELDS = {"manufacturer": "manufacturer", "scanner_model": "model",
                        "software_version": "software_versions", "station": "station_name"}


@dataclass
class DicomImportResult:
    studies: int = 0
    series: int = 0
    instances: int = 0
    new_instances: int = 0
    linked: int = 0
    unlinked: list[int] = field(default_factory=list)  # DicomStudy ids without a report yet
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"path", "reason"}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def dicom_storage_dir(protocol: Protocol) -> Path:
    """The protocol's own folder: nothing of another protocol is ever written under it."""
    return Path(settings.DICOM_STORAGE_DIR) / str(protocol.pk)


def dicom_settings_for(protocol: Protocol) -> DicomSettings:
    dicom_settings, _ = DicomSettings.objects.get_or_create(protocol=protocol)
    return dicom_settings


def _pseudonym(key: bytes, original_patient_id: str) -> str:
    digest = hmac.new(key, original_patient_id.encode("utf-8", "replace"), hashlib.sha256).hexdigest()
    return f"D-{digest[:16]}"


def _patient_for(
    protocol: Protocol, scan: StudyScan, study: Study | None, dicom_settings: DicomSettings,
    linked_patients: dict[str, Patient],
) -> Patient:
    """The study's pseudonymous patient: the report's, else the one a study of the same original
    patient was linked to (in this import, or in an earlier one when the identity map is kept),
    else one keyed on the original ID. One patient has one pseudonym and one date shift, so the
    intervals between their studies survive even when only some have a report yet."""
    identity = None
    if dicom_settings.keep_identity_map and scan.patient_id:
        identity = DicomIdentity.objects.select_related("patient").filter(
            protocol=protocol, original_patient_id=scan.patient_id[:64]).first()
    if study is not None and study.patient_id is not None:
        patient = study.patient
    elif scan.patient_id in linked_patients:
        patient = linked_patients[scan.patient_id]
    elif identity is not None:
        patient = identity.patient
    else:
        key = dicom_settings.uid_key.encode()
        patient, _ = Patient.objects.get_or_create(protocol=protocol, pseudonym=_pseudonym(key, scan.patient_id or scan.study_instance_uid))
    if dicom_settings.keep_identity_map and scan.patient_id and identity is None:
        DicomIdentity.objects.create(protocol=protocol, original_patient_id=scan.patient_id[:64], patient=patient)
    return patient  # type: ignore[return-value]


def _date_shift(patient: Patient) -> int:
    low, high = DATE_SHIFT_DAYS
    shift, _ = PatientDateShift.objects.get_or_create(patient=patient, defaults={"days": low + secrets.randbelow(high - low + 1)})
    return shift.days


def _slice_position(dataset: pydicom.Dataset) -> float | None:
    try:
        orientation = [float(v) for v in dataset.ImageOrientationPatient]
        position = [float(v) for v in dataset.ImagePositionPatient]
    except (AttributeError, TypeError, ValueError):
        return None
    if len(orientation) != 6 or len(position) != 3:
        return None  # a damaged header: no position rather than a failed import
    row, col = orientation[:3], orientation[3:]
    normal = (row[1] * col[2] - row[2] * col[1], row[2] * col[0] - row[0] * col[2], row[0] * col[1] - row[1] * col[0])
    return sum(p * n for p, n in zip(position, normal, strict=True))


def _instance_number(dataset: pydicom.Dataset) -> int | None:
    # IS is text: a damaged file may hold anything there; the slice order uses positions anyway.
    try:
        return int(dataset.get("InstanceNumber") or 0) or None
    except (TypeError, ValueError):
        return None


def _read_whole(path: Path) -> pydicom.Dataset:
    """The file read in full; ValueError naming the problem when it is damaged or cut short."""
    with warnings.catch_warnings():
        # pydicom warns per bad value of a damaged file; the skip list says it once.
        warnings.simplefilter("ignore")
        try:
            dataset = pydicom.dcmread(path)
            # pydicom converts a value when it is first read: read them all now, so a damaged
            # one (a wrong length for its VR) skips this file instead of failing the import.
            for _element in dataset.iterall():
                pass
            problem = pixel_data_problem(dataset)
        except Exception as exc:
            raise ValueError(f"corrupt DICOM ({type(exc).__name__})") from None
    if problem is not None:
        raise ValueError(f"corrupt DICOM: {problem}")
    return dataset


def _store_series(
    *, series_scan: SeriesScan, policy: DeidPolicy, key: bytes, storage: Path, folder: Path, known: set[str],
    root: Path, result: DicomImportResult,
) -> list[DicomInstance]:
    """De-identify and store the series' new files; return unsaved instance rows for them.

    Counts every usable file in result.instances (new or stored by an earlier import) and lists
    the others in result.skipped.
    """
    rows = []
    read_now: dict[str, str] = {}  # remapped SOP Instance UID -> the file of this import that had it
    for path in series_scan.files:
        relative_source = str(path.relative_to(root))
        try:
            dataset = _read_whole(path)
        except ValueError as damaged:
            result.skipped.append({"path": relative_source, "reason": str(damaged)})
            continue
        sop_uid = remap_uid(str(dataset.SOPInstanceUID), key)
        if sop_uid in read_now:
            # A second copy of one instance (an export run twice into one folder): keep the first.
            result.skipped.append({"path": relative_source, "reason": f"same SOP Instance UID as {read_now[sop_uid]}"})
            continue
        read_now[sop_uid] = relative_source
        if sop_uid in known:
            result.instances += 1
            continue
        position = _slice_position(dataset)
        try:
            deidentify(dataset, policy)
            with tempfile.SpooledTemporaryFile(max_size=64 * 1024**2) as buffer:
                dataset.save_as(buffer, enforce_file_format=True)
                buffer.seek(0)
                data = buffer.read()
        except BurnedInAnnotation as refused:
            result.skipped.append({"path": relative_source, "reason": str(refused)})
            continue
        except Exception as exc:
            # A value pydicom read leniently but cannot write back (a file meta element of the
            # wrong VR, say): this file is skipped, the rest of the import goes on.
            result.skipped.append({"path": relative_source, "reason": f"corrupt DICOM ({type(exc).__name__})"})
            continue
        relative = folder / f"{sop_uid}.dcm"
        write_atomic(storage / relative, data)
        known.add(sop_uid)
        result.instances += 1
        rows.append(DicomInstance(
            sop_instance_uid=sop_uid,
            instance_number=_instance_number(dataset),
            slice_position=position,
            path=str(relative),
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            transfer_syntax=str(dataset.file_meta.TransferSyntaxUID),
        ))
    return rows


def _link(protocol: Protocol, accession: str) -> Study | None:
    if not accession:
        return None
    return Study.objects.select_related("patient").filter(protocol=protocol, accession=accession).first()


def _import_study(
    *, protocol: Protocol, scan: StudyScan, study: Study | None, linked_patients: dict[str, Patient],
    dicom_settings: DicomSettings, root: Path, result: DicomImportResult,
) -> None:
    key = dicom_settings.uid_key.encode()
    study_uid = remap_uid(scan.study_instance_uid, key)
    storage = dicom_storage_dir(protocol)
    with transaction.atomic():
        patient = _patient_for(protocol, scan, study, dicom_settings, linked_patients)
        policy = DeidPolicy(
            pseudonym=patient.pseudonym,
            date_offset_days=_date_shift(patient),
            uid_key=key,
            # The stored file names the study by our opaque id, never the hospital's accession.
            accession=f"RL-{study.pk}" if study is not None else "",
            private_allowlist=frozenset((str(c), int(e)) for c, e in dicom_settings.private_allowlist),
            allow_burned_in=dicom_settings.allow_burned_in,
        )
        dicom_study, study_created = DicomStudy.objects.get_or_create(
            protocol=protocol, study_instance_uid=study_uid,
            defaults={"study": study, "patient": patient, "accession": scan.accession[:64], "study_date": scan.study_date},
        )
        if dicom_study.study_id is None and study is not None:
            dicom_study.study = study
            dicom_study.save(update_fields=["study"])
        for series_scan in scan.series.values():
            series_uid = remap_uid(series_scan.series_instance_uid, key)
            series, series_created = DicomSeries.objects.get_or_create(
                dicom_study=dicom_study, series_instance_uid=series_uid,
                defaults={
                    "modality": series_scan.modality, "manufacturer": series_scan.manufacturer[:64],
                    "model": series_scan.model[:64], "software_versions": series_scan.software_versions,
                    "station_name": series_scan.station_name[:64], "protocol_name": series_scan.protocol_name,
                    "description": series_scan.description, "slice_thickness": series_scan.slice_thickness,
                    "pixel_spacing": list(series_scan.pixel_spacing) if series_scan.pixel_spacing else None,
                    "acquisition_date": series_scan.acquisition_date,
                },
            )
            known = set(series.instance_files.values_list("sop_instance_uid", flat=True))
            rows = _store_series(
                series_scan=series_scan, policy=policy, key=key, storage=storage,
                folder=Path(study_uid) / series_uid, known=known, root=root, result=result,
            )
            for row in rows:
                row.series = series
            DicomInstance.objects.bulk_create(rows)
            series.instances = series.instance_files.count()
            if series_created and series.instances == 0:
                # Every file was skipped (corrupt, burned in): no image to show, so no series.
                series.delete()
                continue
            series.save(update_fields=["instances"])
            result.series += 1
            result.new_instances += len(rows)
            if study is not None:
                _fill_scanner_fields(study, series_scan)
        if study_created and not dicom_study.series.exists():
            dicom_study.delete()  # nothing usable arrived; its files are in the skip list
            return
    result.studies += 1
    if dicom_study.study_id is not None:
        result.linked += 1
    else:
        result.unlinked.append(dicom_study.pk)


def _fill_scanner_fields(study: Study, series_scan: SeriesScan) -> None:
    changed = []
    for study_field, scan_field in STUDY_SCANNER_FIELDS.items():
        value = getattr(series_scan, scan_field)[:64]
        if value and not getattr(study, study_field):
            setattr(study, study_field, value)
            changed.append(study_field)
    if changed:
        study.save(update_fields=changed)


def dicom_import(
    *, protocol: Protocol, root: Path, actor: AbstractBaseUser | None, channel: str, job: Job | None = None
) -> DicomImportResult:
    """Import every DICOM image under `root` into `protocol`; the caller has checked the actor's role."""
    scan = scan_folder(root)
    result = DicomImportResult(skipped=[{"path": s.path, "reason": s.reason} for s in scan.skipped])
    dicom_settings = dicom_settings_for(protocol)
    total = len(scan.studies)
    if job is not None:
        job_progress(job=job, done=0, total=total, message=f"Importing {total} DICOM studies")
    links = {uid: _link(protocol, study_scan.accession) for uid, study_scan in scan.studies.items()}
    linked_patients = {
        study_scan.patient_id: study.patient for uid, study_scan in scan.studies.items()
        if study_scan.patient_id and (study := links[uid]) is not None and study.patient is not None
    }
    for done, (uid, study_scan) in enumerate(scan.studies.items(), start=1):
        _import_study(protocol=protocol, scan=study_scan, study=links[uid], linked_patients=linked_patients,
                      dicom_settings=dicom_settings, root=root, result=result)
        if job is not None:
            job_progress(job=job, done=done)
    audit_record(
        actor=actor, action=AuditAction.DICOM_IMPORT, obj=protocol, protocol=protocol, channel=channel,
        detail={"studies": result.studies, "new_instances": result.new_instances, "skipped": len(result.skipped)},
    )
    return result


def dicom_inbox_folders() -> list[str]:
    """The sub-folders of the DICOM inbox, by name: what a DICOM import job may read."""
    root = Path(settings.DICOM_IMPORT_ROOT)
    if not root.is_dir():
        return []
    return sorted(entry.name for entry in root.iterdir() if entry.is_dir() and not entry.name.startswith("."))


def dicom_import_enqueue(*, protocol: Protocol, folder: str, actor: AbstractBaseUser, channel: str) -> Job:
    """Queue the import of one inbox folder; the caller has checked the actor's role."""
    from reports.apps import DICOM_IMPORT_JOB

    if folder not in dicom_inbox_folders():
        raise ValueError("Not a folder of the DICOM inbox")
    return job_create(kind=DICOM_IMPORT_JOB, protocol=protocol, actor=actor, params={"folder": folder, "channel": channel})
