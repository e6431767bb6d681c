"""The protocol's word index: which reports hold a word, without reading any report text.

The phrase preview needs two things from the corpus: the reports that contain some words, and the
distinct words of the protocol (for the spelling check). Reading 100,000 texts for either costs
seconds, so each report's *terms* are kept (services/report_terms.py keeps them current) and
inverted into per-term postings: sorted report ids, packed as little-endian int64.

A report's terms are every maximal run of ASCII letters of its lower-cased text, every maximal
run of letters and digits that holds a digit, and the lower-cased letter runs of 5+ letters of
the text as written (what the spelling corrector reads). The index answers for the reports it
holds as of their `updated_at` and text hash; reports added, changed or moved since are *outdated*
and their terms are computed from their text on the fly, so an answer is never stale.
"""
from __future__ import annotations

import re
import sys
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection

from annotation.models import ReportTerms, TermPostings
from reports.models import Protocol, Report, Study

_LETTERS_RE = re.compile(r"[a-z]+")
_ALNUM_RE = re.compile(r"[a-z0-9]+")
_SPELLER_RE = re.compile(r"[A-Za-z]{5,}")


def text_terms(text: str) -> set[str]:
    """The terms of one report text (see the module docstring)."""
    lowered = text.lower()
    terms = set(_LETTERS_RE.findall(lowered))
    terms.update(run for run in _ALNUM_RE.findall(lowered) if not run.isalpha())
    terms.update(word.lower() for word in _SPELLER_RE.findall(text))
    return terms


def pack_ids(ids: Iterable[int]) -> bytes:
    packed = array("q", sorted(ids))
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tobytes()


def unpack_ids(blob: bytes | memoryview) -> array[int]:
    ids = array("q")
    ids.frombytes(bytes(blob))
    if sys.byteorder != "little":
        ids.byteswap()
    return ids


@dataclass
class OutdatedReports:
    """Reports of a protocol that its index rows do not hold as they are now."""

    changed: list[int] = field(default_factory=list)  # in the protocol, not indexed as they are now
    gone: list[int] = field(default_factory=list)  # indexed for the protocol, no longer in it


def changed_report_ids(protocol: Protocol) -> list[int]:
    """The protocol's reports that are not indexed as they are now (added, edited or moved in)."""
    report, study, terms = Report._meta.db_table, Study._meta.db_table, ReportTerms._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT r.id FROM {report} r JOIN {study} s ON s.id = r.study_id "
            f"LEFT JOIN {terms} t ON t.report_id = r.id AND t.protocol_id = s.protocol_id "
            "WHERE s.protocol_id = %s AND (t.id IS NULL "
            "OR t.report_updated_at <> r.updated_at OR t.text_sha256 <> r.text_sha256) ORDER BY r.id",
            [protocol.pk],
        )
        return [row[0] for row in cursor.fetchall()]


def outdated_reports(protocol: Protocol) -> OutdatedReports:
    """The changed reports, and the indexed ones that are no longer the protocol's (deleted or moved out)."""
    report, study, terms = Report._meta.db_table, Study._meta.db_table, ReportTerms._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.report_id FROM {terms} t WHERE t.protocol_id = %s AND NOT EXISTS ("
            f"SELECT 1 FROM {report} r JOIN {study} s ON s.id = r.study_id "
            "WHERE r.id = t.report_id AND s.protocol_id = %s) ORDER BY t.report_id",
            [protocol.pk, protocol.pk],
        )
        gone = [row[0] for row in cursor.fetchall()]
    return OutdatedReports(changed=changed_report_ids(protocol), gone=gone)


def indexed_vocabulary(protocol: Protocol) -> list[str]:
    """Every term the protocol's index holds (of current reports, and of outdated ones as indexed)."""
    return list(TermPostings.objects.filter(protocol=protocol).values_list("term", flat=True))


def indexed_postings(protocol: Protocol, terms: Iterable[str]) -> dict[str, array[int]]:
    """The indexed report ids of each of `terms` the index holds."""
    wanted = sorted(set(terms))
    found: dict[str, array[int]] = {}
    for start in range(0, len(wanted), 900):  # under SQLite's bound-parameter limit
        rows = TermPostings.objects.filter(protocol=protocol, term__in=wanted[start : start + 900])
        for term, blob in rows.values_list("term", "reports"):
            found[term] = unpack_ids(blob)
    return found
