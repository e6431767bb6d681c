"""De-identification, tag by tag (PS3.15 Annex E basic profile with modified dates)."""
from __future__ import annotations

import datetime as dt

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from reports.dicom.deid import (
    AGE_CAP,
    BurnedInAnnotation,
    DeidPolicy,
    deidentify,
    identifying_values,
    remap_uid,
    shift_date,
)
from reports.dicom.synthetic import write_series

KEY = b"protocol-secret"
POLICY = DeidPolicy(pseudonym="PSEUDO-7", date_offset_days=-40, uid_key=KEY, accession="S-000123")
CANARIES = ("Doe^Jane", "MRN-0001", "19700101", "St. Elsewhere Hospital", "Dr^Who", "ACC-0001", "Private note")


@pytest.fixture
def dataset(tmp_path) -> Dataset:
    (path,) = write_series(tmp_path, shape=(2, 2, 1), extra={
        "InstitutionName": "St. Elsewhere Hospital",
        "ReferringPhysicianName": "Dr^Who",
        "OperatorsName": "Tech^Tom",
        "PatientAge": "093Y",
        "PatientSex": "F",
        "AcquisitionDateTime": "20240301101530.5",
        "OtherPatientIDs": "OLD-99",
    })
    ds = pydicom.dcmread(path)
    block = ds.private_block(0x0029, "ACME 1.1", create=True)
    block.add_new(0x10, "LO", "Private note")
    block.add_new(0x11, "DS", "1.5")
    ref = Dataset()
    ref.ReferencedSOPClassUID = ds.SOPClassUID
    ref.ReferencedSOPInstanceUID = ds.SOPInstanceUID
    ref.PerformingPhysicianName = "Dr^Who"
    ds.ReferencedImageSequence = Sequence([ref])
    return ds


def test_patient_identifiers_become_the_pseudonym(dataset):
    deidentify(dataset, POLICY)
    assert (dataset.PatientName, dataset.PatientID) == ("PSEUDO-7", "PSEUDO-7")
    assert "PatientBirthDate" not in dataset
    assert "OtherPatientIDs" not in dataset
    assert dataset.AccessionNumber == "S-000123"


def test_no_canary_survives_anywhere(dataset):
    deidentify(dataset, POLICY)
    values = " ".join(identifying_values(dataset))
    for canary in CANARIES:
        assert canary not in values
    assert "Tech^Tom" not in values


def test_dates_shift_by_the_patient_offset_and_keep_intervals(dataset):
    deidentify(dataset, POLICY)
    assert dataset.StudyDate == "20240121"  # 2024-03-01 minus 40 days
    assert dataset.AcquisitionDateTime == "20240121101530.5"  # time of day kept
    assert dataset.LongitudinalTemporalInformationModified == "MODIFIED"


def test_uids_are_remapped_consistently_and_class_uids_kept(dataset):
    study, instance, sop_class = dataset.StudyInstanceUID, dataset.SOPInstanceUID, dataset.SOPClassUID
    deidentify(dataset, POLICY)
    assert dataset.StudyInstanceUID == remap_uid(study, KEY) != study
    assert dataset.SOPInstanceUID == remap_uid(instance, KEY)
    assert dataset.file_meta.MediaStorageSOPInstanceUID == dataset.SOPInstanceUID
    assert dataset.ReferencedImageSequence[0].ReferencedSOPInstanceUID == dataset.SOPInstanceUID
    assert dataset.SOPClassUID == sop_class
    assert dataset.ReferencedImageSequence[0].ReferencedSOPClassUID == sop_class
    assert len(dataset.StudyInstanceUID) <= 64
    assert dataset.StudyInstanceUID.startswith("2.25.")


def test_a_different_protocol_key_gives_different_uids():
    assert remap_uid("1.2.3", b"a") != remap_uid("1.2.3", b"b")


def test_names_inside_sequences_are_removed(dataset):
    deidentify(dataset, POLICY)
    assert "PerformingPhysicianName" not in dataset.ReferencedImageSequence[0]


def test_private_tags_are_dropped_unless_allow_listed(dataset):
    deidentify(dataset, POLICY)
    assert not any(element.tag.is_private for element in dataset)


def test_an_allow_listed_private_tag_is_kept_with_its_creator(dataset):
    policy = DeidPolicy(pseudonym="P", date_offset_days=0, uid_key=KEY, private_allowlist=frozenset({("ACME 1.1", 0x11)}))
    deidentify(dataset, policy)
    private = {element.tag: element.value for element in dataset if element.tag.is_private}
    assert private == {0x00290010: "ACME 1.1", 0x00291011: "1.5"}


def test_patient_characteristics_are_kept_and_old_ages_capped(dataset):
    deidentify(dataset, POLICY)
    assert (dataset.PatientSex, dataset.PatientAge) == ("F", AGE_CAP)


def test_the_method_is_recorded(dataset):
    deidentify(dataset, POLICY)
    assert dataset.PatientIdentityRemoved == "YES"
    assert [item.CodeValue for item in dataset.DeidentificationMethodCodeSequence] == ["113100", "113107", "113108"]


def test_burned_in_annotation_is_refused_unless_the_protocol_allows_it(dataset):
    dataset.BurnedInAnnotation = "YES"
    with pytest.raises(BurnedInAnnotation):
        deidentify(dataset, POLICY)
    allowed = DeidPolicy(pseudonym="P", date_offset_days=0, uid_key=KEY, allow_burned_in=True)
    assert deidentify(dataset, allowed).PatientName == "P"


def test_an_unparseable_date_is_removed_not_kept(dataset):
    with pytest.warns(UserWarning, match="Invalid value for VR DA"):
        dataset.SeriesDate = "2024"
    deidentify(dataset, POLICY)
    assert "SeriesDate" not in dataset


def test_the_result_still_writes_and_reads(dataset, tmp_path):
    deidentify(dataset, POLICY)
    dataset.save_as(tmp_path / "out.dcm", enforce_file_format=True)
    again = pydicom.dcmread(tmp_path / "out.dcm")
    assert again.PatientName == "PSEUDO-7"
    assert again.pixel_array.shape == (2, 2)


@pytest.mark.parametrize(("value", "expected"), [("20240301", "20240121"), ("20240301120000", "20240121120000"), ("bad", None)])
def test_shift_date(value, expected):
    assert shift_date(value, -40) == expected


def test_shift_date_crosses_leap_days():
    assert shift_date("20240229", 1) == (dt.date(2024, 3, 1)).strftime("%Y%m%d")
