"""The review list: studies filtered by one label's soft label, for curators and data scientists.

Filters: value (absent included), p range, a phrase among the evidence, and engine-vs-reader
disagreement (a current, not withdrawn confirmation of the label whose value differs from the
current soft label's). Paged by Django's paginator over an indexed (label, value) scan; no report
text is read, so the list is not an audited read.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, QuerySet

from annotation.engine.schema import normalise_phrase
from annotation.models import ConfirmationLabel, ConfirmValue, Label, SoftLabel
from annotation.selectors.quality import calibrated_p, calibration_maps
from reports.models import Protocol, Study

PER_PAGE = 50


@dataclass(frozen=True)
class ReviewFilter:
    value: str = ""  # "", a LabelValue, or "absent"
    p_min: float | None = None
    p_max: float | None = None
    phrase: str = ""
    disagreement: bool = False


@dataclass(frozen=True)
class ReviewRow:
    study_id: int
    value: str
    p: float | None
    calibrated_p: float | None
    phrases: list[str]
    readers: list[str]


def _confirmed(label: Label) -> QuerySet[ConfirmationLabel]:
    return ConfirmationLabel.objects.filter(
        label=label, confirmation__is_current=True, confirmation__withdrawn_at__isnull=True
    )


def review_queryset(*, protocol: Protocol, label: Label, flt: ReviewFilter) -> QuerySet:
    """SoftLabel rows (or Study rows when value is absent), filtered and ordered by study id."""
    if flt.value == ConfirmValue.ABSENT:
        studies = Study.objects.filter(protocol=protocol).exclude(
            Exists(SoftLabel.objects.filter(label=label, report__study=OuterRef("pk")))
        )
        if flt.disagreement:
            studies = studies.filter(
                Exists(_confirmed(label).filter(confirmation__study=OuterRef("pk")).exclude(value=ConfirmValue.ABSENT))
            )
        return studies.order_by("pk").values_list("pk", flat=True)
    rows = SoftLabel.objects.filter(label=label, report__study__protocol=protocol)
    if flt.value:
        rows = rows.filter(value=flt.value)
    if flt.p_min is not None:
        rows = rows.filter(p__gte=flt.p_min)
    if flt.p_max is not None:
        rows = rows.filter(p__lte=flt.p_max)
    if flt.phrase:
        rows = rows.filter(evidence__icontains=f'"phrase": "{normalise_phrase(flt.phrase)}"')
    if flt.disagreement:
        rows = rows.filter(
            Exists(
                _confirmed(label).filter(confirmation__study=OuterRef("report__study")).exclude(value=OuterRef("value"))
            )
        )
    return rows.order_by("report__study_id").values_list("report__study_id", "value", "p", "evidence")


def review_page(*, protocol: Protocol, label: Label, flt: ReviewFilter, page: int = 1) -> tuple[Page, list[ReviewRow]]:
    """One page of the review list, with the readers' current values of the label per study."""
    paginator = Paginator(review_queryset(protocol=protocol, label=label, flt=flt), PER_PAGE)
    page_obj = paginator.get_page(page)
    if flt.value == ConfirmValue.ABSENT:
        raw = [(study_id, ConfirmValue.ABSENT, None, []) for study_id in page_obj.object_list]
    else:
        raw = list(page_obj.object_list)
    study_ids = [r[0] for r in raw]
    readers: dict[int, list[str]] = {}
    for study_id, value in _confirmed(label).filter(confirmation__study_id__in=study_ids).order_by(
        "confirmation__created_at"
    ).values_list("confirmation__study_id", "value"):
        readers.setdefault(study_id, []).append(value)
    maps = calibration_maps(protocol=protocol)
    rows = [
        ReviewRow(
            study_id=study_id,
            value=value,
            p=p,
            calibrated_p=calibrated_p(maps, label.pk, p) if label.pk in maps else None,
            phrases=sorted({normalise_phrase(e.get("phrase", "")) for e in evidence or ()}),
            readers=readers.get(study_id, []),
        )
        for study_id, value, p, evidence in raw
    ]
    return page_obj, rows

