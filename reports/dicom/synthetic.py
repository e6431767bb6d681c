"""Synthetic DICOM series of known geometry, for tests, benchmarks and the demo.

Each voxel's value encodes its own (column, row, slice) index, so a converter that puts a slice
or an axis in the wrong place is caught by comparing values, not only affines.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
SAGITTAL = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)
CORONAL = (1.0, 0.0, 0.0, 0.0, 0.0, -1.0)


def oblique(degrees: float = 20.0) -> tuple[float, ...]:
    """Axial rows, columns tilted `degrees` about the row axis (a double-oblique-free oblique)."""
    angle = np.deg2rad(degrees)
    return (1.0, 0.0, 0.0, 0.0, float(np.cos(angle)), float(np.sin(angle)))


def voxel_values(columns: int, rows: int, slices: int) -> np.ndarray:
    """(slices, rows, columns) int16 values = 100*slice + 10*row + column, as the converter must find them."""
    k, j, i = np.meshgrid(np.arange(slices), np.arange(rows), np.arange(columns), indexing="ij")
    return (100 * k + 10 * j + i).astype(np.int16)


def write_series(
    folder: Path,
    *,
    orientation: Sequence[float] = AXIAL,
    origin: Sequence[float] = (-50.0, -60.0, 10.0),
    pixel_spacing: tuple[float, float] = (0.8, 0.7),
    slice_spacing: float = 2.5,
    shape: tuple[int, int, int] = (6, 5, 4),  # columns, rows, slices
    positions: Sequence[Sequence[float]] | None = None,
    orientations: Sequence[Sequence[float]] | None = None,
    shuffle: bool = True,
    patient_name: str = "Doe^Jane",
    patient_id: str = "MRN-0001",
    accession: str = "ACC-0001",
    study_uid: str | None = None,
    series_uid: str | None = None,
    study_date: dt.date = dt.date(2024, 3, 1),
    extra: dict[str, object] | None = None,
    slope: float = 1.0,
    intercept: float = -1024.0,
    values: np.ndarray | None = None,
) -> list[Path]:
    """Write one CT series of slices `slice_spacing` apart along the normal; returns the file paths.

    `positions` / `orientations` override the plane of each slice (to build broken series).
    Files are written in shuffled order so a converter cannot rely on file names.
    """
    columns, rows, slices = shape
    folder.mkdir(parents=True, exist_ok=True)
    row_dir, col_dir = np.asarray(orientation[:3], float), np.asarray(orientation[3:], float)
    normal = np.cross(row_dir, col_dir)
    values = voxel_values(columns, rows, slices) if values is None else values
    fixed_uids = series_uid is not None
    study_uid = study_uid or generate_uid()
    series_uid = series_uid or generate_uid()
    order = list(range(len(positions) if positions is not None else slices))
    if shuffle:
        order = order[1::2] + order[0::2]
    paths = []
    for number in order:
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        # A fixed series UID gives fixed instance UIDs, so re-writing the same series (the demo)
        # re-imports as the same instances.
        meta.MediaStorageSOPInstanceUID = f"{series_uid}.{number + 1}" if fixed_uids else generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        path = folder / f"IM{number:04d}.dcm"
        ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.PatientName, ds.PatientID, ds.AccessionNumber = patient_name, patient_id, accession
        ds.PatientBirthDate = "19700101"
        ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = study_date.strftime("%Y%m%d")
        ds.StudyTime = "101500"
        ds.Modality = "CT"
        ds.Manufacturer, ds.ManufacturerModelName, ds.SoftwareVersions = "ACME", "Scanner 9", "1.0"
        ds.StationName, ds.SeriesDescription = "CT01", "Synthetic"
        ds.SeriesNumber, ds.InstanceNumber = 1, number + 1
        ds.ImageOrientationPatient = [float(v) for v in (orientations[number] if orientations else orientation)]
        where = positions[number] if positions is not None else np.asarray(origin, float) + number * slice_spacing * normal
        ds.ImagePositionPatient = [round(float(v), 4) for v in where]
        ds.PixelSpacing = [pixel_spacing[0], pixel_spacing[1]]
        ds.SliceThickness = slice_spacing
        ds.Rows, ds.Columns = rows, columns
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
        ds.PixelData = values[min(number, slices - 1)].tobytes()
        for keyword, value in (extra or {}).items():
            setattr(ds, keyword, value)
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def chest_phantom(size: int = 96, slices: int = 12, *, effusion: bool = False, seed: int = 0) -> np.ndarray:
    """(slices, rows, columns) stored values (HU + 1024) of a crude chest CT: body, lungs, heart,
    spine, and optionally a dependent right pleural effusion, so window presets look like themselves."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size - 0.5
    volume = np.full((slices, size, size), -1000.0)
    for k in range(slices):
        taper = 1.0 - 0.25 * abs(k / max(slices - 1, 1) - 0.5)
        body = (x / (0.46 * taper)) ** 2 + (y / 0.34) ** 2 <= 1
        volume[k][body] = 30.0
        for side in (-1, 1):
            lung = ((x - side * 0.19) / (0.15 * taper)) ** 2 + ((y + 0.02) / 0.25) ** 2 <= 1
            volume[k][lung] = -850.0
            if effusion and side == -1:  # the patient's right is the image's left
                volume[k][lung & (y > 0.08)] = 15.0
        heart = ((x - 0.05) / 0.12) ** 2 + ((y + 0.03) / 0.11) ** 2 <= 1
        volume[k][heart & (k > slices // 3)] = 45.0
        spine = (x / 0.05) ** 2 + ((y - 0.24) / 0.05) ** 2 <= 1
        volume[k][spine] = 700.0
    volume += rng.normal(0, 12, volume.shape)
    return np.clip(volume + 1024, 0, 4095).astype(np.int16)
