"""pixel_data_problem: a file cut short in transfer is told from a whole one without decoding."""
from __future__ import annotations

import io
import warnings

import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import JPEG2000Lossless

from reports.dicom.integrity import pixel_data_problem
from reports.dicom.synthetic import write_series


def _cut(data: bytes, keep: int) -> pydicom.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about the missing bytes; the check says why
        return pydicom.dcmread(io.BytesIO(data[:keep]))


def test_whole_files_have_no_problem(tmp_path):
    (path,) = write_series(tmp_path, shape=(40, 32, 1))
    assert pixel_data_problem(pydicom.dcmread(path)) is None
    assert pixel_data_problem(pydicom.dcmread(get_testdata_file("693_J2KI.dcm", download=False))) is None
    assert pixel_data_problem(pydicom.dcmread(get_testdata_file("MR_small_RLE.dcm", download=False))) is None


def test_native_pixel_data_cut_short_is_measured(tmp_path):
    (path,) = write_series(tmp_path, shape=(40, 32, 1))
    data = path.read_bytes()
    assert pixel_data_problem(_cut(data, len(data) - 100)) == "pixel data cut short (2460 of 2560 bytes)"


def test_a_compressed_file_cut_short_has_no_pixel_data(tmp_path):
    (path,) = write_series(tmp_path, shape=(40, 32, 1))
    dataset = pydicom.dcmread(path)
    dataset.compress(JPEG2000Lossless)
    dataset.save_as(path, enforce_file_format=True)
    data = path.read_bytes()
    assert pixel_data_problem(_cut(data, len(data) - 20)) == "no pixel data (the file is cut short or damaged)"


def test_missing_image_attributes_are_named(tmp_path):
    (path,) = write_series(tmp_path, shape=(40, 32, 1))
    dataset = pydicom.dcmread(path)
    del dataset.BitsAllocated
    assert "image attributes" in pixel_data_problem(dataset)
