"""Confirmation writes: version check, history, counters, adjudication, undo."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from annotation.models import Confirmation, ConfirmationKind, ConfirmationLabel, ConfirmValue
from annotation.services.adjudicate import adjudication_submit
from annotation.services.confirm import (
    ConfirmationConflict,
    ConfirmationInvalid,
    UndoRefused,
    confirmation_submit,
    confirmation_undo,
)
from reports.models import AccessEvent, AuditAction, ReviewState

pytestmark = pytest.mark.django_db


def _confirm(study, reader, values=None, **kwargs):
    study.refresh_from_db()
    return confirmation_submit(study=study, reader=reader, values=values or {}, version=study.version, **kwargs)


def _values(confirmation):
    return {cl.label.name: cl.value for cl in confirmation.labels.select_related("label")}


def test_confirm_records_every_label_with_the_soft_label_it_started_from(protocol, radiologist, make_study):
    study = make_study()
    confirmation = _confirm(study, radiologist, {"Pneumothorax": "positive"}, time_spent_ms=4200)
    rows = {cl.label.name: cl for cl in confirmation.labels.select_related("label")}
    assert rows["Pneumothorax"].value == "positive"
    assert rows["Pneumothorax"].soft_value == "negative"
    assert rows["Pleural Effusion"].value == "positive"
    assert rows["Pleural Effusion"].soft_p == pytest.approx(0.9)
    assert rows["Cardiomegaly"].value == ConfirmValue.ABSENT
    assert rows["Cardiomegaly"].soft_value is None
    assert confirmation.time_spent_ms == 4200
    study.refresh_from_db()
    assert (study.version, study.reads_done, study.review_state) == (1, 1, ReviewState.DONE)
    assert AccessEvent.objects.filter(action=AuditAction.LABEL_CONFIRM, object_id=str(study.pk)).count() == 1


def test_a_stale_version_is_refused_with_the_current_state_and_nothing_written(protocol, radiologist, reader2, make_study):
    study = make_study()
    confirmation_submit(study=study, reader=radiologist, values={}, version=0)
    with pytest.raises(ConfirmationConflict) as conflict:
        confirmation_submit(study=study, reader=reader2, values={"Pneumothorax": "positive"}, version=0)
    assert conflict.value.as_dict()["version"] == 1
    assert Confirmation.objects.filter(study=study).count() == 1


def test_unknown_labels_and_values_are_named_and_nothing_is_written(protocol, radiologist, make_study):
    study = make_study()
    with pytest.raises(ConfirmationInvalid) as invalid:
        confirmation_submit(study=study, reader=radiologist, values={"Nope": "positive", "Pneumothorax": "maybe"}, version=0)
    assert invalid.value.unknown_labels == ["Nope"]
    assert invalid.value.invalid_values == {"Pneumothorax": "maybe"}
    assert "'Nope'" in str(invalid.value)
    assert "'maybe'" in str(invalid.value)
    study.refresh_from_db()
    assert study.version == 0
    assert not Confirmation.objects.exists()


def test_a_correction_is_a_new_record_and_the_old_one_is_kept(protocol, radiologist, make_study):
    study = make_study()
    first = _confirm(study, radiologist, {"Pneumothorax": "negative"})
    second = _confirm(study, radiologist, {"Pneumothorax": "positive"})
    first.refresh_from_db()
    assert second.supersedes == first
    assert second.is_current
    assert not first.is_current
    assert _values(first)["Pneumothorax"] == "negative"
    assert _values(second)["Pneumothorax"] == "positive"
    study.refresh_from_db()
    assert study.reads_done == 1


def test_a_relabel_does_not_change_a_confirmed_value(protocol, radiologist, make_study):
    study = make_study()
    confirmation = _confirm(study, radiologist, {"Pneumothorax": "positive"})
    study.report.soft_labels.update(value="negative", p=0.05)
    assert _values(confirmation)["Pneumothorax"] == "positive"


def test_two_agreeing_readers_close_the_study(protocol, radiologist, reader2, make_study):
    protocol.readers_per_study = 2
    protocol.save()
    study = make_study()
    _confirm(study, radiologist)
    study.refresh_from_db()
    assert (study.reads_done, study.review_state) == (1, ReviewState.OPEN)
    _confirm(study, reader2)
    study.refresh_from_db()
    assert (study.reads_done, study.review_state) == (2, ReviewState.DONE)


def test_disagreeing_readers_send_the_study_to_adjudication_and_the_curator_decides(
    protocol, radiologist, reader2, reader3, curator, make_study
):
    protocol.readers_per_study = 2
    protocol.save()
    study = make_study()
    _confirm(study, radiologist, {"Pneumothorax": "negative"})
    _confirm(study, reader2, {"Pneumothorax": "positive"})
    study.refresh_from_db()
    assert study.review_state == ReviewState.ADJUDICATION
    with pytest.raises(ConfirmationConflict, match="all the readers"):
        _confirm(study, reader3)
    study.refresh_from_db()
    decision = adjudication_submit(study=study, curator=curator, values={"Pneumothorax": "positive"}, version=study.version)
    study.refresh_from_db()
    assert decision.kind == ConfirmationKind.ADJUDICATION
    assert study.review_state == ReviewState.DONE
    # Final: a reader's late correction is refused.
    with pytest.raises(ConfirmationConflict, match="adjudicated"):
        _confirm(study, radiologist, {"Pneumothorax": "positive"})


def test_adjudication_is_refused_for_a_study_that_is_not_waiting_for_it(protocol, curator, make_study):
    study = make_study()
    with pytest.raises(ConfirmationConflict, match="not waiting"):
        adjudication_submit(study=study, curator=curator, values={}, version=0)


def test_undo_withdraws_the_read_keeps_it_and_reopens_the_study(protocol, radiologist, make_study):
    study = make_study()
    confirmation = _confirm(study, radiologist)
    reopened = confirmation_undo(confirmation=confirmation, reader=radiologist)
    confirmation.refresh_from_db()
    assert not confirmation.is_current
    assert confirmation.withdrawn_at is not None
    assert ConfirmationLabel.objects.filter(confirmation=confirmation).count() == 3
    assert (reopened.version, reopened.reads_done, reopened.review_state) == (2, 0, ReviewState.OPEN)


def test_undo_of_a_correction_restores_the_earlier_read(protocol, radiologist, make_study):
    study = make_study()
    first = _confirm(study, radiologist, {"Pneumothorax": "negative"})
    second = _confirm(study, radiologist, {"Pneumothorax": "positive"})
    confirmation_undo(confirmation=second, reader=radiologist)
    first.refresh_from_db()
    assert first.is_current
    study.refresh_from_db()
    assert study.reads_done == 1
    assert study.review_state == ReviewState.DONE


def test_undo_is_refused_after_the_window_or_for_someone_else(protocol, radiologist, reader2, make_study):
    study = make_study()
    confirmation = _confirm(study, radiologist)
    with pytest.raises(UndoRefused, match="own"):
        confirmation_undo(confirmation=confirmation, reader=reader2)
    with pytest.raises(UndoRefused, match="window"):
        confirmation_undo(confirmation=confirmation, reader=radiologist, now=timezone.now() + dt.timedelta(hours=1))
    confirmation.refresh_from_db()
    assert confirmation.is_current
