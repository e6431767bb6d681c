"""Measured precision of each phrase of a label: from judged matches and from confirmations.

An observation is one (report, phrase) pair where the phrase fired *affirmatively* (its evidence
carries no negation or uncertainty modifier), so it claims the finding is present:

- a judged match: every MatchJudgement of the phrase counts, right or wrong; when several judges
  judged the same span, the latest verdict counts once;
- a confirmation: a study whose current soft label holds an affirmed mention of the phrase, and
  whose confirmed value is known (the current adjudication, else the current reads when they all
  agree), counts as right when the confirmed value is positive and wrong when it is negative or
  absent; uncertain confirmations and disagreeing reads count for nothing. A phrase that fired
  several times in one report counts once, and not at all from the confirmation when any of its
  matches in that report was judged (the judgement is the more direct evidence).

Precision = right / judged with a 95% Jeffreys interval (Beta(1/2, 1/2) prior); see docs/QUALITY.md.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from annotation.engine.schema import normalise_phrase
from annotation.metrics.intervals import beta_interval
from annotation.models import (
    ConfirmationKind,
    ConfirmationLabel,
    ConfirmValue,
    Label,
    MatchJudgement,
    MatchVerdict,
    Phrase,
    PhraseKind,
    SoftLabel,
)
from reports.models import Protocol

# Modifiers that make a mention something other than "the finding is present".
NOT_AFFIRMED = frozenset({"NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "PROBABLE_EXISTENCE"})


@dataclass(frozen=True, slots=True)
class PrecisionEstimate:
    estimate: float | None  # right / judged; None before anything is judged
    low: float
    high: float
    judged: int
    right: int = 0

    def to_json(self) -> dict[str, float | int | None]:
        return {
            "estimate": None if self.estimate is None else round(self.estimate, 4),
            "low": round(self.low, 4),
            "high": round(self.high, 4),
            "judged": self.judged,
        }


def precision_estimate(right: int, judged: int) -> PrecisionEstimate:
    interval = beta_interval(right, judged)
    return PrecisionEstimate(right / judged if judged else None, interval.low, interval.high, judged, right)


def is_affirmed(evidence: dict) -> bool:
    return not NOT_AFFIRMED.intersection(evidence.get("modifiers") or ())


def _confirmed_values(label: Label, protocol: Protocol | None) -> dict[int, str]:
    """study id -> the confirmed value of `label` (adjudication first, else unanimous reads)."""
    rows = ConfirmationLabel.objects.filter(
        label=label, confirmation__is_current=True, confirmation__withdrawn_at__isnull=True
    )
    if protocol is not None:
        rows = rows.filter(confirmation__study__protocol=protocol)
    adjudicated: dict[int, str] = {}
    reads: dict[int, set[str]] = defaultdict(set)
    for study_id, kind, value in rows.values_list("confirmation__study_id", "confirmation__kind", "value"):
        if kind == ConfirmationKind.ADJUDICATION:
            adjudicated[study_id] = value
        else:
            reads[study_id].add(value)
    out = {study_id: next(iter(values)) for study_id, values in reads.items() if len(values) == 1}
    out.update(adjudicated)
    return out


def phrase_counts_by_text(label: Label, *, protocol: Protocol | None = None) -> dict[str, tuple[int, int]]:
    """normalised phrase text -> (right, judged) for `label` (optionally within one protocol)."""
    right: dict[str, int] = defaultdict(int)
    judged: dict[str, int] = defaultdict(int)
    judgements = MatchJudgement.objects.filter(label=label)
    if protocol is not None:
        judgements = judgements.filter(report__study__protocol=protocol)
    latest: dict[tuple[int, int, int], tuple[str, str]] = {}
    for report_id, start, end, text, verdict in judgements.order_by("at", "id").values_list(
        "report_id", "start", "end", "phrase_text", "verdict"
    ):
        latest[(report_id, start, end)] = (normalise_phrase(text), verdict)
    judged_pairs: set[tuple[int, str]] = set()
    for (report_id, _, _), (text, verdict) in latest.items():
        judged[text] += 1
        right[text] += verdict == MatchVerdict.RIGHT
        judged_pairs.add((report_id, text))

    confirmed = _confirmed_values(label, protocol)
    if confirmed:
        soft = SoftLabel.objects.filter(label=label, report__study_id__in=list(confirmed)).values_list(
            "report_id", "report__study_id", "evidence"
        )
        for report_id, study_id, evidence in soft.iterator(chunk_size=2000):
            value = confirmed[study_id]
            if value == ConfirmValue.UNCERTAIN:
                continue
            phrases = {normalise_phrase(e.get("phrase", "")) for e in evidence or () if is_affirmed(e)}
            for text in phrases:
                if not text or (report_id, text) in judged_pairs:
                    continue
                judged[text] += 1
                right[text] += value == ConfirmValue.POSITIVE
    return {text: (right[text], judged[text]) for text in judged}


def phrase_precision_by_text(label: Label, *, protocol: Protocol | None = None) -> dict[str, PrecisionEstimate]:
    return {text: precision_estimate(r, n) for text, (r, n) in phrase_counts_by_text(label, protocol=protocol).items()}


def phrase_precision_for_label(label: Label, *, protocol: Protocol | None = None) -> dict[int, PrecisionEstimate]:
    """phrase id -> PrecisionEstimate for every mention phrase of `label` (judged = 0 when unknown).

    Counts pool every protocol that reads the label's schema unless `protocol` is given; callers
    check access to the label first.
    """
    by_text = phrase_counts_by_text(label, protocol=protocol)
    phrases = Phrase.objects.filter(label=label, kind=PhraseKind.MENTION).values_list("pk", "text")
    return {pk: precision_estimate(*by_text.get(normalise_phrase(text), (0, 0))) for pk, text in phrases}
