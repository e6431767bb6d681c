"""Optional import columns manufacturer, model, software_version and station land on the study."""
from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from reports.importers.parse import ReportReader, ReportRow
from reports.models import Study
from reports.services.imports import report_import
from tests.reports.factories import UserFactory

pytestmark = pytest.mark.django_db

CSV = (
    "accession,text,Manufacturer,model,software_version,station\n"
    "SC1,FINDINGS: clear.,Acme,X1,VA10,ST1\n"
    "SC2,FINDINGS: clear.,Acme,X1,VB20,\n"
)


def test_the_reader_maps_model_to_scanner_model_and_records_presence():
    rows = [row for row in ReportReader(io.BytesIO(CSV.encode()), "csv") if isinstance(row, ReportRow)]
    assert [(r.manufacturer, r.scanner_model, r.software_version, r.station) for r in rows] == [
        ("Acme", "X1", "VA10", "ST1"), ("Acme", "X1", "VB20", ""),
    ]
    assert {"manufacturer", "scanner_model", "software_version", "station"} <= rows[0].present


def test_an_overlong_software_version_is_named_by_line_and_column():
    bad = "accession,text,software_version\nSC1,x," + "9" * 65 + "\n"
    errors = [item for item in ReportReader(io.BytesIO(bad.encode()), "csv") if not isinstance(item, ReportRow)]
    assert [(e.line, e.field) for e in errors] == [(2, "software_version")]


def test_import_stores_the_equipment_and_a_file_without_the_columns_keeps_it(protocol, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(CSV)
    report_import(protocol=protocol, path=path, fmt="csv", actor=UserFactory(), channel="command")
    study = Study.objects.get(accession="SC2")
    assert (study.manufacturer, study.scanner_model, study.software_version, study.station) == ("Acme", "X1", "VB20", "")
    path.write_text("accession,text\nSC2,FINDINGS: changed.\n")
    report_import(protocol=protocol, path=path, fmt="csv", actor=UserFactory(), channel="command")
    study.refresh_from_db()
    assert study.software_version == "VB20"


def test_bench_monitoring_prints_delay_and_false_alarms():
    out = io.StringIO()
    call_command("bench_monitoring", "--runs", "2", "--stable", "10000", stdout=out)
    text = out.getvalue()
    assert "median delay" in text
    assert "false alarms/10k" in text
    assert text.count("validation") >= 5
