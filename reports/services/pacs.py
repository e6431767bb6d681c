"""Pull studies from a configured PACS into a protocol, through the ordinary DICOM import.

Sources are configured by the hospital (settings.PACS_SOURCES, from the PACS_SOURCES environment
variable as JSON), never typed into a page: a URL or host a user could choose would let them
make the server fetch from anywhere. Retrieved files land in a private temporary folder that is
removed once the import has read them.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from reports.models import Job, Protocol
from reports.pacs.dicomweb import FoundStudy, PacsError, qido_studies, wado_retrieve_study
from reports.pacs.dimse import DimsePeer, c_find_studies, retrieve_study
from reports.services.dicom import DicomImportResult, dicom_import
from reports.services.jobs import job_create, job_progress


class UnknownSource(ValueError):
    pass


@dataclass
class PacsPullResult:
    found: int = 0
    retrieved_files: int = 0
    not_found: list[str] = field(default_factory=list)  # the accessions asked for and not found
    imported: DicomImportResult | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"found": self.found, "retrieved_files": self.retrieved_files, "not_found": len(self.not_found),
                "imported": self.imported.as_dict() if self.imported else None}


def pacs_source(name: str) -> dict[str, Any]:
    source = settings.PACS_SOURCES.get(name)
    if source is None:
        raise UnknownSource(f"No PACS source named {name!r}; configured: {', '.join(sorted(settings.PACS_SOURCES)) or 'none'}")
    return source


def _peer(source: dict[str, Any]) -> DimsePeer:
    try:
        return DimsePeer(
            host=source["host"], port=int(source["port"]), ae_title=source["ae_title"],
            our_ae_title=source.get("our_ae_title", "RADLABEL"), our_port=int(source.get("our_port", 11113)),
            listen_host=source.get("listen_host", "127.0.0.1"), retrieve=source.get("retrieve", "c-move"),
        )
    except KeyError as missing:
        raise PacsError(f"The DIMSE source has no {missing} (PACS_SOURCES needs host, port and ae_title)") from None


def pacs_find(*, source_name: str, **filters: str) -> list[FoundStudy]:
    source = pacs_source(source_name)
    if "dicomweb" in source:
        return qido_studies(source["dicomweb"], **filters)
    return c_find_studies(_peer(source), **filters)


def _retrieve(source: dict[str, Any], study_uid: str, out_dir: Path) -> list[Path]:
    if "dicomweb" in source:
        return wado_retrieve_study(source["dicomweb"], study_uid, out_dir)
    return retrieve_study(_peer(source), study_uid, out_dir)


def pacs_pull(
    *, protocol: Protocol, source_name: str, accessions: list[str], actor: AbstractBaseUser | None, channel: str,
    job: Job | None = None,
) -> PacsPullResult:
    """Find each accession on the source, retrieve its studies and import them (idempotent).

    Raises UnknownSource or PacsError (the PACS cannot be reached) before anything is imported.
    """
    source = pacs_source(source_name)
    result = PacsPullResult()
    studies: list[FoundStudy] = []
    for accession in accessions:
        found = pacs_find(source_name=source_name, AccessionNumber=accession)
        if not found:
            result.not_found.append(accession)
        studies.extend(found)
    result.found = len(studies)
    if job is not None:
        job_progress(job=job, done=0, total=len(studies), message=f"Retrieving {len(studies)} studies")
    Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.VAR_DIR, prefix="pacs-") as folder:
        for done, study in enumerate(studies, start=1):
            result.retrieved_files += len(_retrieve(source, study.study_instance_uid, Path(folder) / f"study{done}"))
            if job is not None:
                job_progress(job=job, done=done)
        if studies:
            result.imported = dicom_import(protocol=protocol, root=Path(folder), actor=actor, channel=channel)
    return result


def pacs_pull_enqueue(*, protocol: Protocol, source_name: str, accessions: list[str], actor: AbstractBaseUser, channel: str) -> Job:
    """Queue a PACS pull; the caller has checked the actor's role. Accessions stay in the job's
    params (the database), never in the Celery message, which carries the job id only."""
    from reports.apps import PACS_PULL_JOB

    pacs_source(source_name)
    return job_create(kind=PACS_PULL_JOB, protocol=protocol, actor=actor,
                      params={"source": source_name, "accessions": accessions, "channel": channel})


__all__ = ["PacsError", "PacsPullResult", "UnknownSource", "pacs_find", "pacs_pull", "pacs_pull_enqueue"]
