"""A small DICOMweb client: QIDO-RS study search and WADO-RS study retrieval (PS3.18).

Written on the standard library: two calls, JSON in and multipart/related out, do not justify
pulling in an HTTP stack and an imaging library (dicomweb-client needs requests and Pillow).
"""
from __future__ import annotations

import json
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path

TIMEOUT_SECONDS = 60
# QIDO-RS attribute tags (PS3.18 Table 6.7.1-2a) and what we call them.
STUDY_ATTRIBUTES = {
    "0020000D": "study_instance_uid",
    "00080050": "accession",
    "00080020": "study_date",
    "00100020": "patient_id",
    "00080061": "modalities",
}


class PacsError(RuntimeError):
    """The PACS could not be reached or answered something we cannot use; says which call."""


@dataclass(frozen=True)
class FoundStudy:
    study_instance_uid: str
    accession: str = ""
    study_date: str = ""
    patient_id: str = ""
    modalities: str = ""


def _value(item: dict, tag: str) -> str:
    values = item.get(tag, {}).get("Value") or []
    if not values:
        return ""
    value = values[0]
    if isinstance(value, dict):  # PN: {"Alphabetic": ...}
        value = value.get("Alphabetic", "")
    return "\\".join(str(v) for v in values) if tag == "00080061" else str(value)


def _get(url: str, accept: str) -> tuple[bytes, str]:
    if not url.startswith(("http://", "https://")):
        raise PacsError(f"Not an HTTP URL: {url.split('?')[0]}")
    request = urllib.request.Request(url, headers={"Accept": accept})  # noqa: S310 (scheme checked above)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.read(), response.headers.get("Content-Type", "")
    except OSError as exc:
        # The URL may hold an accession in its query: name the endpoint only.
        raise PacsError(f"DICOMweb request to {url.split('?')[0]} failed ({type(exc).__name__})") from None


def qido_studies(base_url: str, **filters: str) -> list[FoundStudy]:
    """Studies matching `filters` (AccessionNumber=..., StudyDate=20240101-20240131, PatientID=...)."""
    query = urllib.parse.urlencode({key: value for key, value in filters.items() if value})
    body, _ = _get(f"{base_url.rstrip('/')}/studies?{query}", "application/dicom+json")
    if not body.strip():
        return []  # Orthanc answers an empty body (204) when nothing matches
    try:
        items = json.loads(body)
    except ValueError:
        raise PacsError("QIDO-RS answered something that is not JSON") from None
    return [FoundStudy(**{name: _value(item, tag) for tag, name in STUDY_ATTRIBUTES.items()}) for item in items]


def wado_retrieve_study(base_url: str, study_instance_uid: str, out_dir: Path) -> list[Path]:
    """Every instance of the study as a DICOM file in `out_dir` (created); returns the paths."""
    url = f"{base_url.rstrip('/')}/studies/{urllib.parse.quote(study_instance_uid)}"
    body, content_type = _get(url, 'multipart/related; type="application/dicom"')
    if "multipart/related" not in content_type:
        raise PacsError(f"WADO-RS answered {content_type or 'no content type'}, not multipart/related")
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, part in enumerate(message.iter_parts()):
        payload = part.get_payload(decode=True)
        if not payload:
            continue
        path = out_dir / f"{number:06d}.dcm"
        path.write_bytes(payload)
        paths.append(path)
    return paths
