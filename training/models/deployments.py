"""Deployments, their model versions and predictions, and monitoring alerts (docs/MONITORING.md).

A deployment is a protocol's named slot for a model ("chest x-ray triage"). Each model that fills
it is a DeploymentVersion (an external model by name and version, or a training job's best
model), with its labels, operating thresholds and the validation figures it must hold. One
version is active at a time; switching and rolling back are DeploymentEvents on the timeline,
and nothing is deleted. Predictions are stored per study, label and version; an alert is one
detected drop of one label's agreement for one version.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

__all__ = [
    "AlertStatus",
    "Deployment",
    "DeploymentEvent",
    "DeploymentEventKind",
    "DeploymentVersion",
    "MonitoringAlert",
    "Prediction",
]

# The shipped in-control average run length per label, in studies (docs/MONITORING.md, Figures).
DEFAULT_ARL0 = 1_000_000.0


class Deployment(models.Model):
    protocol = models.ForeignKey("reports.Protocol", on_delete=models.CASCADE, related_name="deployments")
    name = models.CharField(max_length=100)
    active_version = models.ForeignKey(
        "training.DeploymentVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    arl0 = models.FloatField(
        "in-control ARL", default=DEFAULT_ARL0,
        help_text="Average run length between false alarms per label, in studies; higher alerts later.",
    )
    webhook_url = models.URLField(
        blank=True, help_text="Optional: alerts are POSTed here as JSON with ids only (no patient data)."
    )
    analysed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["protocol", "name"]
        constraints = [
            models.UniqueConstraint(fields=["protocol", "name"], name="deployment_unique_name"),
            models.CheckConstraint(condition=Q(arl0__gte=100), name="deployment_arl0_min"),
        ]

    def __str__(self) -> str:
        return self.name


class DeploymentVersion(models.Model):
    """One model in a deployment. `thresholds` is {label: t}: p >= t reads as positive.

    `validation` is {label: {"sensitivity", "specificity", "ppv", "auroc", "prevalence", "n"}},
    any of them optional, from the training job's validation split or entered by hand.
    """

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    model_name = models.CharField(max_length=200)
    model_version = models.CharField(max_length=100)
    # The in-app training job whose best model this is; empty for external models.
    training_job_id = models.PositiveIntegerField(null=True, blank=True)
    labels = models.JSONField(help_text="Label names the model predicts.")
    thresholds = models.JSONField(default=dict, blank=True)
    validation = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["deployment", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["deployment", "number"], name="deploymentversion_unique_number"),
            models.UniqueConstraint(
                fields=["deployment", "model_name", "model_version"], name="deploymentversion_unique_model"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model_name} {self.model_version}"

    def threshold(self, label: str) -> float:
        return float(self.thresholds.get(label, 0.5))


class DeploymentEventKind(models.TextChoices):
    CREATED = "created", "Deployment created"
    VERSION_ADDED = "version_added", "Model version added"
    ACTIVATED = "activated", "Version switched"
    ROLLED_BACK = "rolled_back", "Rolled back"


class DeploymentEvent(models.Model):
    """One entry of a deployment's timeline; append-only by convention (services only add)."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=DeploymentEventKind.choices)
    version = models.ForeignKey(DeploymentVersion, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    previous = models.ForeignKey(
        DeploymentVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["deployment", "-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.at:%Y-%m-%d})"


class Prediction(models.Model):
    version = models.ForeignKey(DeploymentVersion, on_delete=models.CASCADE, related_name="predictions")
    study = models.ForeignKey("reports.Study", on_delete=models.CASCADE, related_name="+")
    label = models.ForeignKey("annotation.Label", on_delete=models.PROTECT, related_name="+")
    p = models.FloatField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "study", "label"], name="prediction_unique"),
            models.CheckConstraint(condition=Q(p__gte=0) & Q(p__lte=1), name="prediction_p_range"),
        ]
        indexes = [models.Index(fields=["version", "label"], name="prediction_version_label_idx")]

    def __str__(self) -> str:
        return f"Prediction {self.pk}"


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class MonitoringAlert(models.Model):
    """A detected drop in one label's agreement for one model version.

    `before` / `after` are agreement rates (0-1) before the change point and from it to the
    detection; `drop_low` / `drop_high` the 95 % Newcombe interval of the drop. The event is the
    scanner / software change that preceded the change point, if one did.
    """

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="alerts")
    version = models.ForeignKey(DeploymentVersion, on_delete=models.CASCADE, related_name="alerts")
    label = models.ForeignKey("annotation.Label", on_delete=models.PROTECT, related_name="+")
    change_study = models.ForeignKey("reports.Study", on_delete=models.CASCADE, related_name="+")
    detected_study = models.ForeignKey("reports.Study", on_delete=models.CASCADE, related_name="+")
    detector = models.CharField(max_length=16)
    before = models.FloatField()
    after = models.FloatField()
    drop = models.FloatField()
    drop_low = models.FloatField()
    drop_high = models.FloatField()
    event_kind = models.CharField(max_length=32, blank=True)
    event_value = models.CharField(max_length=64, blank=True)
    event_study = models.ForeignKey("reports.Study", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    evidence = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    note = models.TextField(blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["version", "label", "change_study"], name="alert_unique_change"),
        ]
        indexes = [models.Index(fields=["deployment", "status"], name="alert_deployment_status_idx")]

    def __str__(self) -> str:
        return f"Alert {self.pk} ({self.status})"

    @property
    def event_label(self) -> str:
        return self.event_kind.replace("_", " ")
