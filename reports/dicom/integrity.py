"""Is a read DICOM image whole? A file cut short in transfer still reads.

pydicom reads a file whose native pixel data stops early without complaint (the value is just
shorter), and drops the whole PixelData element of a truncated compressed file with a warning;
either would be stored and only fail later, in the viewer or in a NIfTI conversion. The checks
here need no decoding, so the import can afford them on every file.
"""
from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.encaps import generate_frames
from pydicom.pixels.utils import get_expected_length

PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def pixel_data_problem(dataset: Dataset) -> str | None:
    """Why the image's pixel data cannot be whole, for a person; None when it looks whole."""
    keyword = next((keyword for keyword in PIXEL_KEYWORDS if keyword in dataset), None)
    if keyword is None:
        return "no pixel data (the file is cut short or damaged)"
    data = dataset[keyword].value or b""
    meta = getattr(dataset, "file_meta", None)
    syntax = getattr(meta, "TransferSyntaxUID", None) if meta is not None else None
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    if syntax is not None and syntax.is_encapsulated:
        try:
            found = sum(1 for _frame in generate_frames(data, number_of_frames=frames))
        except Exception as exc:
            return f"compressed pixel data cannot be parsed ({type(exc).__name__})"
        return None if found == frames else f"{found} of {frames} compressed frames present"
    try:
        expected = int(get_expected_length(dataset, "bytes"))
    except (AttributeError, TypeError, ValueError):
        return "the image attributes (Rows, Columns, BitsAllocated...) are missing or invalid"
    if len(data) < expected:
        return f"pixel data cut short ({len(data)} of {expected} bytes)"
    return None
