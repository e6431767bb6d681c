"""The reader's queue: order, label filter, leases, skips, several readers."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from annotation.models import LabelValue, QueueLease
from annotation.selectors.queue import lease_duration
from annotation.services.confirm import confirmation_submit
from annotation.services.queue import queue_next, queue_skip

pytestmark = pytest.mark.django_db


def _confirm(study, reader):
    study.refresh_from_db()
    return confirmation_submit(study=study, reader=reader, values={}, version=study.version)


def test_queue_gives_the_most_informative_open_study_first(protocol, radiologist, make_study):
    low = make_study(informativeness=0.1)
    high = make_study(informativeness=0.9)
    make_study(informativeness=0.95, review_state="done")
    assert queue_next(protocol=protocol, reader=radiologist) == high
    _confirm(high, radiologist)
    assert queue_next(protocol=protocol, reader=radiologist) == low


def test_ties_are_broken_by_id(protocol, radiologist, make_study):
    first = make_study(informativeness=0.5)
    make_study(informativeness=0.5)
    assert queue_next(protocol=protocol, reader=radiologist) == first


def test_label_filter_keeps_only_positive_or_uncertain_candidates(protocol, radiologist, labels, make_study):
    make_study(informativeness=0.9, soft={"Pneumothorax": (LabelValue.NEGATIVE, 0.1)})
    candidate = make_study(informativeness=0.2, soft={"Pneumothorax": (LabelValue.UNCERTAIN, 0.5)})
    pid = labels["Pneumothorax"].pk
    assert queue_next(protocol=protocol, reader=radiologist, label_id=pid) == candidate


def test_a_reload_returns_the_study_already_leased_to_the_reader(protocol, radiologist, make_study):
    make_study(informativeness=0.1)
    first = queue_next(protocol=protocol, reader=radiologist)
    make_study(informativeness=0.99)
    assert queue_next(protocol=protocol, reader=radiologist) == first
    assert QueueLease.objects.filter(reader=radiologist).count() == 1


def test_two_readers_are_never_handed_the_same_slot(protocol, radiologist, reader2, make_study):
    make_study(informativeness=0.9)
    make_study(informativeness=0.8)
    first = queue_next(protocol=protocol, reader=radiologist)
    second = queue_next(protocol=protocol, reader=reader2)
    assert first is not None
    assert second is not None
    assert first != second


def test_a_leased_study_is_nobody_elses_until_the_lease_expires(protocol, radiologist, reader2, make_study):
    only = make_study()
    now = timezone.now()
    assert queue_next(protocol=protocol, reader=radiologist, now=now) == only
    assert queue_next(protocol=protocol, reader=reader2, now=now + dt.timedelta(seconds=10)) is None
    later = now + lease_duration() + dt.timedelta(seconds=1)
    assert queue_next(protocol=protocol, reader=reader2, now=later) == only


def test_two_readers_per_study_gives_the_study_to_two_different_readers(protocol, radiologist, reader2, reader3, make_study):
    protocol.readers_per_study = 2
    protocol.save()
    study = make_study()
    assert queue_next(protocol=protocol, reader=radiologist) == study
    assert queue_next(protocol=protocol, reader=reader2) == study
    assert queue_next(protocol=protocol, reader=reader3) is None
    _confirm(study, radiologist)
    # The first reader's read counts as a slot; a reader never gets a study twice.
    assert queue_next(protocol=protocol, reader=radiologist) is None
    assert queue_next(protocol=protocol, reader=reader3) is None


def test_confirmed_study_leaves_the_queue_and_frees_its_lease(protocol, radiologist, reader2, make_study):
    study = make_study()
    queue_next(protocol=protocol, reader=radiologist)
    _confirm(study, radiologist)
    assert not QueueLease.objects.filter(study=study).exists()
    assert queue_next(protocol=protocol, reader=reader2) is None


def test_skip_hands_the_next_study_and_frees_the_slot_for_others(protocol, radiologist, reader2, make_study):
    top = make_study(informativeness=0.9)
    below = make_study(informativeness=0.1)
    assert queue_next(protocol=protocol, reader=radiologist) == top
    queue_skip(study=top, reader=radiologist)
    assert queue_next(protocol=protocol, reader=radiologist) == below
    assert queue_next(protocol=protocol, reader=reader2) == top


@pytest.mark.parametrize("who", ["outsider", "scientist", "expired_member"])
def test_queue_is_scoped_to_members_who_read(request, who, protocol, make_study, client_for):
    # queue_next trusts the protocol its caller scoped; the page and the API are the gates.
    make_study()
    client = client_for(request.getfixturevalue(who))
    assert client.get(reverse("annotation:read-next", args=[protocol.pk])).status_code == 404
    assert client.get(f"/api/v1/queue/next/?protocol={protocol.pk}").status_code == 404
    assert not QueueLease.objects.exists()
