"""Reads for deployments and monitoring: access, the ordered streams, windows, charts and alerts.

The reference for a scored study and label (docs/MONITORING.md, The reference) is its final label
(annotation.selectors.final_labels: adjudicated, or agreed by the readers) when it has one, else
the engine's soft label from the report: positive -> 1, negative -> 0, not mentioned (absent) ->
0; uncertain -> no reference (the study is left out of that label's stream, as U-Ignore does in
training). A report the engine has not read yet has no reference at all.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import F, QuerySet
from django.http import Http404

from annotation.apps import RELABEL_JOB
from annotation.models import Label, SoftLabel
from annotation.selectors.final_labels import iter_final_labels
from annotation.selectors.queue import protocol_labels
from reports.models import Job, JobStatus, Protocol, Role, Study
from training.models import (
    AlertStatus,
    Deployment,
    DeploymentEvent,
    DeploymentVersion,
    MonitoringAlert,
    Prediction,
)
from training.monitoring_core.events import Equipment, EquipmentEvent, equipment_events
from training.monitoring_core.stats import WindowMetrics, window_metrics

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

# Who may change a deployment, post predictions and handle alerts; every member may read.
MANAGE_ROLES = (Role.DATA_SCIENTIST,)
# Who may queue an alert's studies for confirmation (it changes the readers' queue).
QUEUE_ROLES = (Role.DATA_SCIENTIST, Role.CURATOR)
WINDOW = 100  # studies per rolling window on the chart
WINDOW_STEP = 25

_VALUE = {"positive": 1, "negative": 0, "absent": 0, "uncertain": None}


def deployments_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Deployment]:
    return Deployment.objects.filter(protocol__in=Protocol.objects.visible_to(user)).select_related(
        "protocol", "active_version"
    )


def get_deployment_for_user(user: AbstractBaseUser | AnonymousUser, deployment_id: int) -> Deployment:
    """The deployment if the user is a member of its protocol today; 404 otherwise."""
    deployment = deployments_visible_to(user).filter(pk=deployment_id).first()
    if deployment is None:
        raise Http404("No such deployment")
    return deployment


def get_alert_for_user(user: AbstractBaseUser | AnonymousUser, alert_id: int) -> MonitoringAlert:
    alert = (
        MonitoringAlert.objects.filter(pk=alert_id, deployment__protocol__in=Protocol.objects.visible_to(user))
        .select_related("deployment__protocol", "version", "label", "change_study", "detected_study")
        .first()
    )
    if alert is None:
        raise Http404("No such alert")
    return alert


def has_role(user: AbstractBaseUser | AnonymousUser, protocol: Protocol, roles: tuple[str, ...]) -> bool:
    return Protocol.objects.visible_to(user, roles).filter(pk=protocol.pk).exists()


# -- streams -------------------------------------------------------------------------------------


@dataclass
class LabelStream:
    """One label's scored studies with a reference, in study-date order."""

    label: Label
    threshold: float
    positions: list[int] = field(default_factory=list)  # index into VersionStreams.studies
    reference: list[int] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)

    @property
    def predicted(self) -> list[int]:
        return [int(p >= self.threshold) for p in self.scores]

    @property
    def disagreements(self) -> list[int]:
        return [int(pred != ref) for pred, ref in zip(self.predicted, self.reference, strict=True)]


@dataclass
class VersionStreams:
    version: DeploymentVersion
    study_ids: list[int]
    dates: list[dt.date | None]
    equipment: list[Equipment]
    labels: dict[str, LabelStream]
    events: list[EquipmentEvent]


def version_streams(version: DeploymentVersion) -> VersionStreams:
    """Every scored study of the version in study-date order (undated last, then by id), with the
    reference and score per label. A handful of queries whatever the size."""
    protocol = version.deployment.protocol
    by_name = {label.name: label for label in protocol_labels(protocol)}
    labels = [by_name[name] for name in version.labels if name in by_name]
    label_ids = [label.pk for label in labels]
    scored = Prediction.objects.filter(version=version).values("study_id")
    rows = list(
        Study.objects.filter(pk__in=scored)
        .order_by(F("study_date").asc(nulls_last=True), "id")
        .values_list(
            "id", "study_date", "manufacturer", "scanner_model", "software_version", "station", "report__updated_at"
        )
    )
    scores: dict[int, dict[int, float]] = defaultdict(dict)
    for study_id, label_id, p in Prediction.objects.filter(version=version).values_list("study_id", "label_id", "p"):
        scores[study_id][label_id] = p
    soft: dict[int, dict[int, int | None]] = defaultdict(dict)
    for study_id, label_id, value in SoftLabel.objects.filter(report__study_id__in=scored).values_list(
        "report__study_id", "label_id", "value"
    ):
        soft[study_id][label_id] = _VALUE.get(value)
    covered = _relabel_covered_until(protocol)
    wanted = set(scores)
    final: dict[int, dict[int, int | None]] = {}
    for study_id, values in iter_final_labels(protocol=protocol, label_ids=label_ids):
        if study_id in wanted:
            final[study_id] = {label_id: _VALUE.get(item.value) for label_id, item in values.items()}

    streams = {
        label.name: LabelStream(label=label, threshold=version.threshold(label.name)) for label in labels
    }
    study_ids, dates, equipment = [], [], []
    for position, (study_id, day, maker, model, software, station, report_updated) in enumerate(rows):
        study_ids.append(study_id)
        dates.append(day)
        equipment.append(Equipment(maker, model, software, station))
        # Read by the engine: a soft label exists, or a full relabel ran after the report last changed.
        read = study_id in soft or (
            report_updated is not None and covered is not None and report_updated <= covered
        )
        for label in labels:
            p = scores[study_id].get(label.pk)
            if p is None:
                continue
            if label.pk in final.get(study_id, {}):
                ref = final[study_id][label.pk]
            elif read:
                ref = soft[study_id].get(label.pk, 0)
            else:
                ref = None
            if ref is None:
                continue
            stream = streams[label.name]
            stream.positions.append(position)
            stream.reference.append(ref)
            stream.scores.append(p)
    return VersionStreams(
        version=version, study_ids=study_ids, dates=dates, equipment=equipment, labels=streams,
        events=equipment_events(equipment),
    )


def _relabel_covered_until(protocol: Protocol) -> dt.datetime | None:
    """When the latest successful relabel began: a report unchanged since was read by it."""
    job = (
        Job.objects.filter(protocol=protocol, kind=RELABEL_JOB, status=JobStatus.SUCCEEDED, started_at__isnull=False)
        .order_by("-started_at")
        .only("started_at")
        .first()
    )
    return job.started_at if job is not None else None


# -- windows and charts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowPoint:
    start: int  # position in the study stream of the window's first study
    end: int  # ... and last study
    first_date: dt.date | None
    last_date: dt.date | None
    metrics: WindowMetrics


def count_windows(streams: VersionStreams, name: str, *, size: int = WINDOW, step: int = WINDOW_STEP) -> list[WindowPoint]:
    """Rolling windows of `size` studies every `step` studies (one window when fewer)."""
    stream = streams.labels[name]
    n = len(stream.positions)
    if n == 0:
        return []
    starts = list(range(0, max(1, n - size + 1), step))
    if starts[-1] + size < n:
        starts.append(n - size)
    predicted = stream.predicted
    points = []
    for start in starts:
        stop = min(n, start + size)
        points.append(
            WindowPoint(
                start=stream.positions[start], end=stream.positions[stop - 1],
                first_date=streams.dates[stream.positions[start]], last_date=streams.dates[stream.positions[stop - 1]],
                metrics=window_metrics(stream.reference[start:stop], predicted[start:stop], stream.scores[start:stop]),
            )
        )
    return points


def week_windows(streams: VersionStreams, name: str, *, last: int | None = None) -> list[tuple[str, WindowMetrics]]:
    """One row per ISO week of study date (undated studies left out); the `last` weeks only when given."""
    stream = streams.labels[name]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, position in enumerate(stream.positions):
        day = streams.dates[position]
        if day is not None:
            year, week, _ = day.isocalendar()
            groups[f"{year}-W{week:02d}"].append(i)
    predicted = stream.predicted
    return [
        (week, window_metrics([stream.reference[i] for i in idx], [predicted[i] for i in idx], [stream.scores[i] for i in idx]))
        for week, idx in sorted(groups.items())[-(last or len(groups)) :]
    ]


def equipment_split(streams: VersionStreams, name: str, attribute: str) -> list[tuple[str, WindowMetrics]]:
    """Agreement of one label split by an equipment field (software_version, model, ...)."""
    stream = streams.labels[name]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, position in enumerate(stream.positions):
        groups[getattr(streams.equipment[position], attribute) or "—"].append(i)
    predicted = stream.predicted
    return [
        (value, window_metrics([stream.reference[i] for i in idx], [predicted[i] for i in idx], [stream.scores[i] for i in idx]))
        for value, idx in sorted(groups.items())
    ]


def expected_agreement(version: DeploymentVersion, stream: LabelStream) -> float | None:
    """The agreement the validation figures promise at the stream's prevalence, if given."""
    figures = version.validation.get(stream.label.name) or {}
    if "sensitivity" not in figures or "specificity" not in figures:
        return None
    prevalence = figures.get("prevalence")
    if prevalence is None:
        prevalence = sum(stream.reference) / len(stream.reference) if stream.reference else 0.0
    return 1 - (prevalence * (1 - figures["sensitivity"]) + (1 - prevalence) * (1 - figures["specificity"]))


CHART_W, CHART_H, PAD_L, PAD_R, PAD_T, PAD_B = 640, 180, 44, 12, 12, 28


@dataclass
class Chart:
    """Server-side SVG geometry for one label: agreement per rolling window, with marks."""

    label: str
    points: str  # the polyline's "x,y x,y ..."
    dots: list[dict[str, Any]]
    y_ticks: list[dict[str, Any]]
    validation_y: float | None
    validation_level: float | None
    changes: list[dict[str, Any]]
    events: list[dict[str, Any]]
    width: int = CHART_W
    height: int = CHART_H
    plot_left: int = PAD_L
    plot_right: int = CHART_W - PAD_R
    plot_top: int = PAD_T
    plot_bottom: int = CHART_H - PAD_B
    summary: str = ""
    first_label: str = "first scored study"
    last_label: str = "latest"


def label_chart(
    streams: VersionStreams, name: str, alerts: list[MonitoringAlert], windows: list[WindowPoint] | None = None
) -> Chart:
    """Agreement over time for one label, x = position in the scored-study stream."""
    windows = count_windows(streams, name) if windows is None else windows
    total = max(1, len(streams.study_ids) - 1)
    values = [w.metrics.agreement for w in windows if w.metrics.agreement is not None]
    level = expected_agreement(streams.version, streams.labels[name])
    low = min([*values, *([level] if level is not None else []), 0.9])
    y_min = max(0.0, int((low - 0.05) * 10) / 10)

    def x_of(position: float) -> float:
        return round(PAD_L + (CHART_W - PAD_L - PAD_R) * position / total, 1)

    def y_of(value: float) -> float:
        return round(PAD_T + (CHART_H - PAD_T - PAD_B) * (1 - (value - y_min) / (1 - y_min or 1)), 1)

    dots = [
        {"x": x_of((w.start + w.end) / 2), "y": y_of(w.metrics.agreement), "title": f"{w.metrics.agreement:.1%} of {w.metrics.n} studies"}
        for w in windows if w.metrics.agreement is not None
    ]
    ticks = []
    tick = y_min
    while tick <= 1.0001:
        ticks.append({"y": y_of(tick), "label": f"{tick:.0%}"})
        tick = round(tick + (0.1 if 1 - y_min > 0.3 else 0.05), 2)
    position_of = {study_id: i for i, study_id in enumerate(streams.study_ids)}
    changes = [
        {"x": x_of(position_of[a.change_study_id]), "alert": a.pk, "title": f"Change point of alert {a.pk}"}
        for a in alerts if a.label.name == name and a.change_study_id in position_of
    ]
    events = [
        {"x": x_of(e.index), "title": f"{e.kind.replace('_', ' ')}: {e.value or '—'}"}
        for e in streams.events
    ]
    first, last = (values[0], values[-1]) if values else (None, None)
    summary = (
        f"Agreement for {name} over {len(streams.labels[name].positions)} studies: from {first:.0%} to {last:.0%}"
        if first is not None else f"No scored studies with a reference for {name} yet"
    )
    dated = [day for day in streams.dates if day is not None]
    return Chart(
        first_label=dated[0].isoformat() if dated else "first scored study",
        last_label=dated[-1].isoformat() if dated else "latest",
        label=name, points=" ".join(f"{d['x']},{d['y']}" for d in dots), dots=dots, y_ticks=ticks,
        validation_y=y_of(level) if level is not None and level >= y_min else None, validation_level=level,
        changes=changes, events=events, summary=summary,
    )


# -- pages -----------------------------------------------------------------------------------------


def deployment_alerts(deployment: Deployment) -> QuerySet[MonitoringAlert]:
    return deployment.alerts.select_related("label", "version", "change_study", "detected_study", "event_study").order_by(
        "-created_at", "-id"
    )


def deployment_timeline(deployment: Deployment) -> QuerySet[DeploymentEvent]:
    return deployment.events.select_related("version", "previous", "actor").order_by("-at", "-id")


@dataclass
class LabelPanel:
    name: str
    chart: Chart
    latest: WindowMetrics | None
    validation: dict[str, float]
    weeks: list[tuple[str, WindowMetrics]]
    software: list[tuple[str, WindowMetrics]]
    scanner: list[tuple[str, WindowMetrics]]
    station: list[tuple[str, WindowMetrics]]


def monitoring_overview(deployment: Deployment, version: DeploymentVersion | None) -> dict[str, Any]:
    """Everything the monitoring page draws for one version of a deployment."""
    alerts = list(deployment_alerts(deployment))
    context: dict[str, Any] = {
        "alerts": alerts,
        "open_alerts": sum(1 for a in alerts if a.status != AlertStatus.RESOLVED),
        "timeline": list(deployment_timeline(deployment)),
        "versions": list(deployment.versions.order_by("-number")),
        "version": version,
        "panels": [],
        "equipment_events": [],
        "scored": 0,
    }
    if version is None:
        return context
    streams = version_streams(version)
    version_alerts = [a for a in alerts if a.version_id == version.pk]
    panels = []
    for name in streams.labels:
        windows = count_windows(streams, name)
        panels.append(
            LabelPanel(
                name=name, chart=label_chart(streams, name, version_alerts, windows),
                latest=windows[-1].metrics if windows else None,
                validation=version.validation.get(name) or {},
                weeks=week_windows(streams, name, last=12),
                software=equipment_split(streams, name, "software_version"),
                scanner=equipment_split(streams, name, "model"),
                station=equipment_split(streams, name, "station"),
            )
        )
    context.update(
        panels=panels,
        scored=len(streams.study_ids),
        equipment_events=[
            {"study_id": streams.study_ids[e.index], "date": streams.dates[e.index], "kind": e.kind,
             "kind_label": e.kind.replace("_", " "), "value": e.value,
             "previous": e.previous}
            for e in streams.events
        ],
    )
    return context


def alert_studies(alert: MonitoringAlert) -> list[Study]:
    """The studies behind an alert: the label's scored studies from the change point to the
    detection, in study-date order."""
    streams = version_streams(alert.version)
    stream = streams.labels.get(alert.label.name)
    if stream is None:
        return []
    ids = [streams.study_ids[p] for p in stream.positions]
    try:
        start, stop = ids.index(alert.change_study_id), ids.index(alert.detected_study_id)
    except ValueError:
        return []
    wanted = ids[start : stop + 1]
    by_id = Study.objects.in_bulk(wanted)
    return [by_id[i] for i in wanted if i in by_id]
