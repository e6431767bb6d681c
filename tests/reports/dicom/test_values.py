"""values_of / joined / first_float: one reading of single- and multi-valued DICOM elements."""
from __future__ import annotations

from pydicom.dataset import Dataset

from reports.dicom.values import first_float, joined, values_of


def _dataset() -> Dataset:
    dataset = Dataset()
    dataset.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    dataset.WindowCenter = ["40", "-600"]
    dataset.WindowWidth = 400
    dataset.Modality = "CT"
    dataset.PatientName = "Smith^Johanna"
    dataset.StationName = ""
    return dataset


def test_several_values_come_as_a_list_and_one_value_as_a_list_of_one():
    dataset = _dataset()
    assert values_of(dataset.ImageType) == ["ORIGINAL", "PRIMARY", "AXIAL"]
    assert values_of(dataset.Modality) == ["CT"]
    assert [str(v) for v in values_of(dataset.PatientName)] == ["Smith^Johanna"]
    assert values_of(dataset.StationName) == values_of(dataset.get("Manufacturer")) == []


def test_joined_writes_values_as_dicom_does():
    dataset = _dataset()
    assert joined(dataset.ImageType) == "ORIGINAL\\PRIMARY\\AXIAL"
    assert joined(dataset.Modality) == "CT"
    assert joined(dataset.get("Manufacturer")) == ""


def test_first_float_takes_the_first_of_several_and_none_when_absent_or_not_a_number():
    dataset = _dataset()
    assert first_float(dataset.WindowCenter) == 40.0
    assert first_float(dataset.WindowWidth) == 400.0
    assert first_float(dataset.get("RescaleSlope")) is None
    assert first_float(dataset.Modality) is None
