"""How a relabel batch is written: a fixed number of statements, the same rows on every vendor.

PostgreSQL (CI) writes a batch with unnest() arrays (services.relabel._write_postgresql), other
vendors (SQLite on laptops) with the ORM's bulk statements (_write_generic); both must leave the
same soft labels, counts and informativeness.
"""
from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.models import Phrase, SoftLabel
from annotation.services import relabel
from annotation.services.relabel import relabel_protocol
from reports.models import Study

pytestmark = pytest.mark.django_db

TEXTS = [
    "FINDINGS: Acute subdural hematoma over the left convexity. There is no midline shift.",
    "FINDINGS: There is 4 mm midline shift to the right.",
    "FINDINGS: Normal CT of the head.",
    "FINDINGS: Possible small bleed. No hematoma.",
    "FINDINGS: Large hemorrhage with midline shift.",
]


def _scenario(protocol, make_report, copies: int = 1) -> tuple[list[dict], list, list]:
    """New rows, then a forced pass with changed, unchanged and removed rows; return counts and state."""
    reports = [make_report(protocol, text) for text in TEXTS * copies]
    counts = [relabel_protocol(protocol=protocol, batch_size=100)]
    stored = SoftLabel.objects.filter(report__study__protocol=protocol)
    counts[0]["shift_rows"] = stored.filter(label__name="Midline Shift").count()
    counts[0]["rows"] = stored.count()
    phrases = Phrase.objects.filter(label__schema=protocol.label_schema)
    phrases.filter(text="hematoma").update(precision=0.6)  # p moves: rewritten rows
    phrases.filter(text="midline shift").update(enabled=False)  # Midline Shift goes: removed rows
    reports[0].text = "FINDINGS: Possible hematoma."  # a changed value
    reports[0].save()
    counts.append(relabel_protocol(protocol=protocol, batch_size=100, force=True))
    counts.append(relabel_protocol(protocol=protocol, batch_size=100, force=True))  # nothing changes now
    rows = sorted(
        SoftLabel.objects.filter(report__study__protocol=protocol).values_list(
            "report__text", "report_id", "label__name", "value", "p", "evidence", "engine_version", "phrase_set_hash"
        )
    )
    scores = sorted(Study.objects.filter(protocol=protocol).values_list("pk", "informativeness"))
    keys = ("reports", "written", "unchanged", "removed", "shift_rows", "rows")
    return [{k: c[k] for k in keys if k in c} for c in counts], rows, scores


def test_a_mixed_batch_counts_and_stores_what_it_read(ct_protocol, make_report):
    counts, rows, _ = _scenario(ct_protocol, make_report)

    first = counts[0]
    assert (first["reports"], first["written"], first["unchanged"], first["removed"]) == (5, first["rows"], 0, 0)
    assert first["shift_rows"] >= 2
    assert counts[1]["reports"] == 5
    assert counts[1]["removed"] == first["shift_rows"]  # every Midline Shift label
    assert counts[1]["written"] >= 1  # at least the edited report
    # A second forced pass finds every row as the first left it.
    assert counts[2] == {"reports": 5, "written": 0, "unchanged": counts[1]["written"] + counts[1]["unchanged"], "removed": 0}
    assert {name for _, _, name, *_ in rows} == {"Hemorrhage"}
    assert {text: value for text, _, _, value, *_ in rows}["FINDINGS: Possible hematoma."] == "uncertain"


def _statements_per_relabel(protocol, make_report, copies: int) -> list[int]:
    reports = [make_report(protocol, text) for text in TEXTS * copies]
    per_run = []
    for force in (False, True):
        with CaptureQueriesContext(connection) as ctx:
            relabel_protocol(protocol=protocol, batch_size=1000, force=force)
        per_run.append(len(ctx.captured_queries))
    Study.objects.filter(pk__in=[r.study_id for r in reports]).delete()
    return per_run


def test_a_batch_is_a_fixed_number_of_statements_whatever_its_size(ct_protocol, make_report):
    # 5 and 100 reports in one batch: no statement per row or per study.
    assert _statements_per_relabel(ct_protocol, make_report, 1) == _statements_per_relabel(ct_protocol, make_report, 20)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL-only write path (CI runs on PostgreSQL)")
def test_the_postgresql_path_writes_what_the_generic_path_writes(ct_protocol, make_report, monkeypatch):
    native = _scenario(ct_protocol, make_report)
    Study.objects.filter(protocol=ct_protocol).delete()
    Phrase.objects.update(precision=None, enabled=True)

    monkeypatch.setattr(relabel, "_write_postgresql", relabel._write_generic)
    generic = _scenario(ct_protocol, make_report)

    def by_text(rows: list) -> list:  # the second run's reports have other ids
        return sorted((row[0], *row[2:]) for row in rows)

    assert native[0] == generic[0]
    assert by_text(native[1]) == by_text(generic[1])
    assert [score for _, score in native[2]] == [score for _, score in generic[2]]


def test_stored_evidence_text_is_compared_exactly_whatever_its_printing():
    evidence = [{"start": 0, "end": 8, "phrase": "hématome \"x\"", "modifiers": ["NEGATED_EXISTENCE"], "section": None}]

    assert relabel._same_evidence(relabel._jsonb_text(evidence), evidence)
    assert relabel._same_evidence('[{"start":0,"end":8,"phrase":"h\\u00e9matome \\"x\\"",'
                                  '"modifiers":["NEGATED_EXISTENCE"],"section":null}]', evidence)  # decoded, then equal
    assert not relabel._same_evidence(relabel._jsonb_text([{**evidence[0], "end": 9}]), evidence)
    assert relabel._same_evidence(evidence, evidence)  # SQLite hands back decoded JSON


@pytest.mark.skipif(connection.vendor != "postgresql", reason="jsonb printing (CI runs on PostgreSQL)")
def test_jsonb_prints_stored_evidence_as_the_comparison_expects(ct_protocol, make_report):
    for text in TEXTS:
        make_report(ct_protocol, text)
    relabel_protocol(protocol=ct_protocol)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT evidence::text, evidence FROM {SoftLabel._meta.db_table}")
        printed = cursor.fetchall()

    assert printed
    assert all(text == relabel._jsonb_text(json.loads(raw)) for text, raw in printed)  # the fast path, not json.loads
