"""Reads of cohorts: lists, access, the summary table and chart, and the streamed export rows."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import F, QuerySet
from django.http import Http404

from annotation.permissions import EXPORT_ROLES, can_export
from reports.models import Protocol
from training.models import Cohort, CohortStudy, CohortVolume, Split

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser

# The cohort roles are annotation's EXPORT_ROLES: building a cohort takes labels out of the app.
COHORT_ROLES: tuple[str, ...] = EXPORT_ROLES
EXPORT_FIELDS = ("study", "accession", "patient", "split", "labels", "targets", "source", "p", "text")
# The NIfTI manifest: opaque ids and pseudonymised UIDs only, then the label vector (CSV: a column
# per label, in cohort.labels order).
MANIFEST_FIELDS = ("study", "series_uid", "path", "split", "sha256")
EXPORT_CHUNK = 1000
SPLITS = tuple(Split.values)


# --- access ---


def cohorts_for_protocol(*, protocol: Protocol) -> QuerySet[Cohort]:
    """The protocol's cohorts, newest version first per name, without their big JSON fields."""
    return (
        Cohort.objects.filter(protocol=protocol)
        .select_related("created_by")
        .defer("params", "summary", "labels")
        .order_by("name", "-version")
    )


def cohorts_for_user(*, user: AnyUser, protocol_id: int | None = None) -> QuerySet[Cohort]:
    """Cohorts of every protocol the user may build cohorts on (optionally one of them)."""
    qs = Cohort.objects.filter(protocol__in=Protocol.objects.visible_to(user, COHORT_ROLES))
    if protocol_id is not None:
        qs = qs.filter(protocol__pk=protocol_id)  # range-checked: an id past 64 bits finds nothing
    return qs.select_related("created_by").defer("summary").order_by("protocol_id", "name", "-version")


def get_cohort_for_user(user: AnyUser, cohort_id: int) -> Cohort:
    """The cohort if the user builds cohorts on its protocol today.

    Not on the protocol: 404 (it does not exist for them); on it in another role: 403.
    """
    cohort = (
        Cohort.objects.filter(pk=cohort_id, protocol__in=Protocol.objects.visible_to(user))
        .select_related("protocol", "created_by")
        .first()
    )
    if cohort is None:
        raise Http404("No such cohort")
    if not can_export(user, cohort.protocol):
        raise PermissionDenied("Cohorts are for the protocol's data scientists.")
    return cohort


# --- summary table and chart ---


@dataclass(frozen=True)
class SummaryRow:
    label: str
    value: str
    counts: tuple[int, ...]  # per split, in SPLITS order
    total: int


def cohort_summary_rows(cohort: Cohort) -> list[SummaryRow]:
    """One row per (label, value) in the cohort: counts per split and in all."""
    rows = []
    for label in cohort.labels:
        for value, per_split in cohort.summary["labels"].get(label, {}).items():
            counts = tuple(int(per_split.get(split, 0)) for split in SPLITS)
            rows.append(SummaryRow(label=label, value=value, counts=counts, total=sum(counts)))
    return rows


VALUE_COLOURS = {"positive": "#b2182b", "negative": "#2166ac", "uncertain": "#8c6d00", "absent": "#5f6368"}


def cohort_chart(cohort: Cohort, *, width: int = 640, bar: int = 7) -> dict[str, Any]:
    """Geometry of a server-side SVG: per label, one stacked bar per split (train, validation,
    test), each value a segment as a share of that split's studies.

    Plain numbers for the template (no JS). Bars of one label side by side show at a glance
    whether the splits are stratified alike.
    """
    left, right, gap = 200, 20, 10
    plot = width - left - right
    totals = {split: max(int(cohort.splits.get(split, 0)), 1) for split in SPLITS}
    group = len(SPLITS) * (bar + 1)
    rows = []
    for index, label in enumerate(cohort.labels):
        y = 10 + index * (group + gap)
        values = cohort.summary["labels"].get(label, {})
        bars = []
        for position, split in enumerate(SPLITS):
            x = float(left)
            segments = []
            for value, per_split in values.items():
                count = int(per_split.get(split, 0))
                w = plot * count / totals[split]
                segments.append({"x": round(x, 2), "w": round(w, 2), "value": value, "count": count,
                                 "colour": VALUE_COLOURS.get(value, "#444444")})
                x += w
            bars.append({"split": split, "y": y + position * (bar + 1), "segments": segments})
        rows.append({"label": label, "text_y": y + group // 2 + 4, "bars": bars})
    height = 20 + len(rows) * (group + gap)
    return {"width": width, "height": height, "bar": bar, "left": left, "rows": rows,
            "legend": list(VALUE_COLOURS.items()), "splits": SPLITS}


# --- export ---


def export_record(
    *,
    study_id: int,
    accession: str,
    patient: str | None,
    split: str,
    labels: Sequence[str],
    values: Mapping[str, Any],
    targets: Mapping[str, Any],
    sources: Mapping[str, Any],
    p: Mapping[str, Any],
    text: str | None,
) -> dict[str, Any]:
    """One export row; label maps in the cohort's label order (JSON columns lose key order)."""
    return {
        "study": study_id,
        "accession": accession,
        "patient": patient,
        "split": split,
        "labels": {name: values[name] for name in labels},
        "targets": {name: targets[name] for name in labels},
        "source": {name: sources[name] for name in labels},
        "p": {name: p[name] for name in labels},
        "text": text or "",
    }


def _jsonl(record: Mapping[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def _csv_row(cells: Sequence[Any]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue().encode()


def _csv(record: Mapping[str, Any]) -> bytes:
    cells = [
        json.dumps(record[key], ensure_ascii=False, separators=(",", ":")) if isinstance(record[key], dict)
        else ("" if record[key] is None else record[key])
        for key in EXPORT_FIELDS
    ]
    return _csv_row(cells)


def _manifest_csv(record: Mapping[str, Any]) -> bytes:
    targets = ["" if target is None else target for target in record["labels"]]
    return _csv_row([*(record[key] for key in MANIFEST_FIELDS), *targets])


@dataclass(frozen=True)
class ExportFormat:
    content_type: str
    extension: str
    line: Callable[[Mapping[str, Any]], bytes]
    header: Callable[[Sequence[str]], bytes]
    name_suffix: str = ""  # in the download's file name, after the cohort's version


# Frozen with the cohort: their file SHA-256s are in Cohort.export_sha256.
EXPORT_FORMATS: dict[str, ExportFormat] = {
    "jsonl": ExportFormat("application/x-ndjson; charset=utf-8", "jsonl", _jsonl, lambda labels: b""),
    "csv": ExportFormat("text/csv; charset=utf-8", "csv", _csv, lambda labels: _csv_row(EXPORT_FIELDS)),
}
# Made later, from the volumes converted so far (training.services.cohort_images): no frozen hash.
MANIFEST_FORMATS: dict[str, ExportFormat] = {
    "nifti-manifest": ExportFormat("application/x-ndjson; charset=utf-8", "jsonl", _jsonl, lambda labels: b"", "-nifti"),
    "nifti-manifest-csv": ExportFormat(
        "text/csv; charset=utf-8", "csv", _manifest_csv, lambda labels: _csv_row([*MANIFEST_FIELDS, *labels]), "-nifti"
    ),
}
ALL_EXPORT_FORMATS: dict[str, ExportFormat] = {**EXPORT_FORMATS, **MANIFEST_FORMATS}


def export_line(fmt: str, record: Mapping[str, Any]) -> bytes:
    return EXPORT_FORMATS[fmt].line(record)


def cohort_export_records(cohort: Cohort, *, chunk_size: int = EXPORT_CHUNK) -> Iterator[dict[str, Any]]:
    """Every row of the cohort with its study's accession, patient and report text, by study id.

    One server-side cursor (PostgreSQL) read `chunk_size` rows at a time: memory stays flat
    whatever the cohort's size. The caller has checked access and audits the export.
    """
    labels = list(cohort.labels)
    rows = (
        CohortStudy.objects.filter(cohort=cohort)
        .order_by("study_id")
        .values_list(
            "study_id", "study__accession", "study__patient__pseudonym", "split", "values", "targets", "sources", "p",
            "study__report__text",
        )
        .iterator(chunk_size=chunk_size)
    )
    for study_id, accession, patient, split, values, targets, sources, p, text in rows:
        yield export_record(
            study_id=study_id, accession=accession, patient=patient, split=split, labels=labels, values=values,
            targets=targets, sources=sources, p=p, text=text,
        )


def cohort_manifest_records(cohort: Cohort, *, chunk_size: int = EXPORT_CHUNK) -> Iterator[dict[str, Any]]:
    """One row per study with a NIfTI volume, by study id: path (relative to the protocol's storage
    folder), label vector (targets in cohort.labels order, None for no target), split, the file's
    SHA-256, the study id and the (remapped) series UID. No accession, patient or text.
    """
    labels = list(cohort.labels)
    volumes = {
        study_id: (series_uid, relpath, sha256)
        for study_id, series_uid, relpath, sha256 in CohortVolume.objects.filter(cohort=cohort).values_list(
            "study_id", "series__series_instance_uid", "relpath", "sha256"
        )
    }
    rows = (
        CohortStudy.objects.filter(cohort=cohort)
        .order_by("study_id")
        .values_list("study_id", "split", "targets")
        .iterator(chunk_size=chunk_size)
    )
    for study_id, split, targets in rows:
        # Filtered here, not with `study_id IN (...)`: a large cohort would pass SQLite's limit.
        if study_id not in volumes:
            continue
        series_uid, relpath, sha256 = volumes[study_id]
        yield {
            "study": study_id, "series_uid": series_uid, "path": relpath, "split": split,
            "labels": [targets.get(name) for name in labels], "sha256": sha256,
        }


def cohort_export_stream(cohort: Cohort, fmt: str, *, chunk_size: int = EXPORT_CHUNK) -> Iterator[bytes]:
    """The export file's bytes, a few hundred rows per piece (one piece per yield is too chatty)."""
    spec = ALL_EXPORT_FORMATS[fmt]
    header = spec.header(cohort.labels)
    if header:
        yield header
    records = cohort_manifest_records if fmt in MANIFEST_FORMATS else cohort_export_records
    pieces: list[bytes] = []
    for record in records(cohort, chunk_size=chunk_size):
        pieces.append(spec.line(record))
        if len(pieces) >= 200:
            yield b"".join(pieces)
            pieces = []
    if pieces:
        yield b"".join(pieces)


def cohort_revised_reports(cohort: Cohort) -> int:
    """How many of the cohort's reports were revised since it was frozen (one query).

    The export carries the current text, so its file SHA-256 then differs from the frozen one.
    """
    return (
        CohortStudy.objects.filter(cohort=cohort)
        .exclude(text_sha256=F("study__report__text_sha256"))
        .count()
    )
