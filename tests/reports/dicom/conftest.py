from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import RLELossless

from reports.dicom.synthetic import write_series

# Real-looking identifiers that must never reach a stored file.
PATIENT = {"patient_name": "Smith^Johanna^Q", "patient_id": "MRN-4471-22"}


@pytest.fixture
def dicom_storage(settings, tmp_path) -> Path:
    settings.DICOM_STORAGE_DIR = tmp_path / "storage"
    settings.DICOM_IMPORT_ROOT = tmp_path / "inbox"
    settings.IMAGE_CACHE_DIR = tmp_path / "image-cache"
    return settings.DICOM_STORAGE_DIR


@pytest.fixture
def dicom_folder(tmp_path) -> Path:
    """Two studies of one patient (a CT series of 4 slices, a follow-up of 3), one RLE-compressed
    file, pydicom's JPEG 2000 CT, a corrupt file and a text file."""
    root = tmp_path / "incoming"
    institution = {"InstitutionName": "Mercy General Hospital", "ReferringPhysicianName": "House^Gregory",
                   "SoftwareVersions": "VA40"}
    write_series(root / "study1" / "ct", shape=(4, 4, 4), accession="ACC-1001", study_date=dt.date(2024, 3, 1),
                 extra=institution, **PATIENT)
    follow_up = write_series(root / "study2" / "ct", shape=(4, 4, 3), accession="ACC-1002",
                             study_date=dt.date(2024, 4, 15), extra={**institution, "SoftwareVersions": "VA50"}, **PATIENT)
    compressed = pydicom.dcmread(follow_up[0])
    compressed.compress(RLELossless)
    compressed.save_as(follow_up[0], enforce_file_format=True)
    shutil.copy(get_testdata_file("693_J2KI.dcm", download=False), root / "j2k.dcm")
    (root / "broken.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\xff\xff garbage")
    (root / "notes.txt").write_text("scanned on Tuesday")
    return root
