"""Demo images: a crude chest CT phantom for a few demo studies, through the real DICOM import.

So the reading screen shows its image strip and slice viewer on a fresh `make run`. The
phantom has a right pleural effusion where the report mentions one, so the lung and mediastinum
presets show the finding the reader is asked about. UIDs are derived from the accession, so a
rerun re-imports the same instances and adds nothing.
"""
from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from django.utils import timezone

from reports.dicom.synthetic import chest_phantom, write_series
from reports.models import DicomStudy, Study
from reports.services.dicom import dicom_import

if TYPE_CHECKING:
    from config.demo.seed import DemoRun

DEMO_IMAGED_STUDIES = 12
SLICES = 12


def _uid(*parts: str) -> str:
    # PS3.5 B.2: a UUID as a decimal under 2.25; uuid5 keeps it the same at every run.
    return "2.25." + str(uuid.uuid5(uuid.NAMESPACE_URL, "radlabel-demo/" + "/".join(parts)).int)


def seed_images(run: DemoRun) -> None:
    protocol = run.demo_protocol
    studies = list(
        Study.objects.filter(protocol=protocol).select_related("patient", "report").order_by("id")[:DEMO_IMAGED_STUDIES]
    )
    if not studies or DicomStudy.objects.filter(study__in=studies).count() == len(studies):
        return
    with tempfile.TemporaryDirectory() as folder:
        for study in studies:
            text = study.report.text.lower() if hasattr(study, "report") else ""
            effusion = "effusion" in text and "no pleural effusion" not in text
            study_uid = _uid(study.accession)
            write_series(
                Path(folder) / study.accession, shape=(96, 96, SLICES), values=chest_phantom(96, SLICES, effusion=effusion, seed=study.pk),
                orientation=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0), pixel_spacing=(3.5, 3.5), slice_spacing=5.0,
                accession=study.accession, study_uid=study_uid, series_uid=_uid(study.accession, "1"),
                patient_name=f"Demo^{study.patient.pseudonym if study.patient else 'Patient'}",
                patient_id=study.patient.pseudonym if study.patient else study.accession,
                study_date=study.study_date or timezone.localdate(), extra={"WindowCenter": 40, "WindowWidth": 400},
            )
        result = dicom_import(protocol=protocol, root=Path(folder), actor=run.admin, channel="command")
    run.say(f"Demo images: {result.new_instances} new slices for {result.linked} studies.")
