"""A small DICOMweb client: QIDO-RS study and series search, WADO-RS retrieval (PS3.18).

Written on the standard library: JSON in and multipart/related out do not justify pulling in an
HTTP stack and an imaging library (dicomweb-client needs requests and Pillow).
"""
from __future__ import annotations

import json
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any

TIMEOUT_SECONDS = 60
# Matches asked for per QIDO-RS request. A PACS caps its answers anyway (often at a few hundred),
# so a search that may match more is paged with limit / offset until a short page.
QIDO_PAGE_SIZE = 100
# QIDO-RS attribute tags (PS3.18 Table 6.7.1-2a) and what we call them.
STUDY_ATTRIBUTES = {
    "0020000D": "study_instance_uid",
    "00080050": "accession",
    "00080020": "study_date",
    "00100020": "patient_id",
    "00080061": "modalities",
}
SERIES_ATTRIBUTES = {
    "0020000E": "series_instance_uid",
    "00080060": "modality",
    "00200011": "series_number",
    "00201209": "instances",
}
MULTI_VALUED = frozenset({"00080061"})  # ModalitiesInStudy: one value per modality


class PacsError(RuntimeError):
    """The PACS could not be reached or answered something we cannot use; says which call."""


@dataclass(frozen=True)
class FoundStudy:
    study_instance_uid: str
    accession: str = ""
    study_date: str = ""
    patient_id: str = ""
    modalities: str = ""


@dataclass(frozen=True)
class FoundSeries:
    series_instance_uid: str
    modality: str = ""
    series_number: str = ""
    instances: str = ""


def _value(item: dict, tag: str) -> str:
    values = item.get(tag, {}).get("Value") or []
    if not values:
        return ""
    if tag in MULTI_VALUED:
        return "\\".join(str(v) for v in values)
    value = values[0]
    if isinstance(value, dict):  # PN: {"Alphabetic": ...}
        value = value.get("Alphabetic", "")
    return str(value)


def _get(url: str, accept: str) -> tuple[bytes, Message]:
    """The body and headers of a GET; PacsError naming the endpoint (never its query) on failure."""
    if not url.startswith(("http://", "https://")):
        raise PacsError(f"Not an HTTP URL: {url.split('?')[0]}")
    request = urllib.request.Request(url, headers={"Accept": accept})  # noqa: S310 (scheme checked above)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.read(), response.headers
    except OSError as exc:
        # The URL may hold an accession in its query: name the endpoint only.
        raise PacsError(f"DICOMweb request to {url.split('?')[0]} failed ({type(exc).__name__})") from None


def _more_results_announced(headers: Message) -> bool:
    # PS3.18 8.3.4.4: a server that returns fewer matches than there are says so in a Warning.
    return "additional results" in (headers.get("Warning") or "").lower()


def _qido(url: str, filters: dict[str, str], page_size: int) -> list[dict[str, Any]]:
    """Every match of a QIDO-RS search at `url`, asked for `page_size` at a time (limit / offset)."""
    matches: list[dict[str, Any]] = []
    seen: set[str] = set()
    offset = 0
    while True:
        query = urllib.parse.urlencode({**{k: v for k, v in filters.items() if v}, "limit": page_size, "offset": offset})
        body, headers = _get(f"{url}?{query}", "application/dicom+json")
        try:
            page = json.loads(body) if body.strip() else []  # Orthanc answers 204, no body, for no match
        except ValueError:
            raise PacsError("QIDO-RS answered something that is not JSON") from None
        if not isinstance(page, list):
            raise PacsError("QIDO-RS answered JSON that is not a list of matches")
        # Keyed by content, so a server that ignores `offset` (the same page again) ends the loop.
        new = [item for item in page if json.dumps(item, sort_keys=True) not in seen]
        seen.update(json.dumps(item, sort_keys=True) for item in new)
        matches.extend(new)
        if not new or len(page) > page_size:
            return matches  # nothing new, or a server that ignored `limit` and sent everything
        if len(page) < page_size and not _more_results_announced(headers):
            return matches
        offset += len(page)


def qido_studies(base_url: str, *, page_size: int = QIDO_PAGE_SIZE, **filters: str) -> list[FoundStudy]:
    """Studies matching `filters` (AccessionNumber=..., StudyDate=20240101-20240131, PatientID=...)."""
    items = _qido(f"{base_url.rstrip('/')}/studies", filters, page_size)
    return [FoundStudy(**{name: _value(item, tag) for tag, name in STUDY_ATTRIBUTES.items()}) for item in items]


def qido_series(base_url: str, study_instance_uid: str, *, page_size: int = QIDO_PAGE_SIZE, **filters: str) -> list[FoundSeries]:
    """The series of one study (optionally filtered, e.g. Modality=CT)."""
    url = f"{base_url.rstrip('/')}/studies/{urllib.parse.quote(study_instance_uid)}/series"
    items = _qido(url, filters, page_size)
    return [FoundSeries(**{name: _value(item, tag) for tag, name in SERIES_ATTRIBUTES.items()}) for item in items]


def _wado_parts(url: str) -> list[bytes]:
    body, headers = _get(url, 'multipart/related; type="application/dicom"')
    content_type = headers.get("Content-Type", "")
    if "multipart/related" not in content_type:
        raise PacsError(f"WADO-RS answered {content_type or 'no content type'}, not multipart/related")
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    return [payload for part in message.iter_parts() if (payload := part.get_payload(decode=True))]


def wado_retrieve_study(base_url: str, study_instance_uid: str, out_dir: Path) -> list[Path]:
    """Every instance of the study as a DICOM file in `out_dir` (created); returns the paths.

    Retrieved series by series, so one answer holds one series in memory rather than a whole
    study (a CT study with thin slices runs to gigabytes); the whole study in one answer when
    the PACS lists no series.
    """
    study_url = f"{base_url.rstrip('/')}/studies/{urllib.parse.quote(study_instance_uid)}"
    series = qido_series(base_url, study_instance_uid)
    urls = [f"{study_url}/series/{urllib.parse.quote(found.series_instance_uid)}" for found in series] or [study_url]
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for url in urls:
        for payload in _wado_parts(url):
            path = out_dir / f"{len(paths):06d}.dcm"
            path.write_bytes(payload)
            paths.append(path)
    return paths
