"""Issue 10's check, as a new user would run it: a hospital export into a protocol with reports.

The folder holds one patient's studies with real-looking identifiers, an institution, vendor
private tags and an MRN in a private block: two studies whose accessions match reports, one with
no report yet, a JPEG 2000 file, a file cut short in transfer (native and compressed), a second
copy of one file and a text note. Then: the command's summary, no identifier or private tag in
any stored file, one pseudonym and the same intervals for all the patient's studies, images in
the reading view, and a stored series converted to NIfTI in the same place as dcm2niix puts the
original.
"""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from django.core.management import call_command
from django.urls import reverse
from pydicom.uid import JPEG2000Lossless, generate_uid

from reports.dicom.deid import identifying_values
from reports.dicom.nifti import dicom_to_nifti
from reports.dicom.synthetic import write_series
from reports.models import DicomSeries, DicomStudy
from reports.services.dicom import dicom_storage_dir
from tests.reports.factories import PatientFactory, ReportFactory, StudyFactory

pytestmark = pytest.mark.django_db

IDENTITY = {
    "PatientName": "Okonkwo^Adaeze^N", "PatientID": "MRN-5520-871", "PatientBirthDate": "19620314",
    "OtherPatientIDs": "NHS-943-476-5919", "PatientAddress": "12 Elm Row, Leeds",
    "InstitutionName": "St Bartholomew's Royal Infirmary", "ReferringPhysicianName": "Varga^Istvan",
    "OperatorsName": "Patel^Rina", "StationName": "CTAWP73521", "StudyDescription": "CT CHEST OKONKWO",
}
CANARIES = ("Okonkwo", "Adaeze", "5520-871", "19620314", "NHS-943", "Elm Row", "Bartholomew", "Varga", "Patel",
            "CTAWP", "07700 900461", "ACC-NU-", "EXT-77")
SHAPE = (40, 32, 4)  # columns, rows, slices: big enough for the JPEG 2000 encoder
DCM2NIIX = Path(sys.executable).with_name("dcm2niix")


def _export(folder: Path, *, accession: str, day: dt.date, study_uid: str, slices: int = 4) -> list[Path]:
    """One CT series as a PACS export writes it, vendor private block included."""
    paths = write_series(folder, shape=(*SHAPE[:2], slices), accession=accession, study_date=day,
                         study_uid=study_uid, patient_name=IDENTITY["PatientName"],
                         patient_id=IDENTITY["PatientID"], extra=IDENTITY)
    for path in paths:
        dataset = pydicom.dcmread(path)
        block = dataset.private_block(0x0029, "SIEMENS CSA HEADER", create=True)
        block.add_new(0x10, "LO", IDENTITY["PatientID"])
        block.add_new(0x11, "LT", "patient called 07700 900461 about results")
        dataset.save_as(path, enforce_file_format=True)
    return paths


def _compress(path: Path) -> None:
    dataset = pydicom.dcmread(path)
    dataset.compress(JPEG2000Lossless)
    dataset.save_as(path, enforce_file_format=True)


@pytest.fixture
def reports(protocol):
    """Two reports of one pseudonymous patient, as the report import left them."""
    patient = PatientFactory(protocol=protocol, pseudonym="PT-NU-1")
    return [ReportFactory(study=StudyFactory(protocol=protocol, patient=patient, accession=accession)).study
            for accession in ("ACC-NU-1", "ACC-NU-2")]


@pytest.fixture
def export(tmp_path) -> Path:
    root = tmp_path / "export"
    first = _export(root / "okonkwo" / "ct-2025-12-18", accession="ACC-NU-1", day=dt.date(2025, 12, 18),
                    study_uid=generate_uid())
    _compress(first[0])
    second_uid = generate_uid()
    second = _export(root / "okonkwo" / "ct-2026-01-20", accession="ACC-NU-2", day=dt.date(2026, 1, 20),
                     study_uid=second_uid)
    shutil.copy(second[0], root / "okonkwo" / "ct-2026-01-20" / "copy of slice.dcm")
    _export(root / "okonkwo" / "scout-2026-01-20", accession="ACC-NU-2", day=dt.date(2026, 1, 20),
            study_uid=second_uid, slices=1)
    outside_uid = generate_uid()
    _export(root / "outside", accession="EXT-77-0913", day=dt.date(2025, 11, 1), study_uid=outside_uid, slices=3)
    # Files cut short in transfer, each its own instance: native, then JPEG 2000.
    (native,) = _export(tmp_path / "cut" / "a", accession="EXT-77-0913", day=dt.date(2025, 11, 1),
                        study_uid=outside_uid, slices=1)
    (compressed,) = _export(tmp_path / "cut" / "b", accession="EXT-77-0913", day=dt.date(2025, 11, 1),
                            study_uid=outside_uid, slices=1)
    _compress(compressed)
    for source, name in ((native, "cut-native.dcm"), (compressed, "cut-j2k.dcm")):
        (root / "outside" / name).write_bytes(source.read_bytes()[:-100])
    (root / "okonkwo" / "README.txt").write_text("Exported for Okonkwo, MRN-5520-871\n")
    return root


@pytest.fixture
def imported(protocol, reports, export, dicom_storage, capsys):
    call_command("import_dicom", str(export), protocol=protocol.irb_number)
    return capsys.readouterr()


def _stored(protocol) -> list[Path]:
    return sorted(dicom_storage_dir(protocol).rglob("*.dcm"))


def test_the_summary_counts_what_was_imported_and_names_each_skip(protocol, imported):
    out, err = imported
    assert out.strip().startswith(f"{protocol.irb_number}: 3 studies, 4 series, 12 instances (12 new); "
                                  "2 linked to a report, 1 unlinked (no report with their accession number yet; ")
    assert out.strip().endswith("; 4 skipped (one line each).")
    assert sorted(err.strip().splitlines()) == [
        "skipped okonkwo/README.txt: not a DICOM file",
        "skipped okonkwo/ct-2026-01-20/copy of slice.dcm: same SOP Instance UID as okonkwo/ct-2026-01-20/IM0001.dcm",
        "skipped outside/cut-j2k.dcm: corrupt DICOM: no pixel data (the file is cut short or damaged)",
        "skipped outside/cut-native.dcm: corrupt DICOM: pixel data cut short (2460 of 2560 bytes)",
    ]


def test_no_stored_file_keeps_an_identifier_or_a_private_tag(protocol, export, imported):
    original = pydicom.dcmread(next(export.rglob("IM0001.dcm")))
    assert any(element.tag.is_private for element in original)  # the export did carry them
    files = _stored(protocol)
    assert len(files) == 12
    for path in files:
        dataset = pydicom.dcmread(path)
        values = " ".join(identifying_values(dataset))
        assert not [canary for canary in CANARIES if canary in values], path.name
        assert not any(element.tag.is_private for element in dataset.iterall()), path.name
        assert "PatientBirthDate" not in dataset
        assert dataset.pixel_array.shape == (32, 40)  # the JPEG 2000 file included


def test_all_the_patients_studies_keep_one_pseudonym_and_their_intervals(protocol, imported):
    dates = {}
    for path in _stored(protocol):
        dataset = pydicom.dcmread(path)
        dates.setdefault(dataset.StudyDate, set()).add(str(dataset.PatientName))
    assert set().union(*dates.values()) == {"PT-NU-1"}  # the study without a report too
    shifted = sorted(dt.date(int(day[:4]), int(day[4:6]), int(day[6:])) for day in dates)
    assert "20251218" not in dates
    # 2025-11-01, 2025-12-18, 2026-01-20: 47 then 33 days apart, before and after the shift.
    assert [(b - a).days for a, b in zip(shifted, shifted[1:], strict=False)] == [47, 33]


def test_linked_studies_show_their_series_in_the_reading_view(protocol, reports, imported, client_for, radiologist):
    assert DicomStudy.objects.filter(protocol=protocol, study__isnull=True).count() == 1
    second = reports[1]
    html = client_for(radiologist).get(reverse("reports:study-images", args=[second.pk])).content.decode()
    for series in DicomSeries.objects.filter(dicom_study__study=second):
        assert reverse("reports:slice-png", args=[series.pk]) in html
    assert DicomSeries.objects.filter(dicom_study__study=second).count() == 2


def test_a_stored_series_converts_to_the_place_dcm2niix_puts_the_original(protocol, reports, export, imported, tmp_path):
    (series,) = DicomSeries.objects.filter(dicom_study__study=reports[0])
    stored_folder = (dicom_storage_dir(protocol) / series.instance_files.first().path).parent
    ours = dicom_to_nifti(stored_folder, tmp_path / "ours.nii.gz")
    assert ours.spacing == pytest.approx((0.7, 0.8, 2.5))
    subprocess.run([str(DCM2NIIX), "-z", "y", "-f", "ref", "-o", str(tmp_path), str(export / "okonkwo" / "ct-2025-12-18")],
                   check=True, capture_output=True)
    mine, theirs = (nib.as_closest_canonical(nib.load(tmp_path / name)) for name in ("ours.nii.gz", "ref.nii.gz"))
    np.testing.assert_allclose(mine.affine, theirs.affine, atol=1e-3)
    np.testing.assert_array_equal(mine.get_fdata(), theirs.get_fdata())
