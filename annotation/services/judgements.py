"""Match judgements: a curator says whether one phrase hit really speaks of the label's finding."""
from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from annotation.audit import AUDIT_MATCH_JUDGE, AUDIT_PRECISION_APPLY
from annotation.engine.schema import normalise_phrase
from annotation.models import Label, MatchJudgement, MatchVerdict, Phrase, PhraseKind, SoftLabel
from annotation.selectors.precision import phrase_precision_for_label
from reports.models import Protocol, Report
from reports.services.audit import audit_record

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

NOTE_MAX = 500
# A phrase's measured precision replaces the engine's prior once this many of its matches are judged.
PRECISION_MIN_JUDGED = 30


class JudgementInvalid(ValueError):
    """The span is not one of the label's current matches in the report, or the input is bad."""


def match_judge(
    *,
    actor: AbstractBaseUser,
    protocol: Protocol,
    report: Report,
    label: Label,
    start: int,
    end: int,
    verdict: str,
    note: str = "",
    request: HttpRequest | None = None,
) -> MatchJudgement:
    """Record (or change) the actor's verdict on the match [start, end) of `label` in `report`.

    The span must be evidence of the report's current soft label for `label`; the caller has
    checked that the actor may curate `protocol` and that the report belongs to it. Audited.
    """
    if verdict not in MatchVerdict.values:
        raise JudgementInvalid("Verdict must be right or wrong.")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise JudgementInvalid(f"A note holds at most {NOTE_MAX} characters.")
    soft = SoftLabel.objects.filter(report=report, label=label).values_list("evidence", flat=True).first()
    evidence = next((e for e in soft or () if e.get("start") == start and e.get("end") == end), None)
    if evidence is None:
        raise JudgementInvalid("That span is not a current match of this label in this report.")
    phrase_text = normalise_phrase(evidence.get("phrase", ""))
    phrase = next(
        (
            p
            for p in Phrase.objects.filter(label=label, kind=PhraseKind.MENTION)
            if normalise_phrase(p.text) == phrase_text
        ),
        None,
    )
    with transaction.atomic():
        judgement, created = MatchJudgement.objects.update_or_create(
            report=report,
            label=label,
            start=start,
            end=end,
            judge=actor,
            defaults={
                "verdict": verdict,
                "note": note,
                "phrase": phrase,
                "phrase_text": phrase_text,
                "at": timezone.now(),
            },
        )
        audit_record(
            actor=actor,
            action=AUDIT_MATCH_JUDGE,
            obj=judgement,
            protocol=protocol,
            request=request,
            detail={
                "report": report.pk,
                "label": label.pk,
                "phrase": phrase.pk if phrase is not None else None,
                "verdict": verdict,
                "created": created,
            },
        )
    return judgement


def phrase_precision_apply(
    *,
    actor: AbstractBaseUser,
    protocol: Protocol,
    label: Label,
    min_judged: int = PRECISION_MIN_JUDGED,
    request: HttpRequest | None = None,
) -> dict[int, float]:
    """Store each phrase's measured precision (Jeffreys posterior mean) as the engine's prior,
    for phrases with at least `min_judged` observations. Returns {phrase id: new precision}.

    This changes the label's phrase set, so the protocol's soft labels become stale until the
    next relabel (which the labels page offers); confirmed labels are never touched.
    """
    estimates = phrase_precision_for_label(label, protocol=protocol)
    changed: dict[int, float] = {}
    before: dict[int, float | None] = {}
    with transaction.atomic():
        phrases = {p.pk: p for p in Phrase.objects.select_for_update().filter(pk__in=list(estimates))}
        for pk, est in estimates.items():
            if est.judged < min_judged:
                continue
            value = round((est.right + 0.5) / (est.judged + 1.0), 4)
            phrase = phrases[pk]
            if phrase.precision != value:
                before[pk] = phrase.precision
                phrase.precision = value
                phrase.updated_at = timezone.now()  # bulk_update skips auto_now
                changed[pk] = value
        Phrase.objects.bulk_update([phrases[pk] for pk in changed], ["precision", "updated_at"])
        audit_record(
            actor=actor,
            action=AUDIT_PRECISION_APPLY,
            obj=label,
            protocol=protocol,
            request=request,
            # before and after per phrase id: the history of the engine's priors
            detail={"label": label.pk, "phrases": {str(k): [before[k], v] for k, v in changed.items()}},
        )
    return changed
