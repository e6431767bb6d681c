"""Confirmation writes: a reader's decision on a study, corrections, undo.

Every write follows one rule (SECURITY.md promise 10): it names the Study.version it saw, and
`UPDATE study SET version = v + 1 WHERE id = .. AND version = v` inside the transaction either
takes the row (and its lock, so a concurrent writer waits and then finds 0 rows) or matches 0
rows and the caller gets a ConfirmationConflict with the current state. The unique constraint
(study, study_version) on Confirmation is the last line if that rule is ever bypassed.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from annotation.models import (
    Confirmation,
    ConfirmationKind,
    ConfirmationLabel,
    ConfirmValue,
    Label,
    QueueLease,
    SoftLabel,
)
from annotation.selectors.queue import protocol_labels, undo_window
from reports.models import AuditAction, ReviewState, Study
from reports.services.audit import audit_record

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

VALUES = frozenset(ConfirmValue.values)


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
) -> Confirmation:
    """Record the reader's decision on every label of the study, as of `version`.

    `values` maps label names to positive / negative / uncertain / absent; a label left out keeps
    the engine's value (what the page pre-selects). A reader's earlier read of the same study is
    superseded, not changed. An adjudication is final: reads of an adjudicated study are refused.
    Raises ConfirmationInvalid (nothing written) or ConfirmationConflict. `labels`, when the
    caller already holds the protocol's labels, saves a query.
    """
    protocol = study.protocol
    labels = labels if labels is not None else protocol_labels(protocol)
    chosen = values_check(labels, values)
    try:
        with transaction.atomic():
            confirmation = _confirmation_write(
                study=study, reader=reader, kind=kind, version=version, labels=labels, chosen=chosen,
                time_spent_ms=time_spent_ms, request=request, channel=channel,
            )
    except IntegrityError:
        # Only reachable if a write skipped the version check; still never a silent loss.
        raise _conflict(study.pk, "This study was saved by someone else at the same moment.", "duplicate") from None
    return confirmation


def _confirmation_write(
    *,
    study: Study,
    reader: AbstractBaseUser,
    kind: str,
    version: int,
    labels: list[Label],
    chosen: dict[int, str],
    time_spent_ms: int | None,
    request: HttpRequest | None,
    channel: str,
) -> Confirmation:
    protocol = study.protocol
    # The conditional UPDATE is the lock: a concurrent writer with the same version blocks
    # here, and once we commit its WHERE no longer matches.
    if not Study.objects.filter(pk=study.pk, version=version).update(version=F("version") + 1):
        raise _conflict(
            study.pk, "This study was saved by someone else since you opened it; review it and save again.",
            "stale_version",
        )
    current = list(Confirmation.objects.filter(study=study, is_current=True).only("pk", "kind", "reader_id"))
    adjudicated = any(row.kind == ConfirmationKind.ADJUDICATION for row in current)
    reads = sum(row.kind == ConfirmationKind.READ for row in current)
    if adjudicated and kind == ConfirmationKind.READ:
        raise _conflict(study.pk, "A curator has adjudicated this study; their decision is final.", "adjudicated")
    previous = next(
        (
            row for row in current
            if row.kind == kind and (kind == ConfirmationKind.ADJUDICATION or row.reader_id == reader.pk)
        ),
        None,
    )
    if kind == ConfirmationKind.READ and previous is None and reads >= protocol.readers_per_study:
        raise _conflict(study.pk, "This study already has all the readers it needs.", "complete")
    if previous is not None:
        Confirmation.objects.filter(pk=previous.pk).update(is_current=False)
    soft = {s.label_id: s for s in SoftLabel.objects.filter(report__study=study)}
    confirmation = Confirmation.objects.create(
        study=study, reader=reader, kind=kind, study_version=version + 1, supersedes=previous, time_spent_ms=time_spent_ms,
    )
    ConfirmationLabel.objects.bulk_create(
        [
            ConfirmationLabel(
                confirmation=confirmation,
                label=label,
                value=chosen.get(label.pk, soft[label.pk].value if label.pk in soft else ConfirmValue.ABSENT),
                soft_value=soft[label.pk].value if label.pk in soft else None,
                soft_p=soft[label.pk].p if label.pk in soft else None,
            )
            for label in labels
        ]
    )
    if kind == ConfirmationKind.READ and previous is None:
        reads += 1
    review_state_refresh(study=study, reads=reads, adjudicated=adjudicated or kind == ConfirmationKind.ADJUDICATION)
    QueueLease.objects.filter(study=study, reader=reader).delete()
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


def review_state_refresh(*, study: Study, reads: int | None = None, adjudicated: bool | None = None) -> None:
    """Recompute reads_done and review_state from the current confirmations. Hold the row lock.

    Done once the protocol's readers have read and agree on every label, or a curator has
    adjudicated; adjudication while the reads disagree; open while readers are missing.
    `reads` and `adjudicated`, when the caller has just counted them, save the queries.
    """
    needed = study.protocol.readers_per_study
    current = Confirmation.objects.filter(study=study, is_current=True)
    if adjudicated is None:
        adjudicated = current.filter(kind=ConfirmationKind.ADJUDICATION).exists()
    if reads is None:
        reads = current.filter(kind=ConfirmationKind.READ).count()
    if adjudicated:
        state = ReviewState.DONE
    else:
        if reads < needed:
            state = ReviewState.OPEN
        elif needed == 1 and reads == 1:
            state = ReviewState.DONE
        else:
            distinct = (
                ConfirmationLabel.objects.filter(
                    confirmation__study=study, confirmation__is_current=True, confirmation__kind=ConfirmationKind.READ
                )
                .values("label_id", "value")
                .distinct()
                .count()
            )
            labelled = (
                ConfirmationLabel.objects.filter(
                    confirmation__study=study, confirmation__is_current=True, confirmation__kind=ConfirmationKind.READ
                )
                .values("label_id")
                .distinct()
                .count()
            )
            state = ReviewState.DONE if distinct == labelled else ReviewState.ADJUDICATION
    Study.objects.filter(pk=study.pk).update(reads_done=reads, review_state=state)


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
    study.refresh_from_db(fields=["version", "review_state", "reads_done"])
    return study
