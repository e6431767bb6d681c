"""annotation.selectors.final_labels: adjudication, agreement, pending, withdrawn reads."""
from __future__ import annotations

import pytest

from annotation.selectors.final_labels import (
    ADJUDICATED,
    AGREED,
    FinalLabel,
    final_label,
    final_labels_for_studies,
    iter_final_labels,
    study_final_labels,
)
from annotation.services.adjudicate import adjudication_submit
from annotation.services.confirm import confirmation_undo
from reports.models import ReviewState, Study
from tests.training.cohorts.conftest import agree, make_study, read

pytestmark = pytest.mark.django_db

ALL_NEG = {"Cardiomegaly": "negative", "Edema": "negative", "Pleural Effusion": "negative"}


def _names(final, labels):
    by_id = {label.pk: label.name for label in labels}
    return {by_id[label_id]: value for label_id, value in final.items()}


def test_agreed_reads_give_the_agreed_value(protocol, labels, radiologist, curator):
    study = make_study(protocol)
    agree(study, radiologist, curator, {**ALL_NEG, "Edema": "uncertain"})
    final = _names(study_final_labels(study=study), labels)
    assert final["Edema"] == FinalLabel("uncertain", AGREED)
    assert final["Cardiomegaly"] == FinalLabel("negative", AGREED)


def test_one_read_of_two_needed_is_pending(protocol, labels, radiologist):
    study = make_study(protocol)
    read(study, radiologist, ALL_NEG)
    assert study_final_labels(study=study) == {}
    assert final_label(study=study, label=labels[0]) is None


def test_disagreement_is_pending_per_label_until_adjudicated(protocol, labels, radiologist, curator):
    study = make_study(protocol)
    read(study, radiologist, ALL_NEG)
    read(study, curator, {**ALL_NEG, "Edema": "positive"})
    assert Study.objects.get(pk=study.pk).review_state == ReviewState.ADJUDICATION
    final = _names(study_final_labels(study=study), labels)
    assert "Edema" not in final  # disagreement: pending
    assert final["Cardiomegaly"] == FinalLabel("negative", AGREED)  # agreed labels are final


def test_adjudication_wins_over_the_reads(protocol, labels, radiologist, curator):
    study = make_study(protocol)
    read(study, radiologist, ALL_NEG)
    read(study, curator, {**ALL_NEG, "Edema": "positive"})
    study = Study.objects.select_related("protocol").get(pk=study.pk)
    adjudication_submit(study=study, curator=curator, values={**ALL_NEG, "Edema": "positive", "Cardiomegaly": "uncertain"},
                        version=study.version)
    final = _names(study_final_labels(study=study), labels)
    assert final["Edema"] == FinalLabel("positive", ADJUDICATED)
    # Even where both readers agreed, the curator's decision is the final one.
    assert final["Cardiomegaly"] == FinalLabel("uncertain", ADJUDICATED)


def test_a_withdrawn_read_is_ignored(protocol, labels, radiologist, curator):
    study = make_study(protocol)
    read(study, radiologist, ALL_NEG)
    confirmation = read(study, curator, ALL_NEG)
    assert study_final_labels(study=study)
    confirmation_undo(confirmation=confirmation, reader=curator)
    assert study_final_labels(study=study) == {}


def test_a_correction_replaces_the_readers_earlier_read(protocol, labels, radiologist, curator):
    study = make_study(protocol)
    read(study, radiologist, {**ALL_NEG, "Edema": "positive"})
    read(study, curator, ALL_NEG)  # disagreement on Edema
    read(study, radiologist, ALL_NEG)  # the radiologist corrects their read: now they agree
    final = _names(study_final_labels(study=study), labels)
    assert final["Edema"] == FinalLabel("negative", AGREED)


def test_bulk_form_is_one_query_for_many_studies(protocol, labels, radiologist, curator, django_assert_num_queries):
    studies = [make_study(protocol) for _ in range(5)]
    for study in studies:
        agree(study, radiologist, curator, ALL_NEG)
    with django_assert_num_queries(1):
        finals = final_labels_for_studies(protocol=protocol, study_ids=[s.pk for s in studies],
                                          label_ids=[labels[1].pk])
    assert set(finals) == {s.pk for s in studies}
    assert all(list(per_study) == [labels[1].pk] for per_study in finals.values())
    streamed = dict(iter_final_labels(protocol=protocol))
    assert set(streamed) == {s.pk for s in studies}
    assert all(len(v) == 3 for v in streamed.values())


def test_other_protocols_confirmations_are_not_read(protocol, other_protocol, labels, radiologist, curator):
    study = make_study(protocol)
    agree(study, radiologist, curator, ALL_NEG)
    assert final_labels_for_studies(protocol=other_protocol, study_ids=[study.pk]) == {}
