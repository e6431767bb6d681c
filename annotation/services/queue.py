"""The reader's work queue: hand out the next study under a short lease, renew, skip, release."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.utils import timezone

from annotation.models import QueueLease
from annotation.selectors.queue import lease_duration, queue_candidates, skip_duration, slot_free
from reports.models import Protocol, ReviewState, Study

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# Candidates tried before giving up on a single call; each miss is a study another reader took
# between our SELECT and our lock, so more than a few in a row means heavy contention.
_MAX_TRIES = 8


def queue_next(
    *,
    protocol: Protocol,
    reader: AbstractBaseUser,
    label_id: int | None = None,
    now: dt.datetime | None = None,
    purge_expired: bool = True,
) -> Study | None:
    """Return the reader's next study and lease it to them, or None when their queue is empty.

    A study the reader already holds comes back first (a reload never grabs a second slot).
    Otherwise the best free candidate is locked (FOR UPDATE SKIP LOCKED on PostgreSQL, so a
    concurrent reader moves on to the next row instead of waiting), its slots are re-counted
    under the lock, and only then is the lease written: every lease writer holds that row lock,
    so two readers can never both take the last slot. On SQLite the IMMEDIATE transaction
    serialises writers instead.

    `protocol` must be scoped to the reader already (see queue_candidates). `purge_expired=False` skips the sweep of the
    reader's expired leases when the caller has just done it (a confirmation does).
    """
    now = now or timezone.now()
    with transaction.atomic():
        if purge_expired:
            QueueLease.objects.filter(reader=reader, expires_at__lte=now).delete()
        # The reader's own live leases first, as a list: as a subquery of the candidate query
        # the planner walks the whole queue index looking for them (30 ms at 100,000 studies
        # when the reader holds none, which is the usual case right after a confirmation).
        held_ids = list(
            QueueLease.objects.filter(
                reader=reader, skipped=False, expires_at__gt=now, study__protocol=protocol
            ).values_list("study_id", flat=True)
        )
        held = (
            queue_candidates(protocol=protocol, reader=reader, label_id=label_id, now=now).filter(pk__in=held_ids).first()
            if held_ids
            else None
        )
        if held is not None:
            held.protocol = protocol
            lease_renew(study=held, reader=reader, now=now)
            return held
        tried: list[int] = []
        for _ in range(_MAX_TRIES):
            qs = queue_candidates(protocol=protocol, reader=reader, label_id=label_id, now=now)
            if tried:
                qs = qs.exclude(pk__in=tried)
            if connection.features.has_select_for_update_skip_locked:
                qs = qs.select_for_update(skip_locked=True, of=("self",))
            # No select_related: three more joins tripled the planning time of this query.
            study = qs.first()
            if study is None:
                return None
            study.protocol = protocol
            if slot_free(study=study, reader=reader, now=now):
                _lease_write(study=study, reader=reader, now=now, skipped=False)
                return study
            tried.append(study.pk)
        return None


def lease_renew(*, study: Study, reader: AbstractBaseUser, now: dt.datetime | None = None) -> bool:
    """Extend the reader's live lease on the study (on each view); False when they hold none."""
    now = now or timezone.now()
    return bool(
        QueueLease.objects.filter(study=study, reader=reader, skipped=False, expires_at__gt=now).update(
            expires_at=now + lease_duration()
        )
    )


def lease_release(*, study: Study, reader: AbstractBaseUser) -> None:
    QueueLease.objects.filter(study=study, reader=reader, skipped=False).delete()


def queue_skip(*, study: Study, reader: AbstractBaseUser, now: dt.datetime | None = None) -> None:
    """Give the slot back and keep the study out of this reader's queue for a while."""
    now = now or timezone.now()
    with transaction.atomic():
        QueueLease.objects.update_or_create(
            study=study, reader=reader, defaults={"skipped": True, "started_at": now, "expires_at": now + skip_duration()}
        )


def lease_take(*, study: Study, reader: AbstractBaseUser, now: dt.datetime | None = None) -> None:
    """Hold a slot on a study the reader went back to (after an undo), when one is free."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Study.objects.select_for_update().select_related("protocol").get(pk=study.pk)
        if locked.review_state == ReviewState.OPEN and slot_free(study=locked, reader=reader, now=now):
            _lease_write(study=locked, reader=reader, now=now, skipped=False)


def _lease_write(*, study: Study, reader: AbstractBaseUser, now: dt.datetime, skipped: bool) -> None:
    """Upsert the lease in one statement (INSERT ... ON CONFLICT (study, reader) DO UPDATE).

    The caller holds the study row lock, so no other writer takes a slot of it meanwhile.
    """
    QueueLease.objects.bulk_create(
        [QueueLease(study=study, reader=reader, skipped=skipped, started_at=now, expires_at=now + lease_duration())],
        update_conflicts=True,
        unique_fields=["study", "reader"],
        update_fields=["skipped", "started_at", "expires_at"],
    )
