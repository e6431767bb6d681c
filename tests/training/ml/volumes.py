"""Small synthetic NIfTI volumes for the image model's tests: learnable, seeded, no database.

"Blob": a bright Gaussian ball somewhere in the volume. "Rod": a bright line along the rows (a line in a one-slice image too).
Each appears at a random place over noise, so a model must find it, not remember a voxel.
"""
from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

LABELS = ["Blob", "Rod"]


def volume_values(rng: np.random.Generator, shape: tuple[int, int, int], blob: bool, rod: bool) -> np.ndarray:
    """(columns, rows, slices) values, NIfTI's axis order."""
    data = rng.normal(100.0, 20.0, shape)
    x, y, z = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    if blob:
        centre = [rng.uniform(n * 0.25, n * 0.75) for n in shape]
        radius = max(1.0, min(n for n in shape if n > 1) / 8)
        data += 150.0 * np.exp(-(((x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2) / (2 * radius**2)))
    if rod:
        cx, cz = int(rng.integers(2, shape[0] - 2)), int(rng.integers(0, shape[2]))
        data[cx - 1 : cx + 1, :, max(cz - 1, 0) : cz + 1] += 120.0
    return data.astype(np.float32)


def write_volumes(
    folder: Path, n: int, *, seed: int = 0, shape: tuple[int, int, int] = (20, 20, 12),
    spacing: tuple[float, float, float] = (1.0, 1.0, 2.0), missing: float = 0.0,
) -> tuple[list[Path], list[list[float | None]]]:
    """`n` .nii.gz files and their targets ([blob, rod]; None with probability `missing`)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths, targets = [], []
    for i in range(n):
        blob, rod = bool(rng.random() < 0.5), bool(rng.random() < 0.5)
        image = nib.Nifti1Image(volume_values(rng, shape, blob, rod), np.diag([*spacing, 1.0]))
        path = folder / f"volume-{seed}-{i}.nii.gz"
        nib.save(image, str(path))
        paths.append(path)
        targets.append([None if rng.random() < missing else float(value) for value in (blob, rod)])
    return paths, targets
