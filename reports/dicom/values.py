"""One reading of a DICOM element's value, whether it holds one value or several.

pydicom gives a single value bare (a str, a float, a PersonName) and several as a MultiValue,
so every reader that wants "all the values" or "the first one" has to tell the two apart; this
module is where that happens.
"""
from __future__ import annotations

from pydicom.multival import MultiValue


def values_of(value: object) -> list[object]:
    """Every value of an element's value, as a list; [] when it is empty or absent."""
    if value is None or value == "":
        return []
    if isinstance(value, MultiValue | list | tuple):
        return list(value)
    return [value]


def joined(value: object) -> str:
    """The values as DICOM writes them in one string: separated by backslashes."""
    return "\\".join(str(item) for item in values_of(value))


def first_float(value: object) -> float | None:
    """The first value as a number (WindowCenter may list several); None when there is none."""
    values = values_of(value)
    try:
        return float(values[0])  # type: ignore[arg-type]
    except (TypeError, ValueError, IndexError):
        return None
