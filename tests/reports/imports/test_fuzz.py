"""Hostile files (SECURITY.md promise 12): random and mutated bytes give validation errors only.

A seeded, dependency-free fuzzer: every input either imports or is rejected with row errors;
nothing else is raised, nothing is half-written, and no input takes more than two seconds.
"""
from __future__ import annotations

import io
import random
import time

import pytest

from reports.importers.parse import RowError, check_file
from reports.models import Study
from reports.services.imports import ImportRejected, report_import
from tests.reports.imports.conftest import GOOD_CSV, jsonl

GOOD = {
    "csv": GOOD_CSV.encode(),
    "jsonl": jsonl(
        {"accession": "J1", "text": "FINDINGS: x", "study_date": "2024-01-01", "signed_at": "2024-01-01T08:00Z"},
        {"accession": "J2", "text": "IMPRESSION: y", "patient": "P1", "study_instance_uid": "1.2.3"},
    ).encode(),
}
NASTY = [b'"', b",", b"\n", b"\r", b"\x00", b"\xff", b"\xef\xbb\xbf", b"{", b"}", b"[", b'\\ud800', b"\\u0000",
         b"9" * 5000, b"\xe2\x80", b"2024-02-30", b"'", b"\t", b"accession", b"text", b"null", b"1e999"]


def mutate(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        choice = rng.random()
        pos = rng.randrange(len(out) + 1)
        if choice < 0.3:
            out[pos:pos] = rng.choice(NASTY)
        elif choice < 0.5 and out:
            del out[pos : pos + rng.randint(1, 20)]
        elif choice < 0.7 and out:
            out[min(pos, len(out) - 1)] = rng.randrange(256)
        elif choice < 0.85:
            out[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 30)))
        else:
            out = out[:pos]
    return bytes(out)


def inputs(count: int, seed: int):
    rng = random.Random(seed)
    for i in range(count):
        fmt = rng.choice(["csv", "jsonl"])
        if i % 5 == 0:
            data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 400)))
        else:
            data = mutate(rng, GOOD[fmt])
        yield fmt, data


@pytest.mark.parametrize("seed", range(4))
def test_the_parser_only_ever_answers_rows_or_row_errors(seed):
    for fmt, data in inputs(250, seed):
        started = time.perf_counter()
        result = check_file(io.BytesIO(data), fmt)
        assert time.perf_counter() - started < 2
        assert all(isinstance(error, RowError) and error.message for error in result.errors)
        assert result.ok == (result.rows > 0 and not result.errors)


@pytest.mark.django_db
def test_the_service_imports_or_rejects_and_never_half_writes(protocol, write_file):
    for n, (fmt, data) in enumerate(inputs(60, 99)):
        path = write_file(f"fuzz{n}.{fmt}", data)
        before = Study.objects.count()
        # Random input may be imported or refused: both are right, a half-write never is.
        errors: list[RowError] | None = None
        try:
            result = report_import(protocol=protocol, path=path, fmt=fmt, actor=None, channel="command")
        except ImportRejected as rejected:
            errors = rejected.errors
        if errors is not None:
            assert errors
            assert Study.objects.count() == before
        else:
            assert Study.objects.count() == before + result.created


def test_a_huge_line_is_refused_without_reading_it_whole():
    result = check_file(io.BytesIO(b"accession,text\nA1," + b"x" * (2 * 1024 * 1024) + b"\n"), "csv")
    assert [(e.line, e.message) for e in result.errors] == [(2, "The line is longer than 1,048,576 bytes.")]


def test_a_long_report_text_is_refused():
    text = "y" * 100_001
    result = check_file(io.BytesIO(jsonl({"accession": "A1", "text": text}).encode()), "jsonl")
    assert [(e.line, e.field) for e in result.errors] == [(1, "text")]

