"""Reads of studies and reports for pages and the API, always through the scoping rule.

List queries never load report text: they select the study's own columns (and the protocol's
IRB number) only, so a list of 100,000 studies costs an index scan, not a scan of reports.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, F, Q

from reports.hooks import context_sections
from reports.models import Protocol, Report, ReviewState, Study, StudyQuerySet
from reports.permissions import get_study_for_user

STUDY_LIST_FIELDS = (
    "id", "accession", "modality", "body_part", "study_date", "review_state", "reads_done",
    "protocol_id", "protocol__irb_number",
)


@dataclass(frozen=True)
class StudyFilters:
    protocol_id: int | None = None
    modality: str = ""
    accession_prefix: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    review_state: str = ""


def study_list(*, user: AbstractBaseUser | AnonymousUser, filters: StudyFilters) -> StudyQuerySet:
    """The user's studies matching `filters`, newest first (undated ones on top), without report columns."""
    # The scope is resolved to literal ids first: with `protocol_id IN (<ids>)` the planner walks
    # study_list_idx in order and stops after one page, where a subquery made it sort every study.
    protocol_ids = list(Protocol.objects.visible_to(user).values_list("id", flat=True))
    if filters.protocol_id is not None:
        protocol_ids = [pk for pk in protocol_ids if pk == filters.protocol_id]
    qs = Study.objects.filter(protocol_id__in=protocol_ids).select_related("protocol").only(*STUDY_LIST_FIELDS)
    if filters.modality:
        qs = qs.filter(modality__iexact=filters.modality)
    if filters.accession_prefix:
        qs = qs.filter(accession__startswith=filters.accession_prefix)
    if filters.date_from is not None:
        qs = qs.filter(study_date__gte=filters.date_from)
    if filters.date_to is not None:
        qs = qs.filter(study_date__lte=filters.date_to)
    if filters.review_state:
        qs = qs.filter(review_state=filters.review_state)
    # NULLS FIRST is PostgreSQL's own order for a descending index, so study_list_idx serves it.
    return qs.order_by(F("study_date").desc(nulls_first=True), "-id")


@dataclass(frozen=True)
class KeysetPage:
    items: list[Study]
    next_after: int | None
    prev_before: int | None
    total: int
    total_capped: bool


def _after(anchor: Study) -> Q:
    """Rows that sort after `anchor` in (study_date desc nulls first, id desc)."""
    if anchor.study_date is None:
        return Q(study_date__isnull=True, id__lt=anchor.pk) | Q(study_date__isnull=False)
    return Q(study_date__lt=anchor.study_date) | Q(study_date=anchor.study_date, id__lt=anchor.pk)


def _before(anchor: Study) -> Q:
    if anchor.study_date is None:
        return Q(study_date__isnull=True, id__gt=anchor.pk)
    return Q(study_date__gt=anchor.study_date) | Q(study_date=anchor.study_date, id__gt=anchor.pk) | Q(
        study_date__isnull=True
    )


def study_page(
    *, queryset: StudyQuerySet, after: int | None = None, before: int | None = None, size: int = 50, count_cap: int = 10_000
) -> KeysetPage:
    """One keyset page of `queryset` (from `study_list`), anchored on a study id.

    Keyset paging costs the same on page 1 and page 2,000; the total is counted only up to
    `count_cap`, which keeps the count cheap on a protocol of millions.
    """
    anchor_id = after if after is not None else before
    anchor = (
        queryset.filter(pk=anchor_id).select_related(None).only("id", "study_date").first()
        if anchor_id is not None
        else None
    )
    if anchor is not None and after is not None:
        rows = list(queryset.filter(_after(anchor))[: size + 1])
        has_more, items = len(rows) > size, rows[:size]
        has_prev = True
    elif anchor is not None:
        reverse = queryset.filter(_before(anchor)).order_by(F("study_date").asc(nulls_last=True), "id")
        rows = list(reverse[: size + 1])
        has_prev, items = len(rows) > size, rows[:size][::-1]
        has_more = True
    else:
        rows = list(queryset[: size + 1])
        has_more, items, has_prev = len(rows) > size, rows[:size], False
    total = queryset.order_by()[: count_cap + 1].count()
    return KeysetPage(
        items=items,
        next_after=items[-1].pk if has_more and items else None,
        prev_before=items[0].pk if has_prev and items else None,
        total=min(total, count_cap),
        total_capped=total > count_cap,
    )


def protocol_summaries_for_user(*, user: AbstractBaseUser | AnonymousUser) -> list[dict[str, Any]]:
    """The user's protocols with their role and study counts (total / open / done), in two queries."""
    protocols = list(Protocol.objects.visible_to(user).order_by("irb_number"))
    counts = {
        row["protocol_id"]: row
        for row in Study.objects.filter(protocol__in=[p.pk for p in protocols])
        .order_by()
        .values("protocol_id")
        .annotate(
            total=Count("id"),
            open=Count("id", filter=~Q(review_state=ReviewState.DONE)),
            done=Count("id", filter=Q(review_state=ReviewState.DONE)),
        )
    }
    empty = {"total": 0, "open": 0, "done": 0}
    return [{"protocol": p, **{k: counts.get(p.pk, empty)[k] for k in empty}} for p in protocols]


@dataclass(frozen=True)
class ReportSection:
    name: str
    text: str
    is_context: bool


def report_sections(report: Report) -> list[ReportSection]:
    """The report cut into its sections; the whole text as one section when none were found."""
    if not report.sections:
        return [ReportSection(name="report", text=report.text, is_context=False)]
    # Why the study was done rather than what it shows (shown muted): the sections the engine
    # ignores, given by the app that registered the splitter (reports.hooks).
    context = context_sections()
    return [
        ReportSection(name=name, text=text, is_context=name in context)
        for name, text in report.section_texts()
    ]


def study_with_report(*, user: AbstractBaseUser, study_id: int) -> tuple[Study, Report | None]:
    """A study (404 out of scope) and its report. Showing the text is audited by the caller's
    service (reports.services.studies.study_report_read), not here: selectors only read."""
    study = get_study_for_user(user, study_id)
    return study, Report.objects.filter(study=study).first()
