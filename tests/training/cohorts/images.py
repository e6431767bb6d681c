"""Stored DICOM series for cohort studies, made through the real import service."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pydicom
import pytest

from reports.dicom.synthetic import write_series
from reports.models import Study
from reports.services.dicom import dicom_import
from training.services.cohorts import cohort_freeze, cohort_spec_build

SHAPE = (6, 5, 4)  # columns, rows, slices


@pytest.fixture
def dicom_storage(settings, tmp_path) -> Path:
    settings.DICOM_STORAGE_DIR = tmp_path / "storage"
    settings.DICOM_IMPORT_ROOT = tmp_path / "inbox"
    return settings.DICOM_STORAGE_DIR


def import_series(study: Study, **series: object) -> None:
    """Import one synthetic CT series (write_series' keywords) for `study`, linked by accession."""
    with tempfile.TemporaryDirectory() as folder:
        write_series(Path(folder) / "s", accession=study.accession, **{"shape": SHAPE, **series})
        dicom_import(protocol=study.protocol, root=Path(folder), actor=None, channel="command")


def import_projection(study: Study) -> None:
    """Import one single-frame DX image without a patient position, as X-ray modalities write."""
    with tempfile.TemporaryDirectory() as folder:
        (path,) = write_series(Path(folder) / "s", accession=study.accession, shape=(7, 9, 1))
        dataset = pydicom.dcmread(path)
        del dataset.ImagePositionPatient, dataset.ImageOrientationPatient, dataset.PixelSpacing
        dataset.Modality = "DX"
        dataset.ImagerPixelSpacing = [0.15, 0.15]
        dataset.save_as(path, enforce_file_format=True)
        dicom_import(protocol=study.protocol, root=Path(folder), actor=None, channel="command")


def import_broken(study: Study) -> None:
    """Import a series with a slice missing (a 4 mm gap among 2 mm steps): not a volume."""
    import_series(study, positions=[(0.0, 0.0, 2.0 * k) for k in (0, 1, 2, 4, 5)], shape=(6, 5, 5))


@pytest.fixture(name="cohort")
def images_cohort(protocol, scientist, confirmed, dicom_storage):
    """`cohort`: a frozen cohort: two studies with a series each, one whose only file is broken."""
    import_series(confirmed[0])
    import_series(confirmed[1])
    import_broken(confirmed[2])
    return cohort_freeze(spec=cohort_spec_build(protocol=protocol, data={"name": "images"}), actor=scientist)
