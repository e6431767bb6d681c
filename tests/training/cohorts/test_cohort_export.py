"""Exports: one row per study in JSONL and CSV, the frozen file hash, audit, no-store, flat memory."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import tracemalloc

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from reports.models import AccessEvent, Report, Study
from tests.training.cohorts.conftest import LABELS
from training.models import Cohort, CohortStudy
from training.selectors.cohorts import EXPORT_FIELDS, cohort_export_stream
from training.services.cohorts import COHORT_EXPORT_ACTION, cohort_freeze, cohort_spec_build

pytestmark = pytest.mark.django_db


@pytest.fixture
def cohort(protocol, confirmed, scientist):
    return cohort_freeze(spec=cohort_spec_build(protocol=protocol, data={"name": "export", "seed": 2}), actor=scientist)


def _get(client, cohort, fmt):
    response = client.get(reverse("training:cohort-export", args=[cohort.pk]), {"format": fmt})
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    return response, b"".join(response.streaming_content)


def test_jsonl_has_one_row_per_study_with_every_field(client_for, scientist, cohort, confirmed):
    response, body = _get(client_for(scientist), cohort, "jsonl")
    rows = [json.loads(line) for line in body.decode().splitlines()]
    assert len(rows) == 12
    assert [r["study"] for r in rows] == sorted(s.pk for s in confirmed)
    first = rows[0]
    assert tuple(first) == EXPORT_FIELDS
    assert list(first["labels"]) == list(LABELS)  # the cohort's label order, not the database's
    study = Study.objects.select_related("patient").get(pk=first["study"])
    assert first["accession"] == study.accession
    assert first["patient"] == study.patient.pseudonym
    assert first["text"] == Report.objects.get(study=study).text
    assert first["source"] == dict.fromkeys(LABELS, "confirmed")
    assert first["split"] in ("train", "validation", "test")
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Disposition"] == f'attachment; filename="cohort-{cohort.pk}-v1.jsonl"'


def test_export_files_match_the_sha256_shown_on_the_page(client_for, scientist, cohort):
    client = client_for(scientist)
    page = client.get(reverse("training:cohort-detail", args=[cohort.pk])).content.decode()
    for fmt in ("jsonl", "csv"):
        _, body = _get(client, cohort, fmt)
        digest = hashlib.sha256(body).hexdigest()
        assert digest == cohort.export_sha256[fmt]
        assert digest in page


def test_csv_has_a_header_and_json_label_cells(client_for, scientist, cohort):
    _, body = _get(client_for(scientist), cohort, "csv")
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert len(rows) == 12
    assert tuple(rows[0]) == EXPORT_FIELDS
    assert json.loads(rows[0]["labels"])["Cardiomegaly"] in ("positive", "negative")
    patients = {}
    for row in rows:
        if row["patient"]:
            assert patients.setdefault(row["patient"], row["split"]) == row["split"]


def test_each_export_is_audited_once_without_phi(client_for, scientist, cohort, confirmed):
    before = AccessEvent.objects.filter(action=COHORT_EXPORT_ACTION).count()
    _get(client_for(scientist), cohort, "csv")
    events = AccessEvent.objects.filter(action=COHORT_EXPORT_ACTION)
    assert events.count() == before + 1
    event = events.first()
    assert (event.object_type, event.object_id, event.user) == ("cohort", str(cohort.pk), scientist)
    assert event.detail["format"] == "csv"
    assert event.detail["rows"] == 12
    blob = json.dumps(event.detail)
    assert confirmed[0].accession not in blob


def test_a_revised_report_is_flagged_on_the_page(client_for, scientist, cohort, confirmed):
    Report.objects.filter(study=confirmed[0]).update(text="Revised.", text_sha256="f" * 64)
    page = client_for(scientist).get(reverse("training:cohort-detail", args=[cohort.pk])).content.decode()
    assert "1 report of this cohort were revised" in page


def _studies(protocol, n: int) -> list[Study]:
    studies = Study.objects.bulk_create(
        Study(protocol=protocol, patient=None, accession=f"BIG-{i:06d}", modality="CR") for i in range(n)
    )
    text = "FINDINGS: Lungs are clear. " * 20
    Report.objects.bulk_create((Report(study=s, text=text, text_sha256="0" * 64) for s in studies), batch_size=2000)
    return studies


def _big_cohort(protocol, studies: list[Study]) -> Cohort:
    n = len(studies)
    cohort = Cohort.objects.create(
        protocol=protocol, name=f"big{n}", version=1, labels=list(LABELS), params={}, sha256="0" * 64,
        study_count=n, splits={"train": n}, summary={"labels": {}, "sources": {}},
    )
    value = dict.fromkeys(LABELS, "negative")
    CohortStudy.objects.bulk_create(
        (CohortStudy(cohort=cohort, study=s, group=f"study:{s.pk}", split="train", values=value,
                     targets=dict.fromkeys(LABELS, 0), sources=dict.fromkeys(LABELS, "confirmed"),
                     p=dict.fromkeys(LABELS, 0.0), text_sha256="0" * 64) for s in studies),
        batch_size=2000,
    )
    return cohort


def _peak(cohort: Cohort) -> tuple[int, int]:
    tracemalloc.start()
    size = 0
    # Small chunks keep the test quick; the page uses EXPORT_CHUNK (1,000) the same way.
    for piece in cohort_export_stream(cohort, "jsonl", chunk_size=100):
        size += len(piece)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, size


def test_export_memory_stays_flat_as_the_cohort_grows(protocol, labels):
    studies = _studies(protocol, 4_000)
    small, large = _big_cohort(protocol, studies[:1_000]), _big_cohort(protocol, studies)
    small_peak, small_size = _peak(small)
    large_peak, large_size = _peak(large)
    assert large_size > 3.9 * small_size
    # Four times the rows, about the same peak: a few chunks in flight, never the whole file
    # (4,000 rows here are ~2.6 MB of output).
    assert large_peak < 1.5 * small_peak + 512 * 1024, (small_peak, large_peak)
    assert large_peak < large_size / 5
