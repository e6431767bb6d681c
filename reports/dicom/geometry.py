"""Where a series' voxels are: slice order, spacing and the affine, with refusals for bad series.

DICOM gives each slice its own plane (ImagePositionPatient, ImageOrientationPatient, PixelSpacing)
in the patient's LPS frame; a volume needs one affine for all of them. Series that cannot be
described by one affine (mixed orientations, missing slices, varying spacing, duplicated
positions) are refused with the reason, never silently resampled: a NIfTI with the wrong
geometry trains a model on the wrong side of the body.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ORIENTATION_TOLERANCE = 1e-3  # direction cosines; scanners round to 1e-5 or so
SPACING_TOLERANCE = 0.01  # relative spread of slice steps accepted as "equal"
MIN_SPACING_TOLERANCE_MM = 1e-3
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


class GeometryError(ValueError):
    """The slices do not form one regular volume; the message says why, for a person."""


@dataclass(frozen=True)
class SlicePlane:
    position: tuple[float, float, float]  # ImagePositionPatient: centre of the first pixel, mm, LPS
    orientation: tuple[float, float, float, float, float, float]  # row then column direction cosines
    pixel_spacing: tuple[float, float]  # (between rows, between columns), mm
    rows: int
    columns: int
    label: str = ""  # the file or frame, named in error messages


@dataclass(frozen=True)
class Volume:
    order: list[int]  # indices of the input planes, first slice first
    affine_lps: np.ndarray  # voxel (column, row, slice) -> LPS mm
    slice_step: float  # distance between slices along the normal, mm

    @property
    def affine_ras(self) -> np.ndarray:
        """The NIfTI convention: voxel -> RAS mm."""
        return LPS_TO_RAS @ self.affine_lps

    @property
    def spacing(self) -> tuple[float, float, float]:
        return tuple(float(np.linalg.norm(self.affine_lps[:3, axis])) for axis in range(3))  # type: ignore[return-value]


def _unit(vector: np.ndarray, what: str, label: str) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    if not 0.9 < norm < 1.1:
        raise GeometryError(f"{label}: {what} direction cosines are not a unit vector ({norm:.3f})")
    return vector / norm


def _usual_step(steps: np.ndarray) -> float:
    """The step most slices agree on (the smallest on a tie), so one gap reads as the exception."""
    tolerances = np.maximum(SPACING_TOLERANCE * steps, MIN_SPACING_TOLERANCE_MM)
    support = [int(np.sum(np.abs(steps - step) <= tol)) for step, tol in zip(steps, tolerances, strict=True)]
    best = max(support)
    return float(min(step for step, count in zip(steps, support, strict=True) if count == best))


def volume_geometry(planes: Sequence[SlicePlane], single_slice_thickness: float | None = None) -> Volume:
    """Order the planes into a volume and give its affine, or raise GeometryError naming the problem."""
    if not planes:
        raise GeometryError("The series has no image")
    first = planes[0]
    row_dir = _unit(np.asarray(first.orientation[:3], dtype=float), "row", first.label)
    col_dir = _unit(np.asarray(first.orientation[3:], dtype=float), "column", first.label)
    if abs(float(row_dir @ col_dir)) > 1e-2:
        raise GeometryError(f"{first.label}: row and column directions are not perpendicular")
    for plane in planes[1:]:
        if np.max(np.abs(np.asarray(plane.orientation, dtype=float) - np.asarray(first.orientation, dtype=float))) > ORIENTATION_TOLERANCE:
            raise GeometryError(
                f"Mixed orientations: {plane.label} is not parallel to {first.label}; convert each orientation separately"
            )
        if (plane.rows, plane.columns) != (first.rows, first.columns):
            raise GeometryError(
                f"Mixed image sizes: {plane.label} is {plane.rows}x{plane.columns}, {first.label} is {first.rows}x{first.columns}"
            )
        if np.max(np.abs(np.asarray(plane.pixel_spacing) - np.asarray(first.pixel_spacing))) > MIN_SPACING_TOLERANCE_MM:
            raise GeometryError(f"Mixed pixel spacing: {plane.label} differs from {first.label}")
    normal = np.cross(row_dir, col_dir)
    positions = np.asarray([plane.position for plane in planes], dtype=float)
    along = positions @ normal
    order = [int(i) for i in np.argsort(along, kind="stable")]
    positions = positions[order]
    along = along[order]

    row_spacing, column_spacing = (float(value) for value in first.pixel_spacing)
    affine = np.eye(4)
    # Voxel index i runs along a row (the row direction), j down the columns (the column direction).
    affine[:3, 0] = row_dir * column_spacing
    affine[:3, 1] = col_dir * row_spacing
    affine[:3, 3] = positions[0]
    if len(planes) == 1:
        thickness = float(single_slice_thickness or 1.0)
        affine[:3, 2] = normal * thickness
        return Volume(order=order, affine_lps=affine, slice_step=thickness)

    steps = np.diff(along)
    if np.any(steps < MIN_SPACING_TOLERANCE_MM):
        duplicate = planes[order[int(np.argmin(steps)) + 1]].label
        raise GeometryError(
            f"Two slices share one position ({duplicate}): several echoes, phases or acquisitions are mixed in this series"
        )
    step = _usual_step(steps)
    tolerance = max(SPACING_TOLERANCE * step, MIN_SPACING_TOLERANCE_MM)
    for index, gap in enumerate(steps):
        if abs(gap - step) <= tolerance:
            continue
        after = planes[order[index]].label
        missing = round(gap / step) - 1
        if missing >= 1 and abs(gap - (missing + 1) * step) <= tolerance * (missing + 1):
            raise GeometryError(f"Missing slices: about {missing} slice(s) absent after {after} ({gap:.2f} mm gap, {step:.2f} mm expected)")
        raise GeometryError(f"Varying slice spacing: {gap:.3f} mm after {after}, {step:.3f} mm elsewhere")
    # The step between slice origins; off the normal when the gantry was tilted, which the
    # affine then carries as a shear rather than being resampled.
    step_vector = (positions[-1] - positions[0]) / (len(planes) - 1)
    deviations = np.linalg.norm(positions - (positions[0] + np.outer(np.arange(len(planes)), step_vector)), axis=1)
    if float(deviations.max()) > max(tolerance, 0.05):
        worst = planes[order[int(deviations.argmax())]].label
        raise GeometryError(f"Slices are not on one line: {worst} is {float(deviations.max()):.2f} mm off")
    affine[:3, 2] = step_vector
    return Volume(order=order, affine_lps=affine, slice_step=step)
