"""Queue order beyond informativeness: started studies, and reads that differ from the engine,
come first (Study.queue_priority, kept by the confirm transaction, never by relabel)."""
from __future__ import annotations

from importlib import import_module

import pytest
from django.apps import apps

from annotation.services.adjudicate import adjudication_submit
from annotation.services.confirm import (
    PRIORITY_DISAGREED,
    PRIORITY_STARTED,
    PRIORITY_UNTOUCHED,
    confirmation_submit,
    confirmation_undo,
)
from annotation.services.queue import queue_next
from annotation.services.relabel import relabel_protocol
from reports.models import ReviewState, Study

pytestmark = pytest.mark.django_db

# make_study's engine values: Pneumothorax negative, Pleural Effusion positive, Cardiomegaly absent.
DISAGREE = {"Pneumothorax": "positive"}


def _confirm(study, reader, values=None):
    study.refresh_from_db()
    return confirmation_submit(study=study, reader=reader, values=values or {}, version=study.version)


def _priority(study) -> int:
    return Study.objects.values_list("queue_priority", flat=True).get(pk=study.pk)


@pytest.fixture
def two_readers(protocol):
    protocol.readers_per_study = 2
    protocol.save(update_fields=["readers_per_study"])
    return protocol


def test_a_study_whose_read_disagreed_with_the_engine_comes_before_a_more_informative_one(
    two_readers, radiologist, reader2, make_study
):
    disputed = make_study(informativeness=0.1)
    untouched = make_study(informativeness=0.9)
    _confirm(disputed, radiologist, DISAGREE)
    assert _priority(disputed) == PRIORITY_DISAGREED
    assert _priority(untouched) == PRIORITY_UNTOUCHED
    assert queue_next(protocol=two_readers, reader=reader2) == disputed


def test_a_started_two_reader_study_comes_first_for_the_second_reader_only(
    two_readers, radiologist, reader2, make_study
):
    started = make_study(informativeness=0.1)
    untouched = make_study(informativeness=0.9)
    disputed = make_study(informativeness=0.05)
    _confirm(started, radiologist)
    _confirm(disputed, radiologist, DISAGREE)
    assert _priority(started) == PRIORITY_STARTED
    # Disputed first, then started, then by informativeness; the first reader never gets their own.
    assert queue_next(protocol=two_readers, reader=reader2) == disputed
    _confirm(disputed, reader2, DISAGREE)
    assert queue_next(protocol=two_readers, reader=reader2) == started
    assert queue_next(protocol=two_readers, reader=radiologist) == untouched


def test_the_priority_goes_back_to_zero_when_the_study_closes(two_readers, radiologist, reader2, curator, make_study):
    agreed, disputed = make_study(), make_study()
    _confirm(agreed, radiologist)
    _confirm(agreed, reader2)
    _confirm(disputed, radiologist, DISAGREE)
    _confirm(disputed, reader2)
    disputed.refresh_from_db()
    assert disputed.review_state == ReviewState.ADJUDICATION
    assert (_priority(agreed), _priority(disputed)) == (PRIORITY_UNTOUCHED, PRIORITY_UNTOUCHED)
    adjudication_submit(study=disputed, curator=curator, values=DISAGREE, version=disputed.version)
    assert _priority(disputed) == PRIORITY_UNTOUCHED


def test_a_correction_and_an_undo_recompute_the_priority(two_readers, radiologist, make_study):
    study = make_study()
    first = _confirm(study, radiologist, DISAGREE)
    assert _priority(study) == PRIORITY_DISAGREED
    corrected = _confirm(study, radiologist)
    assert _priority(study) == PRIORITY_STARTED
    confirmation_undo(confirmation=corrected, reader=radiologist)
    first.refresh_from_db()
    assert first.is_current
    assert _priority(study) == PRIORITY_DISAGREED
    confirmation_undo(confirmation=first, reader=radiologist)
    assert _priority(study) == PRIORITY_UNTOUCHED


def test_another_readers_disagreement_keeps_a_three_reader_study_first(protocol, radiologist, reader2, make_study):
    protocol.readers_per_study = 3
    protocol.save(update_fields=["readers_per_study"])
    study = make_study()
    _confirm(study, radiologist, DISAGREE)
    # The second reader agrees with the engine, but the first read still differs from it.
    _confirm(study, reader2)
    assert _priority(study) == PRIORITY_DISAGREED


def test_a_relabel_keeps_the_queue_priority(two_readers, radiologist, make_study):
    study = make_study(informativeness=0.123)
    _confirm(study, radiologist, DISAGREE)
    counts = relabel_protocol(protocol=two_readers, force=True)
    study.refresh_from_db()
    assert counts["reports"] == 1
    assert study.informativeness != 0.123
    assert study.queue_priority == PRIORITY_DISAGREED


def test_the_migration_backfills_studies_started_before_the_column(two_readers, radiologist, make_study):
    backfill = import_module("reports.migrations.0003_study_queue_priority").backfill_queue_priority
    started, disputed, untouched = make_study(), make_study(), make_study()
    _confirm(started, radiologist)
    _confirm(disputed, radiologist, DISAGREE)
    Study.objects.update(queue_priority=PRIORITY_UNTOUCHED)
    backfill(apps, None)
    assert [_priority(s) for s in (started, disputed, untouched)] == [PRIORITY_STARTED, PRIORITY_DISAGREED, PRIORITY_UNTOUCHED]
