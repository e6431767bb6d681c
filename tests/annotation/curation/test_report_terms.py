"""The preview's word index stays equal to the reports' texts: import, re-import, edit, delete, move.

A deleted or moved report leaves the index in its own transaction (annotation/signals.py): its
words are patient data and must not wait for the protocol's next refresh.
"""
from __future__ import annotations

import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from annotation.apps import RELABEL_JOB
from annotation.models import Label, ReportTerms, TermPostings
from annotation.selectors.phrase_preview import phrase_preview
from annotation.selectors.report_terms import outdated_reports, text_terms, unpack_ids
from annotation.services.phrases import (
    PhraseEdit,
    engine_schema_after,
    phrase_change_save,
    phrase_edit_plan,
)
from annotation.services.report_terms import report_terms_refresh
from annotation.services.schemas import schema_for_protocol, schema_to_engine
from annotation.tasks import relabel_protocol_task
from reports.models import Job, Report, Study
from reports.services.imports import report_import
from tests.annotation.curation.conftest import make_corpus, relabel_as_job, snapshot
from tests.annotation.curation.test_phrase_preview_matches_relabel import _diff as relabel_diff

pytestmark = pytest.mark.django_db


def _postings(protocol) -> dict[str, set[int]]:
    rows = TermPostings.objects.filter(protocol=protocol).values_list("term", "reports")
    return {term: set(unpack_ids(blob)) for term, blob in rows}


def _expected(protocol) -> dict[str, set[int]]:
    """The index rebuilt from scratch, from the texts as they are now."""
    expected: dict[str, set[int]] = {}
    for pk, text in Report.objects.filter(study__protocol=protocol).values_list("pk", "text"):
        for term in text_terms(text):
            expected.setdefault(term, set()).add(pk)
    return expected


def _assert_consistent(protocol) -> None:
    assert _postings(protocol) == _expected(protocol)
    indexed = set(ReportTerms.objects.filter(protocol=protocol).values_list("report_id", flat=True))
    assert indexed == set(Report.objects.filter(study__protocol=protocol).values_list("pk", flat=True))
    outdated = outdated_reports(protocol)
    assert (outdated.changed, outdated.gone) == ([], [])


def _import(protocol, tmp_path, *rows: tuple[str, str]) -> None:
    path = tmp_path / "reports.jsonl"
    path.write_text("".join(json.dumps({"accession": acc, "text": text}) + "\n" for acc, text in rows))
    report_import(protocol=protocol, path=path, fmt="jsonl", actor=None, channel="command")


def test_terms_are_letter_runs_numbers_with_letters_and_the_spellers_words():
    terms = text_terms("FINDINGS: Small L1-L2 effusion, 12mm; isn't it?")
    assert {"findings", "small", "l", "effusion", "mm", "isn", "t", "it"} <= terms
    assert {"l1", "l2", "12mm"} <= terms  # runs with a digit, for phrase words such as "c2"
    assert "12" not in terms
    assert "findings:" not in terms


def test_import_then_reimport_with_changed_text_keeps_the_index_equal_to_the_texts(ct_protocol, tmp_path):
    _import(ct_protocol, tmp_path, ("A1", "FINDINGS: Acute subdural hematoma."), ("A2", "IMPRESSION: No hemorrhage."))
    assert len(outdated_reports(ct_protocol).changed) == 2
    assert report_terms_refresh(protocol=ct_protocol) == {"indexed": 2, "dropped": 0}
    _assert_consistent(ct_protocol)
    first = Report.objects.get(study__accession="A1")
    assert first.pk in _postings(ct_protocol)["subdural"]

    _import(ct_protocol, tmp_path, ("A1", "FINDINGS: Midline shift of 4 mm."))
    assert outdated_reports(ct_protocol).changed == [first.pk]
    assert report_terms_refresh(protocol=ct_protocol) == {"indexed": 1, "dropped": 0}
    _assert_consistent(ct_protocol)
    postings = _postings(ct_protocol)
    assert "subdural" not in postings  # no report holds it any more: the posting is gone
    assert postings["midline"] == {first.pk}
    assert report_terms_refresh(protocol=ct_protocol) == {"indexed": 0, "dropped": 0}


def test_an_edit_saved_without_a_new_hash_is_seen_by_its_updated_at(ct_protocol, make_reports):
    [report] = make_reports(ct_protocol, "FINDINGS: Small hematoma.")
    report_terms_refresh(protocol=ct_protocol)
    report.text = "FINDINGS: Large hemorrhage."
    report.save()  # text_sha256 left as it was: updated_at still moves
    assert outdated_reports(ct_protocol).changed == [report.pk]
    report_terms_refresh(protocol=ct_protocol)
    _assert_consistent(ct_protocol)


def test_deleting_a_report_takes_its_words_out_of_the_index_at_once(ct_protocol, make_reports):
    kept, deleted = make_reports(ct_protocol, "FINDINGS: Hematoma.", "FINDINGS: Hematoma. Seen by Dr Quexington.")
    report_terms_refresh(protocol=ct_protocol)
    assert _postings(ct_protocol)["quexington"] == {deleted.pk}
    deleted.delete()
    # No refresh: the row and the words only this report held went with it.
    assert not ReportTerms.objects.filter(report_id=deleted.pk).exists()
    assert "quexington" not in _postings(ct_protocol)
    assert _postings(ct_protocol)["hematoma"] == {kept.pk}
    _assert_consistent(ct_protocol)
    assert report_terms_refresh(protocol=ct_protocol) == {"indexed": 0, "dropped": 0}


def test_a_bulk_delete_of_studies_takes_their_words_out_in_one_pass(ct_protocol, make_reports):
    words = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot")
    texts = [f"FINDINGS: Hematoma number {word}." for word in words]
    reports = make_reports(ct_protocol, *texts)
    report_terms_refresh(protocol=ct_protocol)
    with CaptureQueriesContext(connection) as queries:
        Study.objects.filter(pk__in=[r.study_id for r in reports[1:]]).delete()
    index_tables = (ReportTerms._meta.db_table, TermPostings._meta.db_table)
    index_queries = [q["sql"] for q in queries if any(table in q["sql"] for table in index_tables)]
    # Find, lock, read, postings read / update / delete, rows delete: not one round per report.
    assert len(index_queries) <= 7, index_queries
    _assert_consistent(ct_protocol)
    assert set(_postings(ct_protocol)) == text_terms(texts[0])


def test_a_rolled_back_delete_keeps_the_index(ct_protocol, make_reports):
    [report] = make_reports(ct_protocol, "FINDINGS: Hematoma.")
    report_terms_refresh(protocol=ct_protocol)

    def delete_then_fail() -> None:
        with transaction.atomic():
            Study.objects.filter(pk=report.study_id).delete()
            assert not ReportTerms.objects.filter(protocol=ct_protocol).exists()
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError, match="rolled back"):
        delete_then_fail()
    _assert_consistent(ct_protocol)


def test_a_study_saved_into_another_protocol_leaves_the_old_index_at_once(
    ct_protocol, other_protocol, make_reports
):
    kept, moved = make_reports(ct_protocol, "FINDINGS: Hematoma.", "FINDINGS: Midline shift.")
    report_terms_refresh(protocol=ct_protocol)
    study = Study.objects.get(pk=moved.study_id)
    study.protocol = other_protocol
    study.save()
    _assert_consistent(ct_protocol)
    assert "midline" not in _postings(ct_protocol)
    report_terms_refresh(protocol=other_protocol)
    _assert_consistent(other_protocol)
    assert _postings(other_protocol)["midline"] == {moved.pk}


def test_a_study_moved_by_a_queryset_update_leaves_the_postings_at_the_refresh(
    ct_protocol, other_protocol, make_reports
):
    kept, moved = make_reports(ct_protocol, "FINDINGS: Hematoma.", "FINDINGS: Midline shift.")
    report_terms_refresh(protocol=ct_protocol)
    Study.objects.filter(pk=moved.study_id).update(protocol=other_protocol)  # sends no signal
    outdated = outdated_reports(ct_protocol)
    assert (outdated.changed, outdated.gone) == ([], [moved.pk])
    assert report_terms_refresh(protocol=ct_protocol) == {"indexed": 0, "dropped": 1}
    _assert_consistent(ct_protocol)
    assert set().union(*_postings(ct_protocol).values()) == {kept.pk}
    report_terms_refresh(protocol=other_protocol)
    _assert_consistent(other_protocol)
    assert _postings(other_protocol)["midline"] == {moved.pk}


def test_the_preview_equals_the_relabel_after_deletes(chest_protocol, curator):
    reports = make_corpus(chest_protocol, 80, seed=5)
    relabel_as_job(chest_protocol)
    reports[0].delete()
    Study.objects.filter(pk__in=[r.study_id for r in reports[1:6]]).delete()
    _assert_consistent(chest_protocol)
    schema = schema_for_protocol(chest_protocol)
    label = Label.objects.get(schema=schema, name="Effusion")
    edit = PhraseEdit(add=("fluid",), disable=("effusion",))
    plan = phrase_edit_plan(protocol=chest_protocol, label=label, edit=edit)
    preview = phrase_preview(
        protocol=chest_protocol, old_schema=schema_to_engine(schema),
        new_schema=engine_schema_after(protocol=chest_protocol, plan=plan),
    )
    before = snapshot(chest_protocol)
    change = phrase_change_save(
        protocol=chest_protocol, plan=plan, actor=curator, preview=preview.summary()
    )
    relabel_as_job(chest_protocol, change.job)
    studies, transitions = relabel_diff(before, snapshot(chest_protocol))
    assert studies, "the edit should change some studies"
    assert (preview.studies, preview.transitions()) == (sorted(studies), dict(transitions))


def test_the_relabel_job_refreshes_the_index(ct_protocol, make_reports):
    make_reports(ct_protocol, "FINDINGS: Hematoma.", "IMPRESSION: No midline shift.")
    job = Job.objects.create(kind=RELABEL_JOB, protocol=ct_protocol)
    relabel_protocol_task(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded"
    _assert_consistent(ct_protocol)
