"""Hostile DICOM files (SECURITY.md promise 12): the folder scan skips what it cannot use, with a reason.

Hypothesis cuts, flips and splices the bytes of a good CT slice (header and pixels), gives its
elements other values and value representations with consistent lengths (so the damage is read
as values, not as a broken stream), and writes arbitrary bytes behind a DICOM preamble. `scan_folder` must come back every time, place each
file either in a series or in the skip list with a reason, and take under two seconds.

More examples: FUZZ_EXAMPLES=5000 .venv/bin/pytest tests/reports/security/test_fuzz_dicom_scan.py
"""
from __future__ import annotations

import os
import struct
import tempfile
import time
from functools import cache
from pathlib import Path

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports.dicom.scan import FolderScan, scan_folder
from reports.dicom.synthetic import write_series
from reports.models import Protocol
from reports.services.dicom import dicom_import

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
SECONDS = 2.0
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
PREAMBLE = b"\0" * 128 + b"DICM"
# Values that make readers trip: lengths of 0 and 0xFFFFFFFF (undefined), odd lengths, a sequence
# delimiter, bytes that are not ASCII, text where numbers belong.
NASTY = [b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x01\x00", b"\xfe\xff\xdd\xe0", b"\xfe\xff\x00\xe0",
         b"SQ", b"UN", b"OB", b"DS", b"US", b"\x80\xff", b"abc\\def", b"1e999", b"-0", b"\\\\\\"]


@cache
def good_slice() -> bytes:
    """The bytes of one small, valid CT slice (4 x 4 pixels, so the header is most of the file)."""
    with tempfile.TemporaryDirectory() as folder:
        (path,) = write_series(Path(folder), shape=(4, 4, 1))
        return path.read_bytes()


# Explicit VR little endian: these VRs have 2 reserved bytes and a 4-byte length.
LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
VRS = [b"AE", b"AS", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"OB", b"OW", b"PN", b"SH", b"SL",
       b"SQ", b"SS", b"ST", b"TM", b"UI", b"UL", b"UN", b"US", b"UT", b"XX"]


def _elements(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each top-level element of the good slice, file meta included."""
    spans, pos = [], 132
    while pos < len(data):
        vr = data[pos + 4 : pos + 6]
        if vr in LONG_VRS:
            end = pos + 12 + struct.unpack_from("<I", data, pos + 8)[0]
        else:
            end = pos + 8 + struct.unpack_from("<H", data, pos + 6)[0]
        spans.append((pos, end))
        pos = end
    return spans


def _element(tag: bytes, vr: bytes, value: bytes) -> bytes:
    if vr in LONG_VRS:
        return tag + vr + b"\0\0" + struct.pack("<I", len(value)) + value
    return tag + vr + struct.pack("<H", len(value) % 65536) + value


def _revalue(data: bytes, changes: list[tuple[int, bytes | None, bytes]]) -> bytes:
    spans = _elements(data)
    parts = [data[start:end] for start, end in spans]
    for index, vr, value in changes:
        part = parts[index % len(parts)]
        parts[index % len(parts)] = _element(part[:4], vr or part[4:6], value)
    return data[:132] + b"".join(parts)


def _mutate(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    for position, cut, insert in edits:
        at = position % (len(data) + 1)
        data = data[:at] + insert + data[at + cut:]
    return data


def _scan(files: dict[str, bytes]) -> FolderScan:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for name, data in files.items():
            (root / name).write_bytes(data)
        started = time.perf_counter()
        scan = scan_folder(root)
        assert time.perf_counter() - started < SECONDS
    placed = [path.name for study in scan.studies.values() for series in study.series.values() for path in series.files]
    skipped = {item.path: item.reason for item in scan.skipped}
    assert sorted(placed + list(skipped)) == sorted(files)
    assert all(reason for reason in skipped.values())
    return scan


edits = st.lists(
    st.tuples(st.integers(0, 2000), st.integers(0, 16), st.sampled_from(NASTY) | st.binary(max_size=8)),
    min_size=1, max_size=8,
)


@FUZZ
@given(edits)
def test_a_mutated_slice_is_scanned_or_skipped_with_a_reason(changes: list[tuple[int, int, bytes]]) -> None:
    # The good slice beside the mutated one: a bad file must not cost the scan the good one.
    scan = _scan({"good.dcm": good_slice(), "mutated.dcm": _mutate(good_slice(), changes)})
    assert any(path.name == "good.dcm" for study in scan.studies.values()
               for series in study.series.values() for path in series.files)


values = st.sampled_from(NASTY) | st.binary(max_size=24) | st.text(max_size=24).map(lambda text: text.encode())
revalues = st.lists(st.tuples(st.integers(0, 60), st.none() | st.sampled_from(VRS), values), min_size=1, max_size=5)


@FUZZ
@given(revalues)
def test_elements_with_wrong_values_or_types_are_scanned_or_skipped(changes: list[tuple[int, bytes | None, bytes]]) -> None:
    _scan({"good.dcm": good_slice(), "revalued.dcm": _revalue(good_slice(), changes)})


@FUZZ
@given(st.binary(max_size=600), st.booleans())
def test_arbitrary_bytes_are_skipped_with_a_reason(data: bytes, preamble: bool) -> None:
    _scan({"random.dcm": (PREAMBLE if preamble else b"") + data})


@FUZZ
@given(st.integers(0, 4000))
def test_a_slice_cut_short_anywhere_is_scanned_or_skipped(length: int) -> None:
    _scan({"cut.dcm": good_slice()[:length]})


@pytest.mark.django_db
@settings(FUZZ, max_examples=max(EXAMPLES // 4, 10), suppress_health_check=list(HealthCheck))
@given(revalues.map(lambda changes: _revalue(good_slice(), changes)) | edits.map(lambda cuts: _mutate(good_slice(), cuts)))
def test_the_import_stores_or_skips_a_damaged_file(protocol: Protocol, damaged: bytes) -> None:
    # Past the header scan: the import reads the file whole, checks its pixels, de-identifies and
    # re-writes it. It must end stored or skipped with a reason, whatever it holds. One file per
    # import, rolled back after, so every example reaches the write (copies of one instance are
    # skipped as duplicates, and an instance stored by an earlier example would not be re-written).
    with tempfile.TemporaryDirectory() as folder, transaction.atomic():
        (Path(folder) / "damaged.dcm").write_bytes(damaged)
        started = time.perf_counter()
        result = dicom_import(protocol=protocol, root=Path(folder), actor=None, channel="command")
        assert time.perf_counter() - started < SECONDS
        transaction.set_rollback(True)
    assert result.instances + len(result.skipped) == 1
    assert all(item["reason"] for item in result.skipped)
