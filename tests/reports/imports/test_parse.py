"""The parsing core, without a database: every kind of bad file gives line-numbered errors."""
from __future__ import annotations

import datetime as dt
import io

import pytest

from reports.importers.parse import (
    MAX_ERRORS,
    FormatError,
    ReportRow,
    RowError,
    check_file,
    detect_format,
    iter_valid_rows,
)
from tests.reports.imports.conftest import GOOD_CSV, jsonl


def check(content: str | bytes, fmt: str = "csv"):
    data = content.encode("utf-8") if isinstance(content, str) else content
    return check_file(io.BytesIO(data), fmt)


def rows(content: str, fmt: str = "csv") -> list[ReportRow]:
    return list(iter_valid_rows(io.BytesIO(content.encode("utf-8")), fmt))


def only_error(content: str | bytes, fmt: str = "csv") -> RowError:
    result = check(content, fmt)
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


def test_it_reads_a_good_csv_with_multiline_text():
    parsed = rows(GOOD_CSV)
    assert [r.accession for r in parsed] == ["A1", "A2", "A3"]
    assert [r.line for r in parsed] == [2, 5, 6]  # A1's quoted text spans lines 2-4
    assert parsed[0].text == "FINDINGS: Small left pleural effusion.\n\nIMPRESSION: Effusion."
    assert parsed[0].study_date == dt.date(2024, 1, 2)
    assert parsed[0].signed_at == dt.datetime(2024, 1, 2, 10, tzinfo=dt.UTC)
    assert parsed[2].study_date is None
    assert check(GOOD_CSV).rows == 3


def test_it_reads_jsonl_and_skips_blank_lines():
    content = jsonl({"accession": "A1", "text": "x"}) + "\n   \n" + jsonl({"accession": 42, "text": "y", "other": 1})
    parsed = rows(content, "jsonl")
    assert [(r.line, r.accession) for r in parsed] == [(1, "A1"), (4, "42")]


def test_it_accepts_a_utf8_bom_and_header_case():
    parsed = rows("\ufeffAccession, TEXT \nA1,Befund: Erguss ä\n")
    assert parsed[0].accession == "A1"
    assert parsed[0].text == "Befund: Erguss ä"


def test_it_records_which_optional_columns_were_present():
    parsed = rows("accession,text,modality\nA1,x,CR\n")
    assert parsed[0].present == frozenset({"modality"})


def test_naive_signed_at_is_read_in_the_given_time_zone():
    tz = dt.timezone(dt.timedelta(hours=2))
    parsed = list(iter_valid_rows(io.BytesIO(b"accession,text,signed_at\nA1,x,2024-05-01 08:30\n"), "csv", tz=tz))
    assert parsed[0].signed_at == dt.datetime(2024, 5, 1, 6, 30, tzinfo=dt.UTC)


def test_unknown_csv_columns_are_ignored_with_a_warning():
    result = check("accession,text,mrn\nA1,x,123\n")
    assert result.ok
    assert result.warnings == ["1 unknown column(s) ignored: mrn."]


@pytest.mark.parametrize(
    ("content", "line", "field", "words"),
    [
        ("", None, "", "empty"),
        ("\n\n", None, "", "no header"),
        ("accession,text\n", None, "", "no reports"),
        ("accession,modality\nA1,CR\n", 1, "text", "Missing required column"),
        ("text\nx\n", 1, "accession", "Missing required column"),
        ("accession,text,text\nA1,x,y\n", 1, "text", "twice"),
        ('accession,text\nA1,"unclosed\nmore text\n', 2, "", "never closed"),
        ("accession,text\nA1,x,extra\n", 2, "", "Expected 2 columns"),
        ("accession,text\nA1\n", 2, "", "Expected 2 columns"),
        ("accession,text\n,x\n", 2, "accession", "missing"),
        ("accession,text\nA1,   \n", 2, "text", "missing"),
        ("accession,text,study_date\nA1,x,01/02/2024\n", 2, "study_date", "YYYY-MM-DD"),
        ("accession,text,study_date\nA1,x,2024-02-30\n", 2, "study_date", "calendar"),
        ("accession,text,study_date\nA1,x,1066-10-14\n", 2, "study_date", "between"),
        ("accession,text,signed_at\nA1,x,yesterday\n", 2, "signed_at", "ISO 8601"),
        ("accession,text,signed_at\nA1,x,2024-01-01T25:00\n", 2, "signed_at", "ISO 8601"),
        ("accession,text,modality\nA1,x,ABCDEFGHIJKLMNOPQ\n", 2, "modality", "16"),
        (f"accession,text\n{'A' * 65},x\n", 2, "accession", "64"),
        ("accession,text,study_instance_uid\nA1,x,1.2.abc\n", 2, "study_instance_uid", "DICOM UID"),
        ("accession,text\nA1,x\nA2,y\nA1,z\n", 4, "accession", "already on line 2"),
        ("accession,text\nA1,x\x00y\n", 2, "text", "NUL"),
    ],
)
def test_bad_csv_is_reported_by_line_and_field(content, line, field, words):
    error = only_error(content)
    assert (error.line, error.field) == (line, field)
    assert words in error.message


@pytest.mark.parametrize(
    ("content", "line", "field", "words"),
    [
        (b"", None, "", "empty"),
        (b'{"accession": "A1", "text": "x"}\n{"accession": "A2", "text": \n', 2, "", "Not valid JSON"),
        (b'["A1", "x"]\n', 1, "", "JSON object"),
        (b'{"accession": "A1"}\n', 1, "text", "missing"),
        (b'{"accession": "A1", "text": 5}\n', 1, "text", "string"),
        (b'{"accession": true, "text": "x"}\n', 1, "accession", "string"),
        (b'{"accession": "A1", "text": "\\ud800"}\n', 1, "text", "surrogate"),
        (b"[" * 100_000 + b"\n", 1, "", "Not valid JSON"),
        (b'{"accession": "A1", "text": "x", "study_date": "2024-13-01"}\n', 1, "study_date", "calendar"),
    ],
)
def test_bad_jsonl_is_reported_by_line_and_field(content, line, field, words):
    error = only_error(content, "jsonl")
    assert (error.line, error.field) == (line, field)
    assert words in error.message


def test_non_utf8_is_reported_on_its_line():
    error = only_error(b"accession,text\nA1,ok\nA2,caf\xe9\n")
    assert error.line == 3
    assert "UTF-8" in error.message


def test_errors_never_repeat_the_value():
    result = check("accession,text,study_date\nSECRET-ACC,x,\nSECRET-ACC,y,\nA2,z,SECRET-DATE\n")
    assert len(result.errors) == 2
    assert all("SECRET" not in str(error) for error in result.errors)


def test_it_stops_after_max_errors():
    content = "accession,text\n" + ",x\n" * (MAX_ERRORS * 3)
    result = check(content)
    assert len(result.errors) == MAX_ERRORS + 1
    assert result.errors[-1].message == f"Stopped after {MAX_ERRORS} problems."


def test_it_collects_errors_from_several_rows():
    result = check("accession,text,study_date\nA1,x,bad\nA2,,\nA3,z,2024-01-01\n")
    assert [(e.line, e.field) for e in result.errors] == [(2, "study_date"), (3, "text")]
    assert result.rows == 1


@pytest.mark.parametrize(
    ("filename", "explicit", "expected"),
    [("a.csv", None, "csv"), ("A.JSONL", None, "jsonl"), ("a.ndjson", None, "jsonl"), ("a.txt", "csv", "csv"),
     (None, "ndjson", "jsonl")],
)
def test_detect_format(filename, explicit, expected):
    assert detect_format(filename, explicit) == expected


@pytest.mark.parametrize(("filename", "explicit"), [("a.txt", None), (None, None), ("a.csv", "xml"), ("csv", None)])
def test_detect_format_refuses_the_unknown(filename, explicit):
    with pytest.raises(FormatError):
        detect_format(filename, explicit)
