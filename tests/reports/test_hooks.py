"""reports.hooks: how higher apps extend reports without reports importing them."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from annotation.engine.sections import split_sections
from reports import hooks
from tests.reports.factories import ReportFactory, StudyFactory


@pytest.fixture
def clean_hooks(monkeypatch):
    """Registries as a fresh process would have them, restored after the test."""
    monkeypatch.setattr(hooks, "_section_splitter", None)
    monkeypatch.setattr(hooks, "_context_sections", frozenset())
    monkeypatch.setattr(hooks, "_study_detail_extras", {})


def test_annotation_registers_the_engines_section_splitter_at_start_up():
    text = "INDICATION: Cough.\n\nFINDINGS: No effusion.\n\nIMPRESSION: Normal."

    sections = hooks.report_sections(text)

    assert [name for name, _, _ in sections] == [s.name for s in split_sections(text)]
    assert "findings" in [name for name, _, _ in sections]


def test_without_a_splitter_the_text_is_kept_whole(clean_hooks):
    assert hooks.report_sections("FINDINGS: No effusion.") == []


def test_a_registered_splitter_is_used(clean_hooks):
    hooks.register_section_splitter(lambda text: [("all", 0, len(text))])

    assert hooks.report_sections("abc") == [("all", 0, 3)]


def test_study_detail_extras_are_called_per_study_in_key_order(clean_hooks):
    hooks.register_study_detail_extra("zeta", lambda study, user: study)
    hooks.register_study_detail_extra("alpha", lambda study, user: user)

    assert list(hooks.study_detail_extras("s", "u").items()) == [("alpha", "u"), ("zeta", "s")]


def test_one_key_cannot_be_taken_by_two_apps(clean_hooks):
    def first(study, user):
        return 1

    hooks.register_study_detail_extra("labels", first)
    hooks.register_study_detail_extra("labels", first)  # the same function again: harmless

    with pytest.raises(ValueError, match="already registered"):
        hooks.register_study_detail_extra("labels", lambda study, user: 2)


@pytest.mark.django_db
def test_the_study_api_shows_a_registered_extra_to_a_member(monkeypatch, radiologist, protocol):
    monkeypatch.setattr(hooks, "_study_detail_extras", dict(hooks._study_detail_extras))
    hooks.register_study_detail_extra("imaging", lambda study, user: {"series": 0, "study": study.pk})
    study = ReportFactory(study=StudyFactory(protocol=protocol)).study
    client = APIClient()
    client.force_authenticate(radiologist)

    body = client.get(f"/api/v1/studies/{study.pk}/").json()

    assert body["imaging"] == {"series": 0, "study": study.pk}


def test_context_sections_are_the_engines_ignored_sections():
    from annotation.engine.sections import ignored_sections

    assert hooks.context_sections() == ignored_sections()
    assert {"indication", "history", "comparison", "technique"} <= hooks.context_sections()


@pytest.mark.django_db
def test_the_study_page_and_the_reading_page_mute_the_same_sections(study):
    from annotation.engine.sections import ignored_sections
    from annotation.selectors.queue import report_sections as reading_sections
    from reports.selectors.studies import report_sections as study_sections

    report = study.report
    report.text = "INDICATION: Cough.\nCOMPARISON: None.\nTECHNIQUE: PA.\nFINDINGS: Clear lungs."
    report.sections = hooks.report_sections(report.text)

    shown = {section.name: section.is_context for section in study_sections(report)}
    read = {view.name: view.context for view in reading_sections(report, [])}

    assert shown == read
    assert {name for name, muted in shown.items() if muted} == set(shown) & ignored_sections()
    assert shown["findings"] is False
