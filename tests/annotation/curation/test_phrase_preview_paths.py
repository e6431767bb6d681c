"""The preview gives one answer whether the word index is current, missing or partly outdated, and
whether the candidates are labelled here or in forked processes."""
from __future__ import annotations

import pytest

import annotation.selectors.phrase_preview as phrase_preview_module
from annotation.engine import batch
from annotation.models import Label, ReportTerms, TermPostings
from annotation.selectors.phrase_preview import phrase_preview
from annotation.services.phrases import PhraseEdit, engine_schema_after, phrase_edit_plan
from annotation.services.report_terms import report_terms_refresh
from annotation.services.schemas import schema_for_protocol, schema_to_engine
from tests.annotation.curation.conftest import make_corpus, relabel_as_job

pytestmark = pytest.mark.django_db

EDITS = [
    ("Effusion", PhraseEdit(add=("fluid",), disable=("effusion",))),
    ("Pneumonia", PhraseEdit(add=("airspace opacity", "consolidaton"))),
    ("Cardiomegaly", PhraseEdit(add=("cardiac silhouette",))),
]


def _answer(protocol, label_name: str, edit: PhraseEdit) -> tuple:
    schema = schema_for_protocol(protocol)
    plan = phrase_edit_plan(protocol=protocol, label=Label.objects.get(schema=schema, name=label_name), edit=edit)
    preview = phrase_preview(
        protocol=protocol, old_schema=schema_to_engine(schema), new_schema=engine_schema_after(protocol=protocol, plan=plan)
    )
    changes = sorted((c.report_id, c.label, c.before, c.after) for c in preview.changes)
    return preview.studies, preview.transitions(), changes, preview.candidates, preview.processes


@pytest.mark.parametrize(("label_name", "edit"), EDITS)
def test_index_state_and_processes_do_not_change_the_preview(chest_protocol, monkeypatch, label_name, edit):
    reports = make_corpus(chest_protocol, 120, seed=3)
    relabel_as_job(chest_protocol)  # refreshes the index, as the relabel job does
    indexed = _answer(chest_protocol, label_name, edit)
    assert indexed[0], "the edit should change some studies"
    assert indexed[3] < len(reports)  # the index narrowed the candidates

    # Two reports edited since (their index rows outdated, and stale for the relabel).
    for report, text in zip(reports[:2], ["FINDINGS: Fluid in the fissure.", "FINDINGS: Cardiac silhouette normal."], strict=True):
        report.text = text
        report.save()
    partly = _answer(chest_protocol, label_name, edit)
    report_terms_refresh(protocol=chest_protocol)
    assert _answer(chest_protocol, label_name, edit) == partly

    TermPostings.objects.filter(protocol=chest_protocol).delete()
    ReportTerms.objects.filter(protocol=chest_protocol).delete()
    assert _answer(chest_protocol, label_name, edit) == partly  # every report read from its text

    report_terms_refresh(protocol=chest_protocol)
    monkeypatch.setattr(phrase_preview_module, "PARALLEL_MIN", 2)
    monkeypatch.setattr(batch, "default_processes", lambda: 2)  # two even on a one-core runner
    forked = _answer(chest_protocol, label_name, edit)
    assert forked[4] == 2, "the candidates should have been labelled in two forked processes"
    assert forked[:4] == partly[:4]
