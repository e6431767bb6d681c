"""Render a DICOM slice to an 8-bit greyscale PNG with a window / level preset.

Server-side rendering keeps the browser side to an <img>: no viewer library, nothing to
vendor, and the pixels never reach the page as raw data. PNG is written with zlib directly
(grey, 8 bits): one format is all we need, so no imaging library is pulled in for it.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np
from pydicom.dataset import Dataset

from reports.dicom.values import first_float

# (centre, width) in Hounsfield units, the usual radiology presets.
PRESETS: dict[str, tuple[float, float]] = {
    "lung": (-600.0, 1500.0),
    "mediastinum": (40.0, 400.0),
    "bone": (400.0, 1800.0),
    "brain": (40.0, 80.0),
}
DEFAULT_PRESET = "auto"  # the file's own WindowCenter / WindowWidth, else its value range


def physical_pixels(dataset: Dataset, frame: int | None = None) -> np.ndarray:
    """The slice in physical units (RescaleSlope / Intercept applied), as float32."""
    array = dataset.pixel_array
    if frame is not None and array.ndim == 3 and int(dataset.get("NumberOfFrames", 1) or 1) > 1:
        array = array[frame]
    if array.ndim == 3:  # colour: luminance is enough for a thumbnail
        array = array[..., :3].mean(axis=-1)
    slope = float(dataset.get("RescaleSlope", 1) or 1)
    intercept = float(dataset.get("RescaleIntercept", 0) or 0)
    return array.astype(np.float32) * slope + intercept


def window_for(dataset: Dataset, pixels: np.ndarray, preset: str) -> tuple[float, float]:
    if preset in PRESETS:
        return PRESETS[preset]
    centre, width = first_float(dataset.get("WindowCenter")), first_float(dataset.get("WindowWidth"))
    if centre is not None and width and width > 0:
        return centre, width
    low, high = float(np.percentile(pixels, 0.5)), float(np.percentile(pixels, 99.5))
    return (low + high) / 2, max(high - low, 1.0)


def apply_window(pixels: np.ndarray, centre: float, width: float, invert: bool = False) -> np.ndarray:
    """PS3.3 C.11.2.1.2's linear VOI function, to 0-255."""
    low = centre - 0.5 - (width - 1) / 2
    scaled = np.clip((pixels - low) / max(width - 1, 1.0), 0.0, 1.0)
    if invert:
        scaled = 1.0 - scaled
    return (scaled * 255.0 + 0.5).astype(np.uint8)


def shrink(image: np.ndarray, max_side: int) -> np.ndarray:
    """Downscale by block averaging so the longer side is at most `max_side` (no upscaling)."""
    factor = int(np.ceil(max(image.shape) / max_side)) if max(image.shape) > max_side else 1
    if factor == 1:
        return image
    rows, cols = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    blocks = image[:rows, :cols].reshape(rows // factor, factor, cols // factor, factor)
    return (blocks.mean(axis=(1, 3)) + 0.5).astype(np.uint8)


def png_bytes(image: np.ndarray) -> bytes:
    """An 8-bit greyscale PNG of a 2-D uint8 array."""
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError("png_bytes takes a 2-D uint8 array")
    height, width = image.shape
    raw = b"".join(b"\x00" + image[row].tobytes() for row in range(height))  # filter type 0 per row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def render_png(dataset: Dataset, *, preset: str = DEFAULT_PRESET, max_side: int = 512) -> bytes:
    pixels = physical_pixels(dataset)
    centre, width = window_for(dataset, pixels, preset)
    invert = str(dataset.get("PhotometricInterpretation", "")) == "MONOCHROME1"
    return png_bytes(shrink(apply_window(pixels, centre, width, invert=invert), max_side))
