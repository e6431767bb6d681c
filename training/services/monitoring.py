"""Writes for monitoring: run the analysis, record and notify alerts, acknowledge and resolve them.

The analysis is pure (training.monitoring_core) over streams read by
training.selectors.monitoring.version_streams; running it again over the same data gives the same
alerts, so an alert is recorded once (unique on version, label and change-point study) and a
rerun, a retried job or two batches close together never duplicate one.
"""
from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from reports.models import Job, Membership, ReviewState, Role, Study
from reports.services.jobs import job_create
from training.models import AlertStatus, Deployment, DeploymentVersion, MonitoringAlert
from training.monitoring_core.detect import DetectorSettings, detect_changes
from training.monitoring_core.events import preceding_event
from training.monitoring_core.stats import expected_disagreement
from training.selectors.monitoring import alert_studies, version_streams

logger = logging.getLogger(__name__)

MONITORING_JOB = "monitoring"
# An event this many studies before the change point (or later, up to the detection) explains it.
EVENT_LOOKBACK = 100
WEBHOOK_TIMEOUT_S = 5.0


def detector_settings(deployment: Deployment) -> DetectorSettings:
    return DetectorSettings(arl0=deployment.arl0)


def _validation_p0(version: DeploymentVersion, name: str, reference: list[int], burn_in: int) -> float | None:
    figures = version.validation.get(name) or {}
    if "sensitivity" not in figures or "specificity" not in figures:
        return None
    prevalence = figures.get("prevalence")
    if prevalence is None:
        head = reference[:burn_in]
        prevalence = sum(head) / len(head) if head else 0.0
    return expected_disagreement(
        sensitivity=figures["sensitivity"], specificity=figures["specificity"], prevalence=prevalence
    )


def monitoring_analyse(*, deployment: Deployment, version: DeploymentVersion | None = None) -> dict[str, Any]:
    """Run change detection on every label of the version (the active one by default); record
    new alerts and notify them once committed. Returns counts."""
    version = version or deployment.active_version
    if version is None:
        return {"labels": 0, "studies": 0, "alerts": 0, "new_alerts": 0}
    detector = detector_settings(deployment)
    streams = version_streams(version)
    found = 0
    created: list[int] = []
    for name, stream in streams.labels.items():
        validation_p0 = _validation_p0(version, name, stream.reference, detector.burn_in)
        for change in detect_changes(stream.disagreements, settings=detector, validation_p0=validation_p0):
            found += 1
            change_pos = stream.positions[change.change_index]
            detected_pos = stream.positions[change.detected_index]
            event = preceding_event(
                streams.events, change_index=change_pos, detected_index=detected_pos, lookback=EVENT_LOOKBACK
            )
            evidence = change.evidence()
            evidence["studies_in_stream"] = len(stream.positions)
            try:
                with transaction.atomic():
                    alert = MonitoringAlert.objects.create(
                        deployment=deployment, version=version, label=stream.label,
                        change_study_id=streams.study_ids[change_pos], detected_study_id=streams.study_ids[detected_pos],
                        detector=change.detector, before=change.before, after=change.after, drop=change.drop,
                        drop_low=change.drop_low, drop_high=change.drop_high,
                        event_kind=event.kind if event else "", event_value=(event.value[:64] if event else ""),
                        event_study_id=streams.study_ids[event.index] if event else None, evidence=evidence,
                    )
            except IntegrityError:
                continue  # recorded by an earlier run
            created.append(alert.pk)
    Deployment.objects.filter(pk=deployment.pk).update(analysed_at=timezone.now())
    for alert_id in created:
        transaction.on_commit(lambda alert_id=alert_id: alert_notify(alert_id=alert_id))
    return {
        "labels": len(streams.labels), "studies": len(streams.study_ids), "alerts": found, "new_alerts": len(created),
    }


def monitoring_enqueue(*, deployment: Deployment, actor: AbstractBaseUser | None) -> Job:
    """Queue the analysis as a job (the page polls it); the Celery task runs monitoring_analyse."""
    return job_create(
        kind=MONITORING_JOB, protocol=deployment.protocol, actor=actor,
        params={"deployment": deployment.pk, "version": deployment.active_version_id},
    )


# -- notification ------------------------------------------------------------------------------------


def alert_payload(alert: MonitoringAlert) -> dict[str, Any]:
    """What leaves the app about an alert: ids, numbers and the equipment change; no PHI."""
    return {
        "type": "radlabel.monitoring.alert",
        "alert": alert.pk,
        "deployment": alert.deployment_id,
        "protocol": alert.deployment.protocol_id,
        "version": alert.version_id,
        "label": alert.label.name,
        "change_study": alert.change_study_id,
        "detected_study": alert.detected_study_id,
        "before": round(alert.before, 4),
        "after": round(alert.after, 4),
        "drop": [round(alert.drop, 4), round(alert.drop_low, 4), round(alert.drop_high, 4)],
        "event": {"kind": alert.event_kind, "value": alert.event_value} if alert.event_kind else None,
        "url": reverse("training:alert-detail", args=[alert.pk]),
    }


def alert_notify(*, alert_id: int) -> None:
    """Email the protocol's data scientists and POST the webhook, if set. Failures are logged,
    never raised: a mail server or webhook being down must not lose the alert or the batch."""
    alert = MonitoringAlert.objects.select_related("deployment__protocol", "label").filter(pk=alert_id).first()
    if alert is None or alert.notified_at is not None:
        return
    payload = alert_payload(alert)
    today = timezone.localdate()
    recipients = sorted(
        {
            email
            for email in Membership.objects.active_on(today)
            .filter(protocol=alert.deployment.protocol, role=Role.DATA_SCIENTIST)
            .values_list("user__email", flat=True)
            if email
        }
    )
    if recipients:
        subject = f"radlabel: agreement dropped for {alert.label.name} (deployment {alert.deployment_id})"
        body = (
            f"Monitoring alert {alert.pk} on deployment {alert.deployment_id}, label {alert.label.name}.\n"
            f"Agreement {alert.before:.1%} before the change, {alert.after:.1%} after "
            f"(drop {alert.drop:.1%}, 95% CI {alert.drop_low:.1%} to {alert.drop_high:.1%}).\n"
            + (f"Preceded by a change of {alert.event_kind.replace('_', ' ')}.\n" if alert.event_kind else "")
            + f"Details: {payload['url']}\n"
        )
        try:
            send_mail(subject, body, None, recipients)
        except Exception:  # noqa: BLE001 - any mail failure is logged, never raised
            logger.exception("monitoring alert %s: email failed", alert.pk)
    if alert.deployment.webhook_url:
        webhook_post(alert.deployment.webhook_url, payload)
    MonitoringAlert.objects.filter(pk=alert.pk).update(notified_at=timezone.now())


def webhook_post(url: str, payload: dict[str, Any], *, timeout: float = WEBHOOK_TIMEOUT_S) -> bool:
    """POST JSON; True on a 2xx answer. Errors and timeouts are logged (without the URL's query)."""
    if not url.startswith(("http://", "https://")):
        logger.warning("monitoring webhook: not an http(s) URL; skipped")
        return False
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=json.dumps(payload).encode(), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "radlabel-monitoring"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return 200 <= response.status < 300
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        logger.warning("monitoring webhook for alert %s failed: %s", payload.get("alert"), type(exc).__name__)
        return False


# -- handling alerts -------------------------------------------------------------------------------


class AlertTransitionRefused(ValueError):
    pass


def alert_acknowledge(*, alert: MonitoringAlert, actor: AbstractBaseUser, note: str = "") -> MonitoringAlert:
    """Mark an open alert as seen; the note is appended. The caller checked the role."""
    with transaction.atomic():
        locked = MonitoringAlert.objects.select_for_update().get(pk=alert.pk)
        if locked.status != AlertStatus.OPEN:
            raise AlertTransitionRefused("Only an open alert can be acknowledged.")
        locked.status = AlertStatus.ACKNOWLEDGED
        locked.acknowledged_by, locked.acknowledged_at = actor, timezone.now()
        locked.note = _append_note(locked.note, actor, "acknowledged", note)
        locked.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "note"])
    return locked


def alert_resolve(*, alert: MonitoringAlert, actor: AbstractBaseUser, note: str) -> MonitoringAlert:
    """Close an alert with a note saying what was found or done (the note is required)."""
    if not note.strip():
        raise AlertTransitionRefused("Say in a note what was found or done.")
    with transaction.atomic():
        locked = MonitoringAlert.objects.select_for_update().get(pk=alert.pk)
        if locked.status == AlertStatus.RESOLVED:
            raise AlertTransitionRefused("The alert is already resolved.")
        locked.status = AlertStatus.RESOLVED
        locked.resolved_by, locked.resolved_at = actor, timezone.now()
        locked.note = _append_note(locked.note, actor, "resolved", note)
        locked.save(update_fields=["status", "resolved_by", "resolved_at", "note"])
    return locked


def _append_note(existing: str, actor: AbstractBaseUser, verb: str, note: str) -> str:
    stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    line = f"[{stamp}] {actor.get_username()} {verb}" + (f": {note.strip()[:2000]}" if note.strip() else "")
    return f"{existing}\n{line}" if existing else line


def alert_studies_queue(*, alert: MonitoringAlert, actor: AbstractBaseUser) -> int:
    """Move the alert's open, untouched studies ahead in the readers' queue; return how many.

    queue_priority 1 puts them beside studies another reader has started (annotation's queue
    orders by it before informativeness); the confirm transaction recomputes it on the next read,
    so nothing here outlives the first confirmation. Confirmed studies then feed the next cohort.
    """
    ids = [study.pk for study in alert_studies(alert)]
    with transaction.atomic():
        moved = Study.objects.filter(
            pk__in=ids, protocol_id=alert.deployment.protocol_id, review_state=ReviewState.OPEN, queue_priority=0
        ).update(queue_priority=1)
    logger.info("alert %s: %s studies queued for confirmation by user %s", alert.pk, moved, actor.pk)
    return moved


def monitoring_on_import(protocol_id: int) -> None:
    """After an import commits: queue a monitoring job for each deployment of the protocol whose
    active version is an in-app model, which scores the new studies and then analyses them
    (registered with reports.hooks in TrainingConfig.ready)."""
    deployments = Deployment.objects.filter(
        protocol_id=protocol_id, active_version__training_job_id__isnull=False
    ).select_related("protocol")
    for deployment in deployments:
        monitoring_enqueue(deployment=deployment, actor=None)
