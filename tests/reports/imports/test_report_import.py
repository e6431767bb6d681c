"""report_import: all rows or none, re-import semantics, the audit row and job progress."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from annotation.engine.sections import split_sections
from reports.apps import IMPORT_JOB
from reports.models import AccessEvent, AuditAction, Job, JobStatus, Patient, Report, Study
from reports.services.imports import ImportRejected, report_import
from tests.reports.factories import ReportFactory, StudyFactory
from tests.reports.imports.conftest import GOOD_CSV, jsonl

pytestmark = pytest.mark.django_db


def run_import(protocol, path, fmt="csv", **kwargs):
    return report_import(protocol=protocol, path=path, fmt=fmt, actor=None, channel="command", **kwargs)


def test_it_imports_studies_reports_and_patients(protocol, write_file):
    result = run_import(protocol, write_file("r.csv", GOOD_CSV))

    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    studies = {s.accession: s for s in Study.objects.filter(protocol=protocol).select_related("report", "patient")}
    assert set(studies) == {"A1", "A2", "A3"}
    a1 = studies["A1"]
    assert (a1.modality, a1.body_part, a1.study_date, a1.patient.pseudonym) == ("CR", "CHEST", dt.date(2024, 1, 2), "P1")
    assert studies["A2"].patient == a1.patient
    assert Patient.objects.filter(protocol=protocol).count() == 2
    report = a1.report
    assert report.text_sha256 == hashlib.sha256(report.text.encode()).hexdigest()
    assert report.sections == [[s.name, s.start, s.end] for s in split_sections(report.text)]
    assert report.revision == 1
    assert report.signed_at == dt.datetime(2024, 1, 2, 10, tzinfo=dt.UTC)


def test_it_imports_jsonl(protocol, write_file):
    path = write_file("r.jsonl", jsonl({"accession": "J1", "text": "FINDINGS: Clear lungs."}, {"accession": "J2", "text": "x"}))
    assert run_import(protocol, path, "jsonl").created == 2
    assert Report.objects.filter(study__protocol=protocol).count() == 2


def test_it_writes_one_audit_row_without_phi(protocol, curator, write_file):
    report_import(protocol=protocol, path=write_file("r.csv", GOOD_CSV), fmt="csv", actor=curator, channel="page")

    event = AccessEvent.objects.get(action=AuditAction.REPORT_IMPORT)
    assert (event.user, event.protocol, event.channel) == (curator, protocol, "page")
    assert event.detail == {"created": 3, "updated": 0, "unchanged": 0, "format": "csv", "job": None}
    assert "A1" not in str(event.detail)
    assert "P1" not in str(event.detail)


BAD_FILES = {
    "unclosed quote": ("bad.csv", GOOD_CSV + 'A4,P3,CR,CHEST,,,"never closed\n'),
    "wrong column count": ("bad.csv", GOOD_CSV + "A4,P3,CR\n"),
    "missing column": ("bad.csv", "accession,modality\nA1,CR\n"),
    "wrong date": ("bad.csv", GOOD_CSV + "A4,P3,CR,CHEST,2024-31-12,,x\n"),
    "duplicate accession": ("bad.csv", GOOD_CSV + "A2,P3,CR,CHEST,,,again\n"),
    "empty file": ("bad.csv", ""),
    "not utf-8": ("bad.csv", GOOD_CSV.encode() + b"A4,P3,CR,CHEST,,,caf\xe9\n"),
    "missing text": ("bad.csv", GOOD_CSV + "A4,P3,CR,CHEST,,,\n"),
    "bad json line": ("bad.jsonl", jsonl({"accession": "A1", "text": "x"}) + "{not json}\n"),
    "jsonl missing text": ("bad.jsonl", jsonl({"accession": "A1", "text": "x"}, {"accession": "A2"})),
}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_a_bad_file_imports_nothing(protocol, write_file, kind):
    name, content = BAD_FILES[kind]
    fmt = name.rsplit(".", 1)[1]
    existing = ReportFactory(study=StudyFactory(protocol=protocol, accession="A1"), text="old text")

    with pytest.raises(ImportRejected) as rejected:
        run_import(protocol, write_file(name, content), fmt)

    assert rejected.value.errors
    assert all(error.message for error in rejected.value.errors)
    assert list(Study.objects.filter(protocol=protocol)) == [existing.study]
    assert Report.objects.get().text == "old text"
    assert Patient.objects.filter(protocol=protocol).count() == 1  # the factory's own
    assert not AccessEvent.objects.filter(action=AuditAction.REPORT_IMPORT).exists()


def test_a_file_over_the_size_limit_is_refused(protocol, write_file, settings):
    settings.IMPORT_MAX_BYTES = 10
    with pytest.raises(ImportRejected) as rejected:
        run_import(protocol, write_file("r.csv", GOOD_CSV))
    assert "larger than" in rejected.value.errors[0].message
    assert not Study.objects.exists()


def test_reimporting_the_same_file_changes_nothing(protocol, write_file):
    path = write_file("r.csv", GOOD_CSV)
    run_import(protocol, path)
    before = list(Report.objects.values("pk", "text", "revision", "updated_at"))

    result = run_import(protocol, path)

    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert list(Report.objects.values("pk", "text", "revision", "updated_at")) == before


def test_reimporting_changed_text_updates_the_report_and_raises_its_revision(protocol, write_file):
    run_import(protocol, write_file("r.csv", GOOD_CSV))
    changed = GOOD_CSV.replace("No pneumothorax.", "IMPRESSION: Small pneumothorax.")

    result = run_import(protocol, write_file("r2.csv", changed))

    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    report = Report.objects.get(study__accession="A2")
    assert report.text == "FINDINGS: IMPRESSION: Small pneumothorax."
    assert report.revision == 2
    assert report.text_sha256 == hashlib.sha256(report.text.encode()).hexdigest()
    assert report.sections == [[s.name, s.start, s.end] for s in split_sections(report.text)]
    assert Report.objects.get(study__accession="A1").revision == 1


def test_reimporting_changed_metadata_updates_the_study_not_the_revision(protocol, write_file):
    run_import(protocol, write_file("r.csv", GOOD_CSV))

    result = run_import(protocol, write_file("r2.csv", "accession,text,modality,patient\nA3,IMPRESSION: No acute hemorrhage.,MR,P9\n"))

    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    study = Study.objects.select_related("report", "patient").get(accession="A3")
    assert (study.modality, study.patient.pseudonym, study.body_part) == ("MR", "P9", "HEAD")  # body_part not sent: kept
    assert study.report.revision == 1


def test_an_empty_cell_clears_a_stored_value(protocol, write_file):
    run_import(protocol, write_file("r.csv", GOOD_CSV))
    run_import(protocol, write_file("r2.csv", "accession,text,modality\nA3,IMPRESSION: No acute hemorrhage.,\n"))
    assert Study.objects.get(accession="A3").modality == ""


def test_the_same_accession_in_another_protocol_is_another_study(protocol, other_protocol, write_file):
    path = write_file("r.csv", GOOD_CSV)
    run_import(protocol, path)
    assert run_import(other_protocol, path).created == 3
    assert Study.objects.filter(accession="A1").count() == 2


def test_a_study_without_a_report_gets_one(protocol, write_file):
    study = StudyFactory(protocol=protocol, accession="A1", modality="CR")
    result = run_import(protocol, write_file("r.jsonl", jsonl({"accession": "A1", "text": "FINDINGS: x"})), "jsonl")
    assert result.created == 1
    assert Report.objects.get().study == study


def test_it_reports_progress_to_the_job(protocol, curator, write_file):
    job = Job.objects.create(kind=IMPORT_JOB, protocol=protocol, created_by=curator, status=JobStatus.RUNNING)
    run_import(protocol, write_file("r.csv", GOOD_CSV), job=job)
    job.refresh_from_db()
    assert (job.done, job.total) == (3, 3)
    assert job.message == "Writing reports: 3 of 3"
    assert AccessEvent.objects.get(action=AuditAction.REPORT_IMPORT).detail["job"] == job.pk


def test_it_imports_across_several_batches(protocol, write_file, monkeypatch):
    monkeypatch.setattr("reports.services.imports.BATCH_SIZE", 7)
    content = "accession,patient,text\n" + "".join(f"A{i},P{i % 5},FINDINGS: report {i}\n" for i in range(30))
    assert run_import(protocol, write_file("r.csv", content)).created == 30
    assert Study.objects.filter(protocol=protocol, patient__isnull=False).count() == 30
    assert Patient.objects.filter(protocol=protocol).count() == 5
