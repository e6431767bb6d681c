"""Confirmation writes: a reader's decision on a study, corrections, undo.

Every write follows one rule (SECURITY.md promise 10): it names the Study.version it saw, and
`UPDATE study SET version = v + 1 WHERE id = .. AND version = v` inside the transaction either
takes the row (and its lock, so a concurrent writer waits and then finds 0 rows) or matches 0
rows and the caller gets a ConfirmationConflict with the current state. The unique constraint
(study, study_version) on Confirmation is the last line if that rule is ever bypassed.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Case, Exists, F, Q, Value, When
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone

from annotation.models import (
    Confirmation,
    ConfirmationKind,
    ConfirmationLabel,
    ConfirmValue,
    Label,
    QueueLease,
)
from annotation.selectors.queue import Soft, labels_with_soft, study_soft, undo_window
from annotation.services.schemas import schema_ensure_stored
from reports.models import AuditAction, ReviewState, Study
from reports.services.audit import audit_record

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

VALUES = frozenset(ConfirmValue.values)

# Study.queue_priority: the reading queue walks (-queue_priority, -informativeness, id), so the
# studies other readers must finish come before untouched ones (issue 4: "disagreements with
# other readers"). Only the confirm transaction writes it; a relabel never touches it.
PRIORITY_UNTOUCHED = 0  # no current read, or no longer open
PRIORITY_STARTED = 1  # open with at least one read: the other readers finish it first
PRIORITY_DISAGREED = 2  # ... and some read differs from the engine on a label: first of all


def read_differs(pairs: Iterable[tuple[str, str | None]]) -> bool:
    """Whether a read's (value, soft_value) pairs differ from the engine anywhere (null = absent)."""
    return any(value != (soft_value or ConfirmValue.ABSENT) for value, soft_value in pairs)


def queue_priority_of(*, state: str, reads: int, differs: bool) -> int:
    """The queue priority a study gets from its review state and current reads."""
    if state != ReviewState.OPEN or reads == 0:
        return PRIORITY_UNTOUCHED
    return PRIORITY_DISAGREED if differs else PRIORITY_STARTED


class ConfirmationInvalid(ValueError):
    """Unknown label names or values; nothing was written."""

    def __init__(self, *, unknown_labels: list[str], invalid_values: dict[str, str]) -> None:
        self.unknown_labels = unknown_labels
        self.invalid_values = invalid_values
        parts = []
        if unknown_labels:
            parts.append("unknown labels: " + ", ".join(repr(n) for n in unknown_labels))
        if invalid_values:
            parts.append(
                "invalid values: "
                + ", ".join(f"{n!r}={v!r}" for n, v in invalid_values.items())
                + f" (expected one of {', '.join(ConfirmValue.values)})"
            )
        super().__init__("; ".join(parts))


@dataclass
class ConfirmationConflict(Exception):
    """The study changed since the caller saw it, or no longer takes this write."""

    message: str
    study_id: int
    version: int
    review_state: str
    reads_done: int
    reason: str = "stale_version"
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, Any]:
        return {
            "detail": self.message,
            "reason": self.reason,
            "study": self.study_id,
            "version": self.version,
            "review_state": self.review_state,
            "reads_done": self.reads_done,
        }


class UndoRefused(Exception):
    pass


def _conflict(study_id: int, message: str, reason: str) -> ConfirmationConflict:
    current = Study.objects.filter(pk=study_id).values("version", "review_state", "reads_done").get()
    return ConfirmationConflict(message=message, study_id=study_id, reason=reason, **current)


def values_check(labels: list[Label], values: Mapping[str, str]) -> dict[int, str]:
    """Map label names to ids, refusing unknown names and values (naming every one of them)."""
    by_name = {label.name: label for label in labels}
    unknown = sorted(name for name in values if name not in by_name)
    invalid = {name: value for name, value in values.items() if name in by_name and value not in VALUES}
    if unknown or invalid:
        raise ConfirmationInvalid(unknown_labels=unknown, invalid_values=invalid)
    return {by_name[name].pk: value for name, value in values.items()}


def confirmation_submit(
    *,
    study: Study,
    reader: AbstractBaseUser,
    values: Mapping[str, str],
    version: int,
    kind: str = ConfirmationKind.READ,
    time_spent_ms: int | None = None,
    request: HttpRequest | None = None,
    channel: str = "page",
    labels: list[Label] | None = None,
    soft: Mapping[int, Soft] | None = None,
) -> Confirmation:
    """Record the reader's decision on every label of the study, as of `version`.

    `values` maps label names to positive / negative / uncertain / absent; a label left out keeps
    the engine's value (what the page pre-selects). A reader's earlier read of the same study is
    superseded, not changed. An adjudication is final: reads of an adjudicated study are refused.
    Raises ConfirmationInvalid (nothing written) or ConfirmationConflict. `labels` and `soft`
    (from labels_with_soft), when the caller already holds them, save their queries.
    """
    protocol = study.protocol
    if labels is None:
        schema_ensure_stored(protocol)
        labels, soft = labels_with_soft(protocol=protocol, study=study)
    chosen = values_check(labels, values)
    try:
        with transaction.atomic():
            confirmation = _confirmation_write(
                study=study, reader=reader, kind=kind, version=version, labels=labels, chosen=chosen,
                soft=soft if soft is not None else study_soft(study), time_spent_ms=time_spent_ms,
                request=request, channel=channel,
            )
    except IntegrityError:
        # Only reachable if a write skipped the version check; still never a silent loss.
        raise _conflict(study.pk, "Another save of this study came first; review it and save again.", "duplicate") from None
    return confirmation


def _refused(study_id: int, version: int, message: str, reason: str) -> ConfirmationConflict:
    """A refusal decided from the state read before the lock: if the caller's version is stale
    anyway, that is the reason they get (as when the conditional UPDATE finds 0 rows)."""
    conflict = _conflict(study_id, message, reason)
    if conflict.version != version:
        return _conflict(study_id, _STALE, "stale_version")
    return conflict


_STALE = "This study was saved again since you opened it (by another reader or another tab); review it and save again."


def _confirmation_write(
    *,
    study: Study,
    reader: AbstractBaseUser,
    kind: str,
    version: int,
    labels: list[Label],
    chosen: dict[int, str],
    soft: Mapping[int, Soft],
    time_spent_ms: int | None,
    request: HttpRequest | None,
    channel: str,
) -> Confirmation:
    """Write one confirmation with a fixed number of statements, whatever the number of labels.

    The study's current confirmations are read *before* the version UPDATE. That is safe because
    every change to them (confirm, correct, adjudicate, undo) moves Study.version in the same
    transaction: if the conditional UPDATE below still matches `version`, nothing changed since
    (a concurrent writer holds the row lock until it commits, and then our WHERE no longer
    matches). Reading first lets one UPDATE set version, reads_done and review_state together.
    """
    protocol = study.protocol
    needed = protocol.readers_per_study
    current = list(Confirmation.objects.filter(study=study, is_current=True).only("pk", "kind", "reader_id"))
    adjudicated = any(row.kind == ConfirmationKind.ADJUDICATION for row in current)
    if adjudicated and kind == ConfirmationKind.READ:
        raise _refused(study.pk, version, "A curator has adjudicated this study; their decision is final.", "adjudicated")
    previous = next(
        (
            row for row in current
            if row.kind == kind and (kind == ConfirmationKind.ADJUDICATION or row.reader_id == reader.pk)
        ),
        None,
    )
    other_reads = [
        row.pk for row in current if row.kind == ConfirmationKind.READ and (previous is None or row.pk != previous.pk)
    ]
    if kind == ConfirmationKind.READ and previous is None and len(other_reads) >= needed:
        raise _refused(study.pk, version, "This study already has all the readers it needs.", "complete")
    rows = [
        ConfirmationLabel(
            label=label,
            value=chosen.get(label.pk, soft[label.pk].value if label.pk in soft else ConfirmValue.ABSENT),
            soft_value=soft[label.pk].value if label.pk in soft else None,
            soft_p=soft[label.pk].p if label.pk in soft else None,
        )
        for label in labels
    ]
    reads = len(other_reads) + (kind == ConfirmationKind.READ)
    if kind == ConfirmationKind.ADJUDICATION or adjudicated:
        state = ReviewState.DONE
    else:
        read_values = [[(row.label_id, row.value) for row in rows]]
        if reads >= needed and reads > 1:
            read_values.append(
                list(ConfirmationLabel.objects.filter(confirmation_id__in=other_reads).values_list("label_id", "value"))
            )
        state = review_state_of(needed=needed, reads=reads, adjudicated=False, read_values=read_values)
    mine_differs = kind == ConfirmationKind.READ and read_differs((row.value, row.soft_value) for row in rows)
    priority: int | Case = queue_priority_of(state=state, reads=reads, differs=mine_differs)
    if priority == PRIORITY_STARTED and other_reads:
        # Still open beside other reads (three or more readers per study): whether one of them
        # differs from the engine is decided inside the UPDATE, not by another statement.
        others_differ = ConfirmationLabel.objects.filter(confirmation_id__in=other_reads).exclude(
            value=Coalesce(F("soft_value"), Value(ConfirmValue.ABSENT))
        )
        priority = Case(When(Exists(others_differ), then=Value(PRIORITY_DISAGREED)), default=Value(PRIORITY_STARTED))
    # The conditional UPDATE is the lock: a concurrent writer with the same version blocks
    # here, and once we commit its WHERE no longer matches.
    if not Study.objects.filter(pk=study.pk, version=version).update(
        version=F("version") + 1, reads_done=reads, review_state=state, queue_priority=priority
    ):
        raise _conflict(study.pk, _STALE, "stale_version")
    if previous is not None:
        Confirmation.objects.filter(pk=previous.pk).update(is_current=False)
    confirmation = Confirmation.objects.create(
        study=study, reader=reader, kind=kind, study_version=version + 1, supersedes=previous, time_spent_ms=time_spent_ms,
    )
    for row in rows:
        row.confirmation = confirmation
    ConfirmationLabel.objects.bulk_create(rows)
    # Release the reader's slot, and sweep their expired leases in the same statement.
    QueueLease.objects.filter(reader=reader).filter(Q(study=study) | Q(expires_at__lte=timezone.now())).delete()
    audit_record(
        actor=reader,
        action=AuditAction.LABEL_CONFIRM,
        obj=study,
        protocol=protocol,
        request=request,
        channel=channel,
        detail={
            "confirmation": confirmation.pk,
            "kind": kind,
            "version": version + 1,
            "supersedes": previous.pk if previous is not None else None,
        },
    )
    return confirmation


def review_state_of(*, needed: int, reads: int, adjudicated: bool, read_values: list[list[tuple[int, str]]]) -> str:
    """Done once the protocol's readers have read and agree on every label, or a curator has
    adjudicated; adjudication while the reads disagree; open while readers are missing.

    `read_values` holds (label id, value) pairs of the current reads (all of them, or at least
    every read when `reads >= needed` and `reads > 1`; it is not consulted otherwise).
    """
    if adjudicated:
        return ReviewState.DONE
    if reads < needed:
        return ReviewState.OPEN
    if reads == 1:
        return ReviewState.DONE
    seen: dict[int, set[str]] = {}
    for pairs in read_values:
        for label_id, value in pairs:
            seen.setdefault(label_id, set()).add(value)
    return ReviewState.DONE if all(len(values) == 1 for values in seen.values()) else ReviewState.ADJUDICATION


def review_state_refresh(*, study: Study) -> None:
    """Recompute reads_done, review_state and queue_priority from the current confirmations.

    Hold the row lock.
    """
    current = list(
        Confirmation.objects.filter(study=study, is_current=True).only("pk", "kind").prefetch_related("labels")
    )
    reads = [row for row in current if row.kind == ConfirmationKind.READ]
    state = review_state_of(
        needed=study.protocol.readers_per_study,
        reads=len(reads),
        adjudicated=any(row.kind == ConfirmationKind.ADJUDICATION for row in current),
        read_values=[[(cl.label_id, cl.value) for cl in row.labels.all()] for row in reads],
    )
    differs = any(read_differs((cl.value, cl.soft_value) for cl in row.labels.all()) for row in reads)
    Study.objects.filter(pk=study.pk).update(
        reads_done=len(reads), review_state=state, queue_priority=queue_priority_of(state=state, reads=len(reads), differs=differs)
    )


def confirmation_undo(
    *, confirmation: Confirmation, reader: AbstractBaseUser, request: HttpRequest | None = None, now: dt.datetime | None = None
) -> Study:
    """Withdraw the reader's own latest read within the undo window; its history stays.

    The read it superseded (if any) becomes current again; the study goes back to the state
    its remaining reads give it, and the version moves on so stale pages cannot save over it.
    """
    now = now or timezone.now()
    with transaction.atomic():
        study = Study.objects.select_for_update().select_related("protocol").get(pk=confirmation.study_id)
        row = Confirmation.objects.select_related("supersedes").get(pk=confirmation.pk)
        if row.reader_id != reader.pk or row.kind != ConfirmationKind.READ:
            raise UndoRefused("Only your own reads can be undone.")
        if not row.is_current or row.withdrawn_at is not None:
            raise UndoRefused("That confirmation was already replaced or undone.")
        if row.created_at < now - undo_window():
            raise UndoRefused("The undo window has passed; open the study and correct it instead.")
        if Confirmation.objects.filter(study=study, kind=ConfirmationKind.ADJUDICATION, is_current=True).exists():
            raise UndoRefused("A curator has adjudicated this study; their decision is final.")
        Confirmation.objects.filter(pk=row.pk).update(is_current=False, withdrawn_at=now)
        if row.supersedes is not None and row.supersedes.withdrawn_at is None:
            Confirmation.objects.filter(pk=row.supersedes_id).update(is_current=True)
        Study.objects.filter(pk=study.pk).update(version=F("version") + 1)
        review_state_refresh(study=study)
        audit_record(
            actor=reader,
            action=AuditAction.LABEL_CONFIRM,
            obj=study,
            protocol=study.protocol,
            request=request,
            detail={"undone": row.pk, "version": study.version + 1},
        )
    study.refresh_from_db(fields=["version", "review_state", "reads_done", "queue_priority"])
    return study
