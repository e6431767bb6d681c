"""The preview's word index stays equal to the reports' texts: import, re-import, edit, delete, move."""
from __future__ import annotations

import json

import pytest

from annotation.apps import RELABEL_JOB
from annotation.models import ReportTerms, TermPostings
from annotation.selectors.report_terms import outdated_reports, text_terms, unpack_ids
from annotation.services.report_terms import report_terms_refresh
from annotation.tasks import relabel_protocol_task
from reports.models import Job, Report, Study
from reports.services.imports import report_import

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


def test_deleted_and_moved_reports_leave_the_postings(ct_protocol, other_protocol, make_reports):
    kept, deleted, moved = make_reports(
        ct_protocol, "FINDINGS: Hematoma.", "FINDINGS: Hemorrhage, large.", "FINDINGS: Midline shift."
    )
    report_terms_refresh(protocol=ct_protocol)
    Study.objects.filter(pk=deleted.study_id).delete()
    Study.objects.filter(pk=moved.study_id).update(protocol=other_protocol)
    outdated = outdated_reports(ct_protocol)
    assert (outdated.changed, outdated.gone) == ([], [deleted.pk, moved.pk])
    assert report_terms_refresh(protocol=ct_protocol) == {"indexed": 0, "dropped": 2}
    _assert_consistent(ct_protocol)
    assert set().union(*_postings(ct_protocol).values()) == {kept.pk}
    report_terms_refresh(protocol=other_protocol)
    _assert_consistent(other_protocol)
    assert _postings(other_protocol)["midline"] == {moved.pk}


def test_the_relabel_job_refreshes_the_index(ct_protocol, make_reports):
    make_reports(ct_protocol, "FINDINGS: Hematoma.", "IMPRESSION: No midline shift.")
    job = Job.objects.create(kind=RELABEL_JOB, protocol=ct_protocol)
    relabel_protocol_task(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded"
    _assert_consistent(ct_protocol)
