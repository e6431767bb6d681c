"""Reads about a protocol's soft labels: which reports are stale, and per-label counts."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from annotation.apps import RELABEL_JOB
from annotation.models import Label, LabelSchema, LabelValue, SoftLabel
from reports.models import Job, JobStatus, Protocol, Report

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


def last_full_pass_started(*, protocol: Protocol, engine_version: str, phrase_set_hash: str) -> dt.datetime | None:
    """When the latest successful relabel with this engine version and phrase set began.

    A report in which no label is mentioned has no soft-label row to carry a version, so "this
    report is up to date" is read from the last relabel that covered every stale report: a report
    not changed since that pass began was read by it (or by an earlier pass of the same phrase set).
    """
    job = (
        Job.objects.filter(
            protocol=protocol,
            kind=RELABEL_JOB,
            status=JobStatus.SUCCEEDED,
            result__engine_version=engine_version,
            result__phrase_set_hash=phrase_set_hash,
            started_at__isnull=False,
        )
        .order_by("-started_at")
        .only("started_at")
        .first()
    )
    if job is None:
        return None
    # A relabel of another phrase set since then (a phrase edit, then its revert) may have removed
    # soft labels this pass wrote: an unlabelled report then no longer means "read, nothing found".
    # (The job now running is the caller's own: one relabel per protocol at a time.)
    later = (
        Job.objects.filter(protocol=protocol, kind=RELABEL_JOB, started_at__gt=job.started_at)
        .exclude(status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
        .exclude(status=JobStatus.SUCCEEDED, result__engine_version=engine_version, result__phrase_set_hash=phrase_set_hash)
    )
    return None if later.exists() else job.started_at


def stale_reports(
    reports: QuerySet[Report], *, engine_version: str, phrase_set_hash: str, covered_until: dt.datetime | None
) -> QuerySet[Report]:
    """Reports whose soft labels could change under this engine version and phrase set.

    Stale: a soft label made by another engine version or phrase set (a phrase edit, a schema
    switch), a soft label older than the report's last change, or no soft label at all and no
    full pass of this phrase set since the report last changed.
    """
    labels = SoftLabel.objects.filter(report_id=OuterRef("pk"))
    outdated = labels.exclude(engine_version=engine_version, phrase_set_hash=phrase_set_hash)
    older_than_text = labels.filter(updated_at__lt=OuterRef("updated_at"))
    unlabelled = ~Exists(labels)
    if covered_until is not None:
        unlabelled &= Q(updated_at__gt=covered_until)
    return reports.filter(Exists(outdated) | Exists(older_than_text) | unlabelled)


@dataclass
class LabelCounts:
    label: Label
    positive: int = 0
    negative: int = 0
    uncertain: int = 0

    @property
    def total(self) -> int:
        return self.positive + self.negative + self.uncertain


@dataclass
class ProtocolLabelSummary:
    schema: LabelSchema
    engine_version: str
    phrase_set_hash: str
    reports: int
    stale: int
    labels: list[LabelCounts] = field(default_factory=list)
    # (engine_version, phrase_set_hash, soft-label count) of what is stored, newest first.
    stored_versions: list[tuple[str, str, int]] = field(default_factory=list)


def protocol_label_summary(
    *, user: AbstractBaseUser | AnonymousUser, protocol: Protocol, schema: LabelSchema, engine_version: str, phrase_set_hash: str
) -> ProtocolLabelSummary:
    """Count soft labels per label and value, and stale reports, over the reports `user` may see."""
    reports = Report.objects.visible_to(user).filter(study__protocol_id=protocol.pk)
    soft = SoftLabel.objects.filter(report__in=reports)
    counts = {label.pk: LabelCounts(label=label) for label in schema.labels.order_by("order", "name")}
    for row in soft.filter(label__schema=schema).values("label_id", "value").annotate(n=Count("id")):
        if row["label_id"] in counts and row["value"] in LabelValue.values:
            setattr(counts[row["label_id"]], row["value"], row["n"])
    versions = (
        soft.values("engine_version", "phrase_set_hash").annotate(n=Count("id")).order_by("-n", "engine_version")
    )
    covered = last_full_pass_started(protocol=protocol, engine_version=engine_version, phrase_set_hash=phrase_set_hash)
    return ProtocolLabelSummary(
        schema=schema,
        engine_version=engine_version,
        phrase_set_hash=phrase_set_hash,
        reports=reports.count(),
        stale=stale_reports(
            reports, engine_version=engine_version, phrase_set_hash=phrase_set_hash, covered_until=covered
        ).count(),
        labels=list(counts.values()),
        stored_versions=[(v["engine_version"], v["phrase_set_hash"], v["n"]) for v in versions],
    )
