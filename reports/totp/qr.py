"""The enrolment QR code as an SVG data URI, drawn here: no image service, no network."""
from __future__ import annotations

import base64

import qrcode
from qrcode.image.svg import SvgPathImage


def qr_svg_data_uri(text: str) -> str:
    """A data: URI of an SVG QR code for `text` (CSP allows data: images, not inline scripts)."""
    svg = qrcode.make(text, image_factory=SvgPathImage, box_size=8, border=2).to_string()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def text_key(bin_key: bytes) -> str:
    """The secret in base32, in groups of four, for apps that cannot scan."""
    key = base64.b32encode(bin_key).decode("ascii").rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))
