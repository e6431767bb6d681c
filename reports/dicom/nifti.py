"""DICOM series -> one NIfTI-1 volume (nibabel), with the geometry checks of geometry.py.

Voxel data are stored as DICOM gives them, with RescaleSlope / RescaleIntercept in the NIfTI
header (scl_slope / scl_inter) when every slice shares them, and as float32 in physical units
otherwise, so Hounsfield units survive either way. The file appears only when complete
(temporary file, then os.replace).
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from reports.dicom.geometry import GeometryError, SlicePlane, Volume, volume_geometry


class ConversionError(ValueError):
    """The series cannot become one volume; the message names the file or the inconsistency."""


@dataclass(frozen=True)
class Frame:
    plane: SlicePlane
    dataset: Dataset
    frame: int | None  # index into a multi-frame file's pixel data; None for single-frame files
    slope: float
    intercept: float


def _floats(value: object, count: int, what: str, label: str) -> tuple[float, ...]:
    try:
        numbers = tuple(float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ConversionError(f"{label}: {what} is missing or not numeric") from None
    if len(numbers) != count:
        raise ConversionError(f"{label}: {what} has {len(numbers)} values, {count} expected")
    return numbers


def _item(dataset: Dataset, sequence: str, inner: str) -> Dataset | None:
    groups = dataset.get(sequence)
    if not groups:
        return None
    first = groups[0]
    return first.get(inner, [None])[0] if inner in first else None


def _frames(dataset: Dataset, label: str) -> list[Frame]:
    if int(dataset.get("SamplesPerPixel", 1)) != 1:
        raise ConversionError(f"{label}: colour images ({dataset.get('PhotometricInterpretation')}) are not volumes")
    slope = float(dataset.get("RescaleSlope", 1) or 1)
    intercept = float(dataset.get("RescaleIntercept", 0) or 0)
    rows, columns = int(dataset.Rows), int(dataset.Columns)
    n_frames = int(dataset.get("NumberOfFrames", 1) or 1)
    if "PerFrameFunctionalGroupsSequence" in dataset:
        # Enhanced multi-frame (CT/MR): each frame's plane sits in its functional groups.
        frames = []
        shared = dataset.get("SharedFunctionalGroupsSequence", [Dataset()])[0]
        for index, per_frame in enumerate(dataset.PerFrameFunctionalGroupsSequence):
            def group(name: str, inner: str, per_frame: Dataset = per_frame) -> Dataset | None:
                found = _item(per_frame, name, inner) if name in per_frame else None
                return found if found is not None else (shared.get(name, [Dataset()])[0] if name in shared else None)

            position = group("PlanePositionSequence", "ImagePositionPatient")
            orientation = group("PlaneOrientationSequence", "ImageOrientationPatient")
            measures = group("PixelMeasuresSequence", "PixelSpacing")
            frame_label = f"{label} frame {index + 1}"
            plane = SlicePlane(
                position=_floats(getattr(position, "ImagePositionPatient", None), 3, "ImagePositionPatient", frame_label),  # type: ignore[arg-type]
                orientation=_floats(getattr(orientation, "ImageOrientationPatient", None), 6, "ImageOrientationPatient", frame_label),  # type: ignore[arg-type]
                pixel_spacing=_floats(getattr(measures, "PixelSpacing", None), 2, "PixelSpacing", frame_label),  # type: ignore[arg-type]
                rows=rows, columns=columns, label=frame_label,
            )
            transform = group("PixelValueTransformationSequence", "RescaleSlope")
            frame_slope = float(getattr(transform, "RescaleSlope", slope) or slope)
            frame_intercept = float(getattr(transform, "RescaleIntercept", intercept) or intercept)
            frames.append(Frame(plane, dataset, index, frame_slope, frame_intercept))
        return frames
    position = _floats(dataset.get("ImagePositionPatient"), 3, "ImagePositionPatient", label)
    orientation = _floats(dataset.get("ImageOrientationPatient"), 6, "ImageOrientationPatient", label)
    spacing = _floats(dataset.get("PixelSpacing"), 2, "PixelSpacing", label)
    if n_frames == 1:
        plane = SlicePlane(position, orientation, spacing, rows, columns, label)  # type: ignore[arg-type]
        return [Frame(plane, dataset, None, slope, intercept)]
    offsets = dataset.get("GridFrameOffsetVector")
    if offsets is None or len(offsets) != n_frames:
        raise ConversionError(f"{label}: {n_frames} frames but no per-frame positions (GridFrameOffsetVector)")
    row_dir, col_dir = np.asarray(orientation[:3]), np.asarray(orientation[3:])
    normal = np.cross(row_dir, col_dir)
    # PS3.3 C.8.8.3.2: offsets are relative to ImagePositionPatient when the first one is 0.
    base = np.asarray(position) - (0.0 if float(offsets[0]) == 0 else float(offsets[0])) * normal
    frames = []
    for index, offset in enumerate(offsets):
        where = base + float(offset) * normal
        plane = SlicePlane(tuple(where), orientation, spacing, rows, columns, f"{label} frame {index + 1}")  # type: ignore[arg-type]
        frames.append(Frame(plane, dataset, index, slope, intercept))
    return frames


def read_series(paths: Iterable[Path]) -> list[Frame]:
    """Read every DICOM image among `paths` (other files are skipped) and check it is one series."""
    frames: list[Frame] = []
    series: dict[str, str] = {}
    for path in sorted(paths):
        if not path.is_file() or path.name.startswith("."):
            continue
        try:
            dataset = pydicom.dcmread(path)
        except InvalidDicomError:
            continue  # not DICOM at all (a README, a DICOMDIR's neighbours): not part of the series
        except Exception as exc:
            raise ConversionError(f"{path.name}: unreadable DICOM ({type(exc).__name__})") from None
        if "PixelData" not in dataset:
            continue
        series.setdefault(str(dataset.get("SeriesInstanceUID", "")), path.name)
        frames.extend(_frames(dataset, path.name))
    if len(series) > 1:
        raise ConversionError(f"The folder holds {len(series)} series (first files: {', '.join(sorted(series.values()))}); convert one series at a time")
    if not frames:
        raise ConversionError("No DICOM image in the folder")
    return frames


def _pixels(frame: Frame) -> np.ndarray:
    try:
        array = frame.dataset.pixel_array
    except Exception as exc:
        raise ConversionError(f"{frame.plane.label}: pixel data cannot be decoded ({type(exc).__name__}: {exc})") from None
    return array if frame.frame is None else array[frame.frame]


def series_volume(frames: Sequence[Frame]) -> tuple[np.ndarray, Volume, tuple[float, float] | None]:
    """The voxel array (column, row, slice), its geometry, and the shared (slope, intercept) if any."""
    thickness = frames[0].dataset.get("SpacingBetweenSlices") or frames[0].dataset.get("SliceThickness")
    try:
        volume = volume_geometry([frame.plane for frame in frames], float(thickness) if thickness else None)
    except GeometryError as exc:
        raise ConversionError(str(exc)) from None
    ordered = [frames[i] for i in volume.order]
    scales = {(frame.slope, frame.intercept) for frame in ordered}
    slices = [_pixels(frame) for frame in ordered]
    if len(scales) == 1:
        data = np.stack(slices, axis=-1)
        shared: tuple[float, float] | None = next(iter(scales))
    else:
        # Per-slice scaling (PET, some MR): only physical units can share one array.
        data = np.stack([s.astype(np.float32) * f.slope + f.intercept for s, f in zip(slices, ordered, strict=True)], axis=-1)
        shared = None
    # DICOM arrays are (row, column); NIfTI's first axis follows the row direction (columns).
    return np.ascontiguousarray(data.transpose(1, 0, 2)), volume, shared


def nifti_image(data: np.ndarray, volume: Volume, scale: tuple[float, float] | None) -> Any:
    """series_volume's output as a nibabel Nifti1Image (RAS affine in qform and sform, mm)."""
    import nibabel as nib

    image = nib.Nifti1Image(data, volume.affine_ras)
    header = image.header
    header.set_xyzt_units("mm")
    image.set_qform(volume.affine_ras, code=1)  # scanner anatomical coordinates
    image.set_sform(volume.affine_ras, code=1)
    if scale is not None and scale != (1.0, 0.0):
        header.set_slope_inter(*scale)
    return image


def dicom_to_nifti(series_dir: Path, out_path: Path) -> Volume:
    """Convert the one series in `series_dir` to `out_path` (.nii or .nii.gz); nothing is written on error."""
    import nibabel as nib

    frames = read_series(series_dir.iterdir())
    data, volume, scale = series_volume(frames)
    image = nifti_image(data, volume, scale)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=out_path.parent, prefix=".partial-", suffix="".join(out_path.suffixes))
    os.close(handle)
    try:
        nib.save(image, partial)
        os.replace(partial, out_path)
    finally:
        Path(partial).unlink(missing_ok=True)
    return volume
