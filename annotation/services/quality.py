"""Quality samples: draw a stratified random sample of a label's soft labels, judge its items.

Strata: the engine's value (positive / negative / uncertain / absent) crossed with the phrase of
the first mention (the phrases with the most reports, the rest pooled as "other"). Each value
gets enough units for a 95% interval about `target_width` wide on its precision (Wilson /
normal sizing with the finite population correction), spread over its phrases proportionally,
at least two per non-empty stratum. Items are judged in one random order, not an active-learning
one, so every estimate is unbiased. See docs/QUALITY.md.
"""
from __future__ import annotations

import random
import secrets
from collections import defaultdict
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Count
from django.http import HttpRequest
from django.utils import timezone

from annotation.apps import QUALITY_SAMPLE_JOB
from annotation.audit import AUDIT_QUALITY_DRAW, AUDIT_QUALITY_JUDGE
from annotation.engine.schema import normalise_phrase
from annotation.metrics.sampling import allocate_sample, sample_size_for_width
from annotation.models import ConfirmValue, Label, QualitySample, QualitySampleItem, SoftLabel
from reports.jobs.runner import JobFailed
from reports.models import Job, JobStatus, Protocol, Report
from reports.services.audit import audit_record
from reports.services.jobs import job_create, job_progress

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# Reading every soft label's first phrase takes about a second per 20,000 reports on SQLite:
# larger protocols draw in a Celery job (DESIGN.md: no long work inside a web request).
INLINE_DRAW_LIMIT = 20_000
WIDTHS = (0.1, 0.15, 0.2, 0.3)
DEFAULT_WIDTH = 0.2
PHRASES_PER_VALUE = 6  # strata per value before the rest is pooled as "other"
OTHER = "(other)"


class QualityInvalid(ValueError):
    """Bad input for a sample or a judgement."""


def stratum_key(value: str, phrase: str) -> str:
    return f"{value}|{phrase}"


def _population(protocol: Protocol, label: Label) -> dict[str, list[tuple[int, float | None]]]:
    """stratum key -> [(report id, p)] over every report of the protocol (absent included)."""
    units: dict[str, list[tuple[int, float | None]]] = defaultdict(list)
    rows = SoftLabel.objects.filter(label=label, report__study__protocol=protocol).values_list(
        "report_id", "value", "p", "evidence__0__phrase"
    )
    by_value: dict[str, dict[str, list[tuple[int, float | None]]]] = defaultdict(lambda: defaultdict(list))
    with_soft: set[int] = set()
    for report_id, value, p, phrase in rows.iterator(chunk_size=5000):
        by_value[value][normalise_phrase(phrase or "")].append((report_id, p))
        with_soft.add(report_id)
    for value, phrases in by_value.items():
        ranked = sorted(phrases, key=lambda t: (-len(phrases[t]), t))
        keep = set(ranked[:PHRASES_PER_VALUE])
        for phrase, members in phrases.items():
            units[stratum_key(value, phrase if phrase in keep else OTHER)].extend(members)
    absent = [
        (pk, None)
        for pk in Report.objects.filter(study__protocol=protocol).values_list("pk", flat=True).iterator(chunk_size=5000)
        if pk not in with_soft
    ]
    if absent:
        units[stratum_key(ConfirmValue.ABSENT, "")] = absent
    return units


def quality_sample_size(*, protocol: Protocol, label: Label, target_width: float) -> tuple[int, int, dict[str, tuple[int, int]]]:
    """(about how many items a draw gives, population, {value: (N, n)}) from indexed counts only.

    The draw then spreads each value's n over its phrases, at least two per phrase stratum, so
    it may hold a few more items than this.
    """
    counts = dict(
        SoftLabel.objects.filter(label=label, report__study__protocol=protocol)
        .values("value")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("value", "n")
    )
    population = Report.objects.filter(study__protocol=protocol).count()
    absent = population - sum(counts.values())
    if absent > 0:
        counts[ConfirmValue.ABSENT] = absent
    per_value = {v: (n_v, sample_size_for_width(target_width, population=n_v)) for v, n_v in counts.items() if n_v > 0}
    return sum(n for _, n in per_value.values()), population, per_value


def _allocate(populations: dict[str, int], target_width: float) -> dict[str, tuple[int, int]]:
    by_value: dict[str, dict[str, int]] = defaultdict(dict)
    for key, size in populations.items():
        by_value[key.split("|", 1)[0]][key] = size
    plan: dict[str, tuple[int, int]] = {}
    for strata in by_value.values():
        n = sample_size_for_width(target_width, population=sum(strata.values()))
        for key, n_h in allocate_sample(strata, n).items():
            plan[key] = (strata[key], n_h)
    return plan


def quality_sample_draw(
    *,
    protocol: Protocol,
    label: Label,
    actor: AbstractBaseUser,
    target_width: float = DEFAULT_WIDTH,
    seed: int | None = None,
    request: HttpRequest | None = None,
) -> QualitySample:
    """Draw and store a stratified random sample of `label`'s soft labels in `protocol`. Audited.

    The caller has checked that `label` is one of the protocol's labels and the actor a curator.
    """
    if not 0.0 < target_width < 1.0:
        raise QualityInvalid("The target interval width must lie between 0 and 1.")
    seed = secrets.randbits(48) if seed is None else seed
    rng = random.Random(seed)
    units = _population(protocol, label)
    plan = _allocate({k: len(v) for k, v in units.items()}, target_width)
    chosen: list[tuple[str, int, float | None, str]] = []
    for key in sorted(plan):
        _, n_h = plan[key]
        members = sorted(units[key])
        for report_id, p in rng.sample(members, n_h):
            chosen.append((key, report_id, p, key.split("|", 1)[0]))
    rng.shuffle(chosen)
    with transaction.atomic():
        sample = QualitySample.objects.create(
            protocol=protocol,
            label=label,
            target_width=target_width,
            seed=seed,
            population=sum(len(v) for v in units.values()),
            strata={key: [size, n] for key, (size, n) in plan.items()},
            created_by=actor,
        )
        QualitySampleItem.objects.bulk_create(
            [
                QualitySampleItem(
                    sample=sample, report_id=report_id, position=i, stratum=key, predicted=value, predicted_p=p
                )
                for i, (key, report_id, p, value) in enumerate(chosen)
            ],
            batch_size=1000,
        )
        audit_record(
            actor=actor,
            action=AUDIT_QUALITY_DRAW,
            obj=sample,
            protocol=protocol,
            request=request,
            detail={"label": label.pk, "items": len(chosen), "population": sample.population},
        )
    return sample


def quality_item_judge(
    *,
    item: QualitySampleItem,
    value: str,
    actor: AbstractBaseUser,
    request: HttpRequest | None = None,
) -> QualitySampleItem:
    """Record the correct value of one sampled (report, label). Re-judging overwrites. Audited."""
    if value not in ConfirmValue.values:
        raise QualityInvalid("The value must be positive, negative, uncertain or absent.")
    with transaction.atomic():
        item.judged_value = value
        item.judged_by = actor
        item.judged_at = timezone.now()
        item.save(update_fields=["judged_value", "judged_by", "judged_at"])
        audit_record(
            actor=actor,
            action=AUDIT_QUALITY_JUDGE,
            obj=item,
            protocol=item.sample.protocol,
            request=request,
            detail={"sample": item.sample_id, "report": item.report_id, "value": value},
        )
    return item


def quality_sample_start(
    *,
    protocol: Protocol,
    label: Label,
    actor: AbstractBaseUser,
    target_width: float = DEFAULT_WIDTH,
    request: HttpRequest | None = None,
) -> tuple[QualitySample | Job, bool]:
    """Draw at once when the protocol is small, else queue a quality-sample job; return it and
    whether it is new.

    A repeated click must not pile up samples nobody judges: while a sample of this label and
    width has no judged item, or a job drawing one is queued or running, that one is returned
    instead of a new draw (`unjudged_sample_or_job`).
    """
    if not 0.0 < target_width < 1.0:
        raise QualityInvalid("The target interval width must lie between 0 and 1.")
    with transaction.atomic():
        # The protocol row lock serialises two clicks on PostgreSQL (SQLite's write lock does
        # the same), so the second one finds what the first one drew or queued.
        Protocol.objects.select_for_update().filter(pk=protocol.pk).first()
        pending = unjudged_sample_or_job(protocol=protocol, label=label, target_width=target_width)
        if pending is not None:
            return pending, False
        if Report.objects.filter(study__protocol=protocol).count() <= INLINE_DRAW_LIMIT:
            drawn = quality_sample_draw(
                protocol=protocol, label=label, actor=actor, target_width=target_width, request=request
            )
            return drawn, True
        job = job_create(
            kind=QUALITY_SAMPLE_JOB,
            protocol=protocol,
            actor=actor,
            params={"label": label.pk, "width": target_width, "seed": secrets.randbits(48)},
        )
        return job, True


def unjudged_sample_or_job(*, protocol: Protocol, label: Label, target_width: float) -> QualitySample | Job | None:
    """The latest sample of this label and width with nothing judged yet, else a quality-sample
    job for them still queued or running, else None."""
    sample = (
        # An empty sample (nothing to draw from then) does not hold back a draw after an import.
        QualitySample.objects.filter(protocol=protocol, label=label, target_width=target_width, items__position=0)
        .exclude(items__judged_value__gt="")
        .first()
    )
    if sample is not None:
        return sample
    return (
        Job.objects.filter(
            protocol=protocol, kind=QUALITY_SAMPLE_JOB, status__in=[JobStatus.QUEUED, JobStatus.RUNNING],
            params__label=label.pk, params__width=target_width,
        )
        .order_by("created_at")
        .first()
    )


def quality_sample_job_run(*, job: Job) -> dict[str, int]:
    """The job body: draw the sample the job's params describe, as the user who asked for it."""
    if job.created_by is None:
        raise JobFailed("The user who asked for this sample no longer exists.")
    label = Label.objects.get(pk=job.params["label"])
    job_progress(job=job, done=0, total=1, message="Drawing the sample")
    sample = quality_sample_draw(
        protocol=job.protocol, label=label, actor=job.created_by, target_width=float(job.params["width"]),
        seed=int(job.params["seed"]),
    )
    job_progress(job=job, done=1, total=1, message="Sample drawn")
    return {"sample": sample.pk, "items": sample.items.count(), "label": label.pk}
