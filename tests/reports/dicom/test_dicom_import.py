"""Folder import: grouping, linking by accession, de-identified storage, idempotence, skips."""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pydicom
import pytest
from django.core.management import CommandError, call_command

from reports.dicom.deid import identifying_values
from reports.models import (
    AccessEvent,
    AuditAction,
    DicomIdentity,
    DicomInstance,
    DicomSeries,
    DicomStudy,
    PatientDateShift,
)
from reports.services.dicom import dicom_import, dicom_storage_dir
from tests.reports.dicom.conftest import PATIENT
from tests.reports.factories import PatientFactory, ReportFactory, StudyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def linked_study(protocol):
    patient = PatientFactory(protocol=protocol, pseudonym="PT-0007")
    return ReportFactory(study=StudyFactory(protocol=protocol, accession="ACC-1001", patient=patient)).study


def _stored(protocol) -> list[Path]:
    return sorted(p for p in dicom_storage_dir(protocol).rglob("*.dcm"))


def test_it_groups_links_and_reports_skips(protocol, linked_study, dicom_folder, dicom_storage):
    result = dicom_import(protocol=protocol, root=dicom_folder, actor=None, channel="command")
    assert (result.studies, result.series, result.instances, result.new_instances) == (3, 3, 8, 8)
    assert result.linked == 1
    assert len(result.unlinked) == 2  # the follow-up and the JPEG 2000 study have no report: listed, not dropped
    assert sorted(s["path"] for s in result.skipped) == ["broken.dcm", "notes.txt"]
    dicom_study = DicomStudy.objects.get(study=linked_study)
    assert dicom_study.series.get().instances == 4
    assert DicomStudy.objects.filter(study__isnull=True).count() == 2


def test_stored_files_keep_no_identifier_and_no_private_tag(protocol, linked_study, dicom_folder, dicom_storage):
    dicom_import(protocol=protocol, root=dicom_folder, actor=None, channel="command")
    files = _stored(protocol)
    assert len(files) == 8
    for path in files:
        dataset = pydicom.dcmread(path)
        values = " ".join(identifying_values(dataset))
        for canary in (*PATIENT.values(), "Smith", "MRN-4471", "19700101", "Mercy General", "House^Gregory", "ACC-100"):
            assert canary not in values, (path.name, canary)
        assert not any(element.tag.is_private for element in dataset.iterall())
        assert "PatientBirthDate" not in dataset
        assert dataset.PatientIdentityRemoved == "YES"


def test_the_linked_study_uses_the_report_patient_and_an_opaque_accession(protocol, linked_study, dicom_folder, dicom_storage):
    dicom_import(protocol=protocol, root=dicom_folder, actor=None, channel="command")
    instance = DicomInstance.objects.filter(series__dicom_study__study=linked_study).first()
    dataset = pydicom.dcmread(dicom_storage_dir(protocol) / instance.path)
    assert dataset.PatientName == "PT-0007"
    assert dataset.AccessionNumber == f"RL-{linked_study.pk}"


def test_dates_keep_their_intervals_and_one_patient_keeps_one_pseudonym(protocol, dicom_folder, dicom_storage):
    dicom_import(protocol=protocol, root=dicom_folder, actor=None, channel="command")
    by_date = {}
    for path in _stored(protocol):
        dataset = pydicom.dcmread(path)
        if dataset.Modality == "CT" and "Mercy" not in str(dataset.get("InstitutionName", "")) and dataset.get("Rows") == 4:
            by_date.setdefault(dataset.StudyDate, set()).add(str(dataset.PatientName))
    dates = sorted(by_date)
    assert len(dates) == 2
    assert "20240301" not in dates  # shifted
    first, second = (dt.date(int(d[:4]), int(d[4:6]), int(d[6:])) for d in dates)
    assert (second - first).days == 45  # 2024-03-01 -> 2024-04-15
    assert len(set().union(*by_date.values())) == 1
    assert PatientDateShift.objects.count() == 2  # the synthetic patient and the JPEG 2000 file's


def test_reimporting_the_same_folder_adds_nothing(protocol, linked_study, dicom_folder, dicom_storage):
    dicom_import(protocol=protocol, root=dicom_folder, actor=None, channel="command")
    before = {p: p.read_bytes() for p in _stored(protocol)}
    again = dicom_import(protocol=protocol, root=dicom_folder, actor=None, channel="command")
    assert again.new_instances == 0
    assert DicomInstance.objects.count() == 8
    assert DicomSeries.objects.count() == 3
    assert {p: p.read_bytes() for p in _stored(protocol)} == before


def test_each_file_is_recorded_with_its_sha256(protocol, dicom_folder, dicom_storage):
    dicom_import(protocol=protocol, root=dicom_folder, actor=None, channel="command")
    for instance in DicomInstance.objects.all():
        data = (dicom_storage_dir(protocol) / instance.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == instance.sha256
        assert instance.size == len(data)


def test_compressed_files_are_stored_and_decode(protocol, dicom_folder, dicom_storage):
    dicom_import(protocol=protocol, root=dicom_folder, actor=None, channel="command")
    syntaxes = set(DicomInstance.objects.values_list("transfer_syntax", flat=True))
    assert "1.2.840.10008.1.2.5" in syntaxes  # RLE Lossless
    assert "1.2.840.10008.1.2.4.91" in syntaxes  # JPEG 2000
    for instance in DicomInstance.objects.exclude(transfer_syntax="1.2.840.10008.1.2.1"):
        assert pydicom.dcmread(dicom_storage_dir(protocol) / instance.path).pixel_array.size > 0


def test_series_details_are_recorded_and_fill_the_study(protocol, linked_study, dicom_folder, dicom_storage):
    dicom_import(protocol=protocol, root=dicom_folder, actor=None, channel="command")
    series = DicomSeries.objects.get(dicom_study__study=linked_study)
    assert (series.modality, series.manufacturer, series.model, series.software_versions) == ("CT", "ACME", "Scanner 9", "VA40")
    assert (series.station_name, series.slice_thickness, series.pixel_spacing) == ("CT01", 2.5, [0.8, 0.7])
    linked_study.refresh_from_db()
    assert (linked_study.manufacturer, linked_study.software_version, linked_study.station) == ("ACME", "VA40", "CT01")


def test_the_identity_map_is_kept_only_when_the_protocol_allows_it(protocol, dicom_folder, dicom_storage):
    dicom_import(protocol=protocol, root=dicom_folder, actor=None, channel="command")
    assert not DicomIdentity.objects.exists()
    protocol.dicom_settings.keep_identity_map = True
    protocol.dicom_settings.save()
    dicom_import(protocol=protocol, root=dicom_folder, actor=None, channel="command")
    assert DicomIdentity.objects.filter(original_patient_id=PATIENT["patient_id"]).exists()


def test_one_audit_row_per_import(protocol, dicom_folder, dicom_storage):
    dicom_import(protocol=protocol, root=dicom_folder, actor=None, channel="command")
    (event,) = AccessEvent.objects.filter(action=AuditAction.DICOM_IMPORT)
    assert event.detail == {"studies": 3, "new_instances": 8, "skipped": 2}


def test_the_command_prints_a_summary(protocol, dicom_folder, dicom_storage, capsys):
    call_command("import_dicom", str(dicom_folder), protocol=protocol.irb_number)
    out, err = capsys.readouterr()
    assert "3 studies, 3 series, 8 instances (8 new); 0 linked to a report, 3 unlinked" in out
    assert "skipped notes.txt: not a DICOM file" in err


def test_the_command_fails_when_nothing_could_be_read(protocol, tmp_path, dicom_storage):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "a.txt").write_text("x")
    with pytest.raises(CommandError, match="Nothing could be read"):
        call_command("import_dicom", str(tmp_path / "empty"), protocol=protocol.irb_number)
