"""Reads for the confirmation screen: the reader's queue, and what one study's page shows."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import (
    Count,
    Exists,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotation.engine.sections import ignored_sections
from annotation.models import (
    Confirmation,
    ConfirmationKind,
    ConfirmValue,
    Label,
    LabelSchema,
    LabelValue,
    QueueLease,
    SoftLabel,
)
from annotation.permissions import ADJUDICATE_ROLES, READ_ROLES
from reports.models import Protocol, Report, ReviewState, Study
from reports.permissions import get_study_for_user

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

# The queue index's order (reports.Study study_queue_prio_idx after protocol, review_state).
QUEUE_ORDER: tuple[str, ...] = ("-queue_priority", "-informativeness", "id")
# Colour slots in read.css (.lbl-0 ... .lbl-19), matched to annotation.services.schemas.PALETTE.
COLOR_SLOTS = 20


def lease_duration() -> dt.timedelta:
    return dt.timedelta(seconds=settings.CONFIRM_LEASE_SECONDS)


def skip_duration() -> dt.timedelta:
    return dt.timedelta(seconds=settings.CONFIRM_SKIP_SECONDS)


def undo_window() -> dt.timedelta:
    return dt.timedelta(seconds=settings.CONFIRM_UNDO_SECONDS)


def study_for_reader(
    user: AbstractBaseUser | AnonymousUser, study_id: int, roles: tuple[str, ...] = READ_ROLES, *, with_report: bool = False
) -> Study:
    """The study if the user reads on its protocol today; 404 otherwise (never 403).

    The protocol comes in the same query; `with_report` adds the report for pages that show it.
    """
    return get_study_for_user(user, study_id, roles, related=("protocol", "report") if with_report else ("protocol",))


def study_report(study: Study) -> Report | None:
    """The study's report: from select_related when it was joined, else one query."""
    try:
        return study.report
    except Report.DoesNotExist:
        return None


def protocol_schema(protocol: Protocol) -> LabelSchema | None:
    """The protocol's schema, else the stored built-in default; None before anything stored it.

    Read only: storing the built-in schema on first use is a write, done by the service
    annotation.services.schemas.schema_for_protocol, which the reading pages' entry points,
    relabelling and demo seeding call first.
    """
    if protocol.label_schema_id is not None:
        return protocol.label_schema
    # Imported late, for its name only: the module pulls in the engine's schema loader.
    from annotation.services.schemas import BUILTIN_DEFAULT

    return LabelSchema.objects.filter(name=BUILTIN_DEFAULT, builtin=True).first()


def protocol_labels(protocol: Protocol) -> list[Label]:
    """The protocol's labels in reading order (none while no schema is stored for it)."""
    schema = protocol_schema(protocol)
    if schema is None:
        return []
    return list(Label.objects.filter(schema=schema).order_by("order", "name"))


@dataclass(frozen=True)
class Soft:
    """One study's soft label for one label, as the reader sees it."""

    value: str
    p: float
    evidence: list[Any]


def labels_with_soft(*, protocol: Protocol, study: Study) -> tuple[list[Label], dict[int, Soft]]:
    """The protocol's labels in reading order and the study's soft labels, in one query.

    A LEFT JOIN of the labels on the study's soft labels (a label the engine did not find has
    none): confirm-and-next needs both for the study it saves and for the one it shows next.
    """
    if protocol.label_schema_id is not None:
        schema_id: int | None = protocol.label_schema_id  # no query for the schema row itself
    else:
        schema = protocol_schema(protocol)
        schema_id = schema.pk if schema is not None else None
    rows = (
        Label.objects.filter(schema_id=schema_id)
        .annotate(
            soft=FilteredRelation(
                "soft_labels", condition=Q(soft_labels__report=Subquery(Report.objects.filter(study=study.pk).values("pk")[:1]))
            )
        )
        .annotate(soft_value=F("soft__value"), soft_p=F("soft__p"), soft_evidence=F("soft__evidence"))
        .order_by("order", "name")
    )
    labels = list(rows)
    soft = {
        label.pk: Soft(value=label.soft_value, p=label.soft_p, evidence=label.soft_evidence or [])
        for label in labels
        if label.soft_value is not None
    }
    return labels, soft


def queue_candidates(
    *, protocol: Protocol, reader: AbstractBaseUser, label_id: int | None = None, now: dt.datetime | None = None
) -> QuerySet[Study]:
    """Open studies this reader may take next: started ones first, then the most informative.

    `protocol` must already be scoped to the reader (get_protocol_for_user or study_for_reader
    with READ_ROLES: every caller resolves the membership once per request). Repeating
    visible_to here cost more in planning than the whole query takes to run.

    Order: Study.queue_priority (kept by the confirm transaction: 2 when a read of the still
    open study differs from the engine, 1 when another reader has started it, 0 untouched), so
    readers finish what others started; then informativeness (set by relabel), then id.

    Walks the index (protocol, review_state, -queue_priority, -informativeness, id) in its own
    order; every other condition is a per-row EXISTS on an indexed key, so LIMIT 1 stops early
    instead of scanning the protocol.
    A study is free while its reads plus other readers' live leases leave a slot.
    """
    now = now or timezone.now()
    others_leases = QueueLease.objects.filter(study=OuterRef("pk"), skipped=False, expires_at__gt=now).exclude(
        reader=reader
    )
    qs = (
        Study.objects.filter(protocol=protocol, review_state=ReviewState.OPEN)
        .exclude(Exists(QueueLease.objects.filter(study=OuterRef("pk"), reader=reader, skipped=True, expires_at__gt=now)))
    )
    if protocol.readers_per_study == 1:
        # reads_done = 0 already says nobody (this reader included) has a current read: it is
        # kept in the transaction that changes the reads. That spares an anti-join on the
        # reader's reads, which PostgreSQL plans as a scan of all of them per candidate.
        qs = qs.filter(reads_done=0).exclude(Exists(others_leases))
    else:
        qs = qs.exclude(
            Exists(
                Confirmation.objects.filter(
                    study=OuterRef("pk"), reader=reader, kind=ConfirmationKind.READ, is_current=True
                )
            )
        )
        held = others_leases.order_by().values("study").annotate(n=Count("pk")).values("n")[:1]
        qs = qs.alias(taken=F("reads_done") + Coalesce(Subquery(held), Value(0))).filter(
            taken__lt=protocol.readers_per_study
        )
    if label_id is not None:
        qs = qs.filter(
            Exists(
                SoftLabel.objects.filter(
                    report__study=OuterRef("pk"),
                    label_id=label_id,
                    value__in=[LabelValue.POSITIVE, LabelValue.UNCERTAIN],
                )
            )
        )
    return qs.order_by(*QUEUE_ORDER)


def _count(qs: QuerySet[Any]) -> Coalesce:
    """COUNT(*) of a queryset correlated on OuterRef, as a scalar subquery (0 when empty)."""
    return Coalesce(Subquery(qs.order_by().values("study").annotate(n=Count("pk")).values("n")[:1]), Value(0))


def slot_free(*, study: Study, reader: AbstractBaseUser, now: dt.datetime) -> bool:
    """Re-check one study's slots with fresh reads; call while holding the study row lock.

    One statement, started after the lock was taken, so it sees every committed read and lease.
    With one reader per study, the locked row's reads_done (the latest committed version: a row
    locked FOR UPDATE is re-read if it changed) already says nobody has read it, so only other
    readers' live leases remain to count.
    """
    live = QueueLease.objects.filter(skipped=False, expires_at__gt=now).exclude(reader=reader)
    if study.protocol.readers_per_study == 1 and study.reads_done == 0:
        return not live.filter(study=study.pk).exists()
    others = live.filter(study=OuterRef("pk"))
    reads = Confirmation.objects.filter(study=OuterRef("pk"), kind=ConfirmationKind.READ, is_current=True)
    mine, taken, held = (
        Study.objects.filter(pk=study.pk)
        .annotate(
            mine=Exists(reads.filter(reader=reader)),
            taken=_count(reads),
            held=_count(others),
        )
        .values_list("mine", "taken", "held")
        .get()
    )
    return not mine and taken + held < study.protocol.readers_per_study


# --- the study page ---


@dataclass(frozen=True)
class Segment:
    text: str
    label: str = ""
    kind: str = ""  # pos / neg / unc for an evidence span
    slot: int = 0
    phrase: str = ""


@dataclass
class SectionView:
    name: str
    context: bool  # indication / history: shown, but the engine ignores them
    segments: list[Segment] = field(default_factory=list)


@dataclass
class LabelRow:
    label: Label
    slot: int
    soft_value: str  # positive / negative / uncertain / absent
    soft_p: float | None
    choice: str


_NEGATED = {"NEGATED_EXISTENCE", "RESOLVED"}
_UNCERTAIN = {"POSSIBLE_EXISTENCE", "PROBABLE_EXISTENCE", "UNCERTAIN"}


def mention_kind(modifiers: list[str] | None) -> str:
    mods = set(modifiers or [])
    if mods & _NEGATED:
        return "neg"
    if mods & _UNCERTAIN:
        return "unc"
    return "pos"


def report_sections(report: Report, spans: list[tuple[int, int, Segment]]) -> list[SectionView]:
    """Split the report into its sections and each section into plain and highlighted text.

    Overlapping evidence spans (two labels on one phrase) keep the first; the template escapes
    every piece, so report text can never become markup.
    """
    text = report.text
    bounds = [(str(name), int(start), int(end)) for name, start, end in (report.sections or [])]
    if not bounds:
        bounds = [("report", 0, len(text))]
    ordered = sorted((s for s in spans if 0 <= s[0] < s[1] <= len(text)), key=lambda s: (s[0], -s[1]))
    # Muted as context: the sections the engine ignores (its one definition, sections.yaml).
    context = ignored_sections()
    views: list[SectionView] = []
    for name, start, end in bounds:
        view = SectionView(name=name, context=name.lower() in context)
        cursor = start
        for span_start, span_end, seg in ordered:
            if span_start < cursor or span_end > end:
                continue
            if span_start > cursor:
                view.segments.append(Segment(text=text[cursor:span_start]))
            view.segments.append(
                Segment(text=text[span_start:span_end], label=seg.label, kind=seg.kind, slot=seg.slot, phrase=seg.phrase)
            )
            cursor = span_end
        if cursor < end:
            view.segments.append(Segment(text=text[cursor:end]))
        views.append(view)
    return views


def study_soft(study: Study) -> dict[int, Soft]:
    return {
        s.label_id: Soft(value=s.value, p=s.p, evidence=s.evidence or [])
        for s in SoftLabel.objects.filter(report__study=study).only("label_id", "value", "p", "evidence")
    }


def read_context(
    *,
    study: Study,
    reader: AbstractBaseUser,
    labels: list[Label],
    soft: dict[int, Soft] | None = None,
    unread: bool = False,
) -> dict[str, Any]:
    """Everything the study page shows, in a fixed number of queries (no per-label query).

    `soft` (from labels_with_soft) saves its query; `unread` says the reader has no current read
    of the study (the queue hands out no other), which saves the look-up of their own read.
    """
    report = study_report(study)
    soft = soft if soft is not None else (study_soft(study) if report is not None else {})
    own = (
        None
        if unread
        else Confirmation.objects.filter(study=study, reader=reader, kind=ConfirmationKind.READ, is_current=True)
        .prefetch_related("labels")
        .first()
    )
    own_values = {cl.label_id: cl.value for cl in own.labels.all()} if own is not None else {}
    rows: list[LabelRow] = []
    spans: list[tuple[int, int, Segment]] = []
    for index, label in enumerate(labels):
        slot = index % COLOR_SLOTS
        soft_label = soft.get(label.pk)
        soft_value = soft_label.value if soft_label is not None else ConfirmValue.ABSENT
        rows.append(
            LabelRow(
                label=label,
                slot=slot,
                soft_value=soft_value,
                soft_p=soft_label.p if soft_label is not None else None,
                choice=own_values.get(label.pk, soft_value),
            )
        )
        for ev in soft_label.evidence if soft_label is not None else []:
            try:
                start, end = int(ev["start"]), int(ev["end"])
            except (KeyError, TypeError, ValueError):
                continue
            seg = Segment(text="", label=label.name, kind=mention_kind(ev.get("modifiers")), slot=slot, phrase=str(ev.get("phrase", "")))
            spans.append((start, end, seg))
    return {
        "study": study,
        "protocol": study.protocol,
        "report": report,
        "sections": report_sections(report, spans) if report is not None else [],
        "rows": rows,
        "own": own,
        "values": [(v.value, v.label, v.label[0].lower()) for v in ConfirmValue],
    }


def previous_study_id(*, protocol: Protocol, reader: AbstractBaseUser, study: Study, own: Confirmation | None) -> int | None:
    """The study this reader confirmed just before this one (or last, for an unread study)."""
    qs = Confirmation.objects.filter(
        study__protocol=protocol, reader=reader, kind=ConfirmationKind.READ, withdrawn_at__isnull=True
    ).exclude(study=study)
    if own is not None:
        qs = qs.filter(created_at__lt=own.created_at)
    return qs.order_by("-created_at").values_list("study_id", flat=True).first()


def undoable_confirmation(*, protocol: Protocol, reader: AbstractBaseUser, now: dt.datetime | None = None) -> Confirmation | None:
    """The reader's last confirmation in this protocol, while the undo window is open."""
    now = now or timezone.now()
    last = (
        Confirmation.objects.filter(study__protocol=protocol, reader=reader, kind=ConfirmationKind.READ)
        .order_by("-created_at")
        .first()
    )
    if last is None or not last.is_current or last.withdrawn_at is not None or last.created_at < now - undo_window():
        return None
    return last


def adjudication_candidates(*, protocol: Protocol, curator: AbstractBaseUser) -> QuerySet[Study]:
    return (
        Study.objects.visible_to(curator, ADJUDICATE_ROLES)
        .filter(protocol=protocol, review_state=ReviewState.ADJUDICATION)
        # queue_priority is 0 on every study waiting for adjudication; naming it keeps the
        # order the queue index's, so this is an index walk too rather than a sort.
        .order_by(*QUEUE_ORDER)
    )


def study_reads(study: Study) -> list[Confirmation]:
    """Current reads and adjudication of a study, with their labels (for the adjudicator only)."""
    return list(
        Confirmation.objects.filter(study=study, is_current=True)
        .select_related("reader")
        .prefetch_related("labels")
        .order_by("kind", "created_at")
    )


