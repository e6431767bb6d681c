"""Agreement per label on a protocol: between readers, and between readers and the engine."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count

from annotation.agreement import Agreement, cohen_kappa, fleiss_kappa
from annotation.models import ConfirmationKind, ConfirmationLabel, ConfirmValue, Label
from annotation.selectors.queue import protocol_labels
from reports.models import Protocol, ReviewState, Study


@dataclass(frozen=True)
class LabelAgreement:
    label: Label
    method: str  # "Cohen" for two readers a study, "Fleiss" for more, "" for one
    readers: Agreement
    engine: Agreement
    disagreements: int  # studies whose reads differ on this label


def protocol_agreement(*, protocol: Protocol) -> list[LabelAgreement]:
    """Kappa per label over the current reads (one query, whatever the number of labels).

    Inter-reader agreement uses studies with at least `readers_per_study` reads (the first ones
    in time, so raters line up as first / second reader); reader-versus-engine compares every
    read with the soft label it started from (absent when there was none).
    """
    needed = protocol.readers_per_study
    rows = (
        ConfirmationLabel.objects.filter(
            confirmation__study__protocol=protocol,
            confirmation__kind=ConfirmationKind.READ,
            confirmation__is_current=True,
        )
        .order_by("confirmation__study_id", "confirmation__created_at", "confirmation_id")
        .values_list("label_id", "confirmation__study_id", "value", "soft_value")
    )
    reads: dict[int, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    engine: dict[int, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for label_id, study_id, value, soft_value in rows.iterator(chunk_size=5000):
        reads[label_id][study_id].append(value)
        engine[label_id][0].append(value)
        engine[label_id][1].append(soft_value or ConfirmValue.ABSENT)
    result = []
    for label in protocol_labels(protocol):
        by_study = reads.get(label.pk, {})
        complete = [values[:needed] for values in by_study.values() if needed >= 2 and len(values) >= needed]
        if needed < 2:
            method, readers = "", Agreement(kappa=None, observed=None, n_items=0)
        elif needed == 2:
            method = "Cohen"
            readers = cohen_kappa([v[0] for v in complete], [v[1] for v in complete])
        else:
            method, readers = "Fleiss", fleiss_kappa(complete)
        mine, engines = engine.get(label.pk, ([], []))
        result.append(
            LabelAgreement(
                label=label,
                method=method,
                readers=readers,
                engine=cohen_kappa(mine, engines),
                disagreements=sum(len(set(v)) > 1 for v in complete),
            )
        )
    return result


def protocol_review_counts(*, protocol: Protocol) -> dict[str, int]:
    counts = dict(
        Study.objects.filter(protocol=protocol).order_by().values_list("review_state").annotate(n=Count("pk"))
    )
    return {state: counts.get(state, 0) for state in ReviewState.values}
