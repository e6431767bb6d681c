"""Walk a folder of DICOM files: group instances into studies and series, and say what was skipped.

Headers only (pixels are not decoded here), so a folder of thousands of files scans in seconds.
Corrupt and non-DICOM files are reported by path and skipped; they never stop the scan.
"""
from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from reports.dicom.values import joined

MAX_FILE_BYTES = 2 * 1024**3


@dataclass
class SeriesScan:
    series_instance_uid: str
    modality: str = ""
    manufacturer: str = ""
    model: str = ""
    software_versions: str = ""
    station_name: str = ""
    protocol_name: str = ""
    description: str = ""
    slice_thickness: float | None = None
    pixel_spacing: tuple[float, float] | None = None
    acquisition_date: dt.date | None = None
    files: list[Path] = field(default_factory=list)


@dataclass
class StudyScan:
    study_instance_uid: str
    accession: str = ""
    patient_id: str = ""
    study_date: dt.date | None = None
    series: dict[str, SeriesScan] = field(default_factory=dict)

    @property
    def instances(self) -> int:
        return sum(len(series.files) for series in self.series.values())


@dataclass(frozen=True)
class Skipped:
    path: str  # relative to the scanned folder
    reason: str


@dataclass
class FolderScan:
    studies: dict[str, StudyScan] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def instances(self) -> int:
        return sum(study.instances for study in self.studies.values())


def _text(dataset: Dataset, keyword: str) -> str:
    return joined(dataset.get(keyword)).strip()[:128]


def _date(dataset: Dataset, *keywords: str) -> dt.date | None:
    for keyword in keywords:
        text = _text(dataset, keyword)
        if len(text) >= 8 and text[:8].isdigit():
            try:
                return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
            except ValueError:
                continue
    return None


def _float(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts):
            yield path


def read_header(path: Path) -> Dataset:
    """The header of one file; InvalidDicomError or another exception when it is not usable DICOM."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError("larger than 2 GiB")
    with warnings.catch_warnings():
        # A hostile or broken file makes pydicom warn per bad value; the skip list says it once.
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path, stop_before_pixels=True)


@dataclass(frozen=True)
class _Instance:
    """What the scan keeps of one file's header: its study and series, and whether it is an image."""

    study: StudyScan
    series: SeriesScan
    sop_instance_uid: str
    is_image: bool


def _instance(header: Dataset) -> _Instance:
    # pydicom converts a value when it is first read, so a damaged value (a wrong length for its
    # VR, say) raises here, where the caller can skip the file, and not halfway through the scan.
    spacing = header.get("PixelSpacing")
    return _Instance(
        study=StudyScan(
            study_instance_uid=_text(header, "StudyInstanceUID"),
            accession=_text(header, "AccessionNumber"),
            patient_id=_text(header, "PatientID"),
            study_date=_date(header, "StudyDate", "SeriesDate", "AcquisitionDate"),
        ),
        series=SeriesScan(
            series_instance_uid=_text(header, "SeriesInstanceUID"),
            modality=_text(header, "Modality"),
            manufacturer=_text(header, "Manufacturer"),
            model=_text(header, "ManufacturerModelName"),
            software_versions=_text(header, "SoftwareVersions"),
            station_name=_text(header, "StationName"),
            protocol_name=_text(header, "ProtocolName"),
            description=_text(header, "SeriesDescription"),
            slice_thickness=_float(header.get("SliceThickness")),
            pixel_spacing=(float(spacing[0]), float(spacing[1])) if spacing and len(spacing) == 2 else None,
            acquisition_date=_date(header, "AcquisitionDate", "SeriesDate", "StudyDate"),
        ),
        sop_instance_uid=_text(header, "SOPInstanceUID"),
        # Headers are read without pixels, so an image is told by the attributes it must have.
        is_image=bool(header.get("Rows")),
    )


def scan_folder(root: Path) -> FolderScan:
    """Group every readable DICOM image under `root` by StudyInstanceUID and SeriesInstanceUID."""
    scan = FolderScan()
    for path in _files(root):
        relative = str(path.relative_to(root))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                instance = _instance(read_header(path))
        except InvalidDicomError:
            scan.skipped.append(Skipped(relative, "not a DICOM file"))
            continue
        except Exception as exc:
            scan.skipped.append(Skipped(relative, f"corrupt DICOM ({type(exc).__name__})"))
            continue
        study_uid, series_uid = instance.study.study_instance_uid, instance.series.series_instance_uid
        if not study_uid or not series_uid or not instance.sop_instance_uid:
            scan.skipped.append(Skipped(relative, "no Study, Series or SOP Instance UID"))
            continue
        if not instance.is_image:
            scan.skipped.append(Skipped(relative, f"not an image ({instance.series.modality or 'no modality'})"))
            continue
        study = scan.studies.setdefault(study_uid, instance.study)
        series = study.series.setdefault(series_uid, instance.series)
        series.files.append(path)
    return scan
