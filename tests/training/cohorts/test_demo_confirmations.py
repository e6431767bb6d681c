"""config.demo.confirmations: a third of the demo read by two readers, through the real services, once."""
from __future__ import annotations

import time

import pytest

from annotation.models import Confirmation, ConfirmationKind
from config.demo.confirmations import seed_confirmations
from config.demo.seed import DemoRun
from reports.models import AccessEvent, AuditAction, ReviewState, Study
from tests.training.cohorts.conftest import make_study, soft
from training.services.cohorts import cohort_freeze, cohort_spec_build

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(protocol, labels, radiologist, curator, scientist):
    for index in range(60):
        study = make_study(protocol, patient=f"DEMO-P{index % 40}")
        if index % 2:
            soft(study, labels[index % 3], ("positive", "negative", "uncertain")[index % 3], 0.7)
    return DemoRun(reports=60, seed=0, labels=True, say=lambda line: None, protocol=protocol,
                   users={"radiologist": radiologist, "curator": curator, "scientist": scientist})


def test_a_third_is_read_by_both_readers_and_a_cohort_freezes_at_once(demo, protocol, scientist):
    started = time.monotonic()
    seed_confirmations(demo)
    assert time.monotonic() - started < 10
    read = Study.objects.filter(protocol=protocol, reads_done=2)
    assert read.count() == 20
    assert Confirmation.objects.filter(kind=ConfirmationKind.READ).count() == 40
    assert AccessEvent.objects.filter(action=AuditAction.LABEL_CONFIRM).count() == Confirmation.objects.count()
    states = set(read.values_list("review_state", flat=True))
    assert states <= {ReviewState.DONE, ReviewState.ADJUDICATION}
    cohort = cohort_freeze(spec=cohort_spec_build(protocol=protocol, data={"name": "demo"}), actor=scientist)
    assert cohort.study_count >= 15


def test_a_second_run_adds_nothing(demo):
    seed_confirmations(demo)
    counts = (Confirmation.objects.count(), AccessEvent.objects.count())
    seed_confirmations(demo)
    assert (Confirmation.objects.count(), AccessEvent.objects.count()) == counts


def test_a_study_someone_read_already_is_left_alone(demo, protocol, radiologist):
    from tests.training.cohorts.conftest import read

    studies = list(Study.objects.filter(protocol=protocol).order_by("id"))
    for study in studies:
        read(study, radiologist, {})
    before = Confirmation.objects.count()
    seed_confirmations(demo)
    assert Confirmation.objects.count() == before
