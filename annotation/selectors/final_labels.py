"""What a study's label *is*: the one rule every consumer of confirmed labels uses.

For a study and a label, the final value is

1. the current adjudication's value, when a curator adjudicated the study; else
2. the readers' agreed value, when the protocol's `readers_per_study` current, non-withdrawn
   reads all carry the label and all give it the same value; else
3. nothing: readers are missing, or they disagree and the study waits for adjudication.

Soft labels are never final labels; a cohort that wants them for the rest asks for them itself.
Agreement is decided per label: readers who agree on Cardiomegaly but not on Edema give a final
Cardiomegaly while Edema waits for the curator.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from django.db.models import QuerySet

from annotation.models import ConfirmationKind, ConfirmationLabel, Label
from reports.models import Protocol, Study

ADJUDICATED = "adjudicated"
AGREED = "agreed"


@dataclass(frozen=True, slots=True)
class FinalLabel:
    value: str  # annotation.models.ConfirmValue: positive / negative / uncertain / absent
    how: str  # ADJUDICATED or AGREED


def _decide(rows: list[tuple[int, str, int, int, str]], needed: int) -> dict[int, FinalLabel]:
    """Final labels from one study's (study, kind, confirmation, label, value) rows."""
    adjudication = [row for row in rows if row[1] == ConfirmationKind.ADJUDICATION]
    if adjudication:
        return {label_id: FinalLabel(value, ADJUDICATED) for _, _, _, label_id, value in adjudication}
    values: dict[int, list[str]] = {}
    for _, _, _, label_id, value in rows:
        values.setdefault(label_id, []).append(value)
    return {
        label_id: FinalLabel(seen[0], AGREED)
        for label_id, seen in values.items()
        if len(seen) >= needed and len(set(seen)) == 1
    }


def _rows(protocol: Protocol, study_ids: Iterable[int] | None, label_ids: Iterable[int] | None) -> QuerySet[Any]:
    qs = ConfirmationLabel.objects.filter(
        confirmation__study__protocol=protocol,
        confirmation__is_current=True,
        confirmation__withdrawn_at__isnull=True,
    )
    if study_ids is not None:
        qs = qs.filter(confirmation__study_id__in=list(study_ids))
    if label_ids is not None:
        qs = qs.filter(label_id__in=list(label_ids))
    return qs.order_by("confirmation__study_id").values_list(
        "confirmation__study_id", "confirmation__kind", "confirmation_id", "label_id", "value"
    )


def iter_final_labels(
    *, protocol: Protocol, label_ids: Iterable[int] | None = None, chunk_size: int = 5000
) -> Iterator[tuple[int, dict[int, FinalLabel]]]:
    """(study id, {label id: FinalLabel}) for every study of the protocol with a final label,
    in study id order, from one streamed query (flat memory on 100,000 studies).

    The caller has scoped `protocol` to the user.
    """
    needed = protocol.readers_per_study
    rows = _rows(protocol, None, label_ids).iterator(chunk_size=chunk_size)
    for study_id, group in groupby(rows, key=lambda row: row[0]):
        final = _decide(list(group), needed)
        if final:
            yield study_id, final


def final_labels_for_studies(
    *, protocol: Protocol, study_ids: Iterable[int], label_ids: Iterable[int] | None = None
) -> dict[int, dict[int, FinalLabel]]:
    """{study id: {label id: FinalLabel}} for the given studies of the protocol, in one query.

    A study or label without a final value is left out. The caller has scoped `protocol`.
    """
    needed = protocol.readers_per_study
    rows = _rows(protocol, study_ids, label_ids)
    out: dict[int, dict[int, FinalLabel]] = {}
    for study_id, group in groupby(rows, key=lambda row: row[0]):
        final = _decide(list(group), needed)
        if final:
            out[study_id] = final
    return out


def study_final_labels(*, study: Study) -> dict[int, FinalLabel]:
    """{label id: FinalLabel} for one study (one query; `study.protocol` should be loaded)."""
    return final_labels_for_studies(protocol=study.protocol, study_ids=[study.pk]).get(study.pk, {})


def final_label(*, study: Study, label: Label) -> FinalLabel | None:
    """The study's final value for one label, or None while it is pending."""
    return final_labels_for_studies(protocol=study.protocol, study_ids=[study.pk], label_ids=[label.pk]).get(
        study.pk, {}
    ).get(label.pk)
