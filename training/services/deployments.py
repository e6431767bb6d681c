"""Writes for deployments: create one, add a model version, switch or roll back (docs/MONITORING.md)."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max

from annotation.selectors.queue import protocol_labels
from reports.models import Protocol
from training.models import (
    Deployment,
    DeploymentEvent,
    DeploymentEventKind,
    DeploymentVersion,
)

VALIDATION_FIGURES = ("sensitivity", "specificity", "ppv", "auroc", "prevalence")


class DeploymentInvalid(ValueError):
    """Bad deployment input; `field` names the part of the request that is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _check_labels(protocol: Protocol, labels: Sequence[str]) -> list[str]:
    known = [label.name for label in protocol_labels(protocol)]
    if not labels:
        raise DeploymentInvalid("labels", "Name at least one label the model predicts.")
    for index, name in enumerate(labels):
        if not isinstance(name, str) or name not in known:
            raise DeploymentInvalid(f"labels[{index}]", "Not a label of this protocol's schema.")
    if len(set(labels)) != len(labels):
        raise DeploymentInvalid("labels", "A label is named twice.")
    # Keep the schema's order, so pages and alerts list labels as readers see them.
    return [name for name in known if name in set(labels)]


def _check_thresholds(labels: list[str], thresholds: Mapping[str, Any] | None) -> dict[str, float]:
    out = {}
    for name, value in (thresholds or {}).items():
        if name not in labels:
            raise DeploymentInvalid(f"thresholds.{name}"[:80], "Not one of the deployment's labels.")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
            raise DeploymentInvalid(f"thresholds.{name}"[:80], "A threshold is a number between 0 and 1.")
        out[name] = float(value)
    return out


def _check_validation(labels: list[str], validation: Mapping[str, Any] | None) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name, figures in (validation or {}).items():
        where = f"validation.{name}"[:80]
        if name not in labels:
            raise DeploymentInvalid(where, "Not one of the deployment's labels.")
        if not isinstance(figures, Mapping):
            raise DeploymentInvalid(where, "Give the figures as an object, e.g. {\"sensitivity\": 0.9}.")
        clean: dict[str, float] = {}
        for key, value in figures.items():
            if key == "n":
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise DeploymentInvalid(f"{where}.n", "n is a positive whole number.")
                clean[key] = value
                continue
            if key not in VALIDATION_FIGURES:
                raise DeploymentInvalid(f"{where}.{key}"[:80], f"Unknown figure; use {', '.join(VALIDATION_FIGURES)} or n.")
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or not 0 <= value <= 1:
                raise DeploymentInvalid(f"{where}.{key}", "A figure is a number between 0 and 1.")
            clean[key] = float(value)
        out[name] = clean
    return out


def training_job_model(protocol: Protocol, job_id: int) -> tuple[list[str], dict[str, float], dict[str, dict[str, float]]]:
    """Labels, thresholds and validation figures of a finished training job's kept model.

    The figures are measured on the job's validation split at the thresholds the job chose:
    sensitivity, specificity, PPV, prevalence and n from its stored predictions, AUROC from its
    results. Raises DeploymentInvalid when the job is not a finished one of this protocol.
    """
    from training.ml import registry
    from training.models import TrainingPrediction, TrainingRun
    from training.services.artifacts import artifact_path

    # job__pk, not job_id: range-checked, so an id past 64 bits finds nothing instead of crashing.
    run = TrainingRun.objects.filter(job__pk=job_id, job__protocol=protocol).select_related("job").first()
    if run is None:
        raise DeploymentInvalid("model.training_job", "No training job with this id in the protocol.")
    if artifact_path(run) is None:
        raise DeploymentInvalid("model.training_job", "The training job has no kept model (not finished, or failed).")
    if registry.get(run.model_name).kind != "text":
        # The monitoring job scores new reports in the app; an image model would need each new
        # study's images converted first, which only cohorts do today.
        raise DeploymentInvalid(
            "model.training_job",
            f"The training job's model ({run.model_name}) reads images: deploy it as an external model "
            "and send its predictions to the deployment's predictions API.",
        )
    labels = list((run.model_card.get("cohort") or {}).get("labels") or run.thresholds)
    thresholds = {label: float(run.thresholds.get(label, 0.5)) for label in labels}
    counts: dict[str, list[int]] = {label: [0, 0, 0, 0] for label in labels}  # tp, fp, tn, fn
    rows = TrainingPrediction.objects.filter(run=run, split="validation", target__isnull=False).values_list(
        "label", "p", "target"
    )
    for label, p, target in rows.iterator(chunk_size=5000):
        if label not in counts:
            continue
        predicted, actual = p >= thresholds[label], target >= 0.5
        counts[label][0 if predicted and actual else 1 if predicted else 3 if actual else 2] += 1
    metrics = ((run.results or {}).get("metrics") or {}).get("validation", {}).get("labels", {})
    validation: dict[str, dict[str, float]] = {}
    for label, (tp, fp, tn, fn) in counts.items():
        n = tp + fp + tn + fn
        if not n:
            continue
        figures: dict[str, float] = {"n": n, "prevalence": (tp + fn) / n}
        if tp + fn:
            figures["sensitivity"] = tp / (tp + fn)
        if tn + fp:
            figures["specificity"] = tn / (tn + fp)
        if tp + fp:
            figures["ppv"] = tp / (tp + fp)
        auroc = (metrics.get(label) or {}).get("auroc")
        if isinstance(auroc, int | float):
            figures["auroc"] = float(auroc)
        validation[label] = figures
    return labels, thresholds, validation


def deployment_create(
    *,
    protocol: Protocol,
    name: str,
    actor: AbstractBaseUser | None,
    labels: Sequence[str],
    model_name: str = "",
    model_version: str = "",
    training_job_id: int | None = None,
    thresholds: Mapping[str, Any] | None = None,
    validation: Mapping[str, Any] | None = None,
    webhook_url: str = "",
) -> Deployment:
    """Create a deployment with its first model version, active. The caller checked the role."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise DeploymentInvalid("name", "Give the deployment a name of at most 100 characters.")
    with transaction.atomic():
        deployment = Deployment(protocol=protocol, name=name, created_by=actor, webhook_url=webhook_url)
        try:
            with transaction.atomic():
                deployment.save()
        except IntegrityError:
            raise DeploymentInvalid("name", "This protocol already has a deployment of that name.") from None
        DeploymentEvent.objects.create(deployment=deployment, kind=DeploymentEventKind.CREATED, actor=actor)
        deployment_version_add(
            deployment=deployment, actor=actor, labels=labels, model_name=model_name, model_version=model_version,
            training_job_id=training_job_id, thresholds=thresholds, validation=validation,
        )
    return deployment


def deployment_version_add(
    *,
    deployment: Deployment,
    actor: AbstractBaseUser | None,
    labels: Sequence[str],
    model_name: str = "",
    model_version: str = "",
    training_job_id: int | None = None,
    thresholds: Mapping[str, Any] | None = None,
    validation: Mapping[str, Any] | None = None,
    activate: bool = True,
) -> DeploymentVersion:
    """Add a model version (external by name and version, or a training job's) and, by default,
    make it the active one."""
    if training_job_id is not None:
        job_labels, job_thresholds, job_validation = training_job_model(deployment.protocol, training_job_id)
        model_name = model_name or f"training job {training_job_id}"
        model_version = model_version or "best"
        labels = list(labels) or job_labels
        unknown = [index for index, name in enumerate(labels) if name not in job_labels]
        if unknown:
            raise DeploymentInvalid(f"labels[{unknown[0]}]", "The training job's model does not predict this label.")
        thresholds = {**{k: v for k, v in job_thresholds.items() if k in labels}, **(thresholds or {})}
        validation = {**{k: v for k, v in job_validation.items() if k in labels}, **(validation or {})}
    model_name, model_version = (model_name or "").strip(), (model_version or "").strip()
    if not model_name or len(model_name) > 200:
        raise DeploymentInvalid("model.name", "Name the model (at most 200 characters).")
    if not model_version or len(model_version) > 100:
        raise DeploymentInvalid("model.version", "Give the model's version (at most 100 characters).")
    clean_labels = _check_labels(deployment.protocol, labels)
    clean_thresholds = _check_thresholds(clean_labels, thresholds)
    clean_validation = _check_validation(clean_labels, validation)
    with transaction.atomic():
        locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
        number = (locked.versions.aggregate(top=Max("number"))["top"] or 0) + 1
        try:
            with transaction.atomic():
                version = DeploymentVersion.objects.create(
                    deployment=locked, number=number, model_name=model_name, model_version=model_version,
                    training_job_id=training_job_id, labels=clean_labels, thresholds=clean_thresholds,
                    validation=clean_validation, created_by=actor,
                )
        except IntegrityError:
            raise DeploymentInvalid("model", "This model version is already in the deployment.") from None
        DeploymentEvent.objects.create(
            deployment=locked, kind=DeploymentEventKind.VERSION_ADDED, version=version, actor=actor
        )
        if activate:
            deployment_activate(deployment=locked, version=version, actor=actor)
            deployment.active_version = version
    return version


def deployment_activate(
    *, deployment: Deployment, version: DeploymentVersion, actor: AbstractBaseUser | None, note: str = ""
) -> DeploymentEvent | None:
    """Make `version` the active one: a switch, or a roll-back to an older number. One action,
    one timeline entry; None when it was already active."""
    if version.deployment_id != deployment.pk:
        raise DeploymentInvalid("version", "Not a version of this deployment.")
    with transaction.atomic():
        # Lock the row alone: PostgreSQL refuses FOR UPDATE across the nullable active_version join.
        locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
        previous = locked.active_version
        if previous is not None and previous.pk == version.pk:
            return None
        rolled_back = previous is not None and version.number < previous.number
        Deployment.objects.filter(pk=locked.pk).update(active_version=version)
        deployment.active_version = version
        return DeploymentEvent.objects.create(
            deployment=locked,
            kind=DeploymentEventKind.ROLLED_BACK if rolled_back else DeploymentEventKind.ACTIVATED,
            version=version, previous=previous, actor=actor, note=note[:500],
        )
