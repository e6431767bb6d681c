"""A study with a stored, de-identified DICOM series, made through the real import service."""
from __future__ import annotations

import tempfile
from pathlib import Path

from reports.dicom.synthetic import write_series
from reports.models import DicomSeries, Protocol, Study
from reports.services.dicom import dicom_import
from tests.reports.factories import ReportFactory, StudyFactory


def make_imaged_study(protocol: Protocol, *, accession: str | None = None, slices: int = 3, text: str | None = None) -> tuple[Study, DicomSeries]:
    study = StudyFactory(protocol=protocol, **({"accession": accession} if accession else {}))
    ReportFactory(study=study, **({"text": text} if text else {}))
    with tempfile.TemporaryDirectory() as folder:
        write_series(Path(folder) / "s", shape=(8, 8, slices), accession=study.accession)
        dicom_import(protocol=protocol, root=Path(folder), actor=None, channel="command")
    return study, DicomSeries.objects.get(dicom_study__study=study)
