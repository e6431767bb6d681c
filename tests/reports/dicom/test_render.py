"""Window / level and the PNG writer, checked by decoding the PNG by hand."""
from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from reports.dicom.render import PRESETS, apply_window, png_bytes, shrink


def _decode_png(data: bytes) -> np.ndarray:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 0)
    raw = zlib.decompress(chunks[b"IDAT"])
    rows = [raw[r * (width + 1) + 1 : (r + 1) * (width + 1)] for r in range(height)]
    return np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(height, width)


def test_png_round_trips():
    image = (np.arange(12, dtype=np.uint8) * 20).reshape(3, 4)
    np.testing.assert_array_equal(_decode_png(png_bytes(image)), image)


def test_the_lung_window_maps_its_ends_to_black_and_white():
    centre, width = PRESETS["lung"]
    pixels = np.array([[centre - width / 2 - 10, centre, centre + width / 2 + 10]], dtype=np.float32)
    out = apply_window(pixels, centre, width)
    assert out[0, 0] == 0
    assert out[0, 2] == 255
    assert 120 <= out[0, 1] <= 135


def test_monochrome1_is_inverted():
    pixels = np.array([[0.0, 100.0]], dtype=np.float32)
    np.testing.assert_array_equal(apply_window(pixels, 50, 100, invert=True), 255 - apply_window(pixels, 50, 100))


@pytest.mark.parametrize(("shape", "side", "expected"), [((512, 512), 128, (128, 128)), ((100, 50), 512, (100, 50)), ((300, 200), 128, (100, 66))])
def test_shrink_keeps_the_aspect_and_never_upscales(shape, side, expected):
    assert shrink(np.zeros(shape, dtype=np.uint8), side).shape == expected
