"""Monitoring pages: deployments, agreement over time with alerts, and an alert's studies.

Every member of a deployment's protocol may read; data scientists switch versions, run the
analysis and handle alerts; data scientists and curators queue an alert's studies for reading.
"""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotation.selectors.queue import protocol_labels
from training.models import MonitoringAlert
from training.selectors.monitoring import (
    MANAGE_ROLES,
    QUEUE_ROLES,
    alert_studies,
    deployments_visible_to,
    get_alert_for_user,
    get_deployment_for_user,
    has_role,
    monitoring_overview,
)
from training.services.deployments import (
    DeploymentInvalid,
    deployment_activate,
    deployment_version_add,
)
from training.services.monitoring import (
    AlertTransitionRefused,
    alert_acknowledge,
    alert_resolve,
    alert_studies_queue,
    monitoring_enqueue,
)


class VersionForm(forms.Form):
    """A model version with, per label of the protocol, whether it is predicted, its threshold
    and the validation figures entered by hand (a training job's are filled in by the service)."""

    FIGURES = ("sensitivity", "specificity", "ppv", "auroc")

    model_name = forms.CharField(max_length=200, required=False, label="Model name")
    model_version = forms.CharField(max_length=100, required=False, label="Model version")
    training_job = forms.IntegerField(min_value=1, required=False, label="Or: training job id")

    def __init__(self, *args: Any, labels: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.label_names = labels
        for i, name in enumerate(labels):
            self.fields[f"use_{i}"] = forms.BooleanField(required=False, label=f"{name}: predicted")
            self.fields[f"threshold_{i}"] = forms.FloatField(
                required=False, min_value=0.0, max_value=1.0, label=f"{name}: threshold"
            )
            for figure in self.FIGURES:
                self.fields[f"{figure}_{i}"] = forms.FloatField(
                    required=False, min_value=0.0, max_value=1.0, label=f"{name}: {figure}"
                )

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"name": name, "fields": [self[f"use_{i}"], self[f"threshold_{i}"], *(self[f"{f}_{i}"] for f in self.FIGURES)]}
            for i, name in enumerate(self.label_names)
        ]

    def version_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        labels, thresholds, validation = [], {}, {}
        for i, name in enumerate(self.label_names):
            if not data.get(f"use_{i}"):
                continue
            labels.append(name)
            if data.get(f"threshold_{i}") is not None:
                thresholds[name] = data[f"threshold_{i}"]
            figures = {f: data[f"{f}_{i}"] for f in self.FIGURES if data.get(f"{f}_{i}") is not None}
            if figures:
                validation[name] = figures
        return {
            "labels": labels, "thresholds": thresholds, "validation": validation,
            "model_name": data.get("model_name") or "", "model_version": data.get("model_version") or "",
            "training_job_id": data.get("training_job"),
        }


@require_http_methods(["GET", "POST"])
def deployment_version_new(request: HttpRequest, deployment_id: int) -> HttpResponse:
    """Add a model version (data scientists; other members 404, like any page not for them)."""
    deployment = get_deployment_for_user(request.user, deployment_id)
    if not has_role(request.user, deployment.protocol, MANAGE_ROLES):
        raise Http404("No such deployment")
    labels = [label.name for label in protocol_labels(deployment.protocol)]
    form = VersionForm(request.POST or None, labels=labels)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                version = deployment_version_add(deployment=deployment, actor=request.user, **form.version_values())
            except DeploymentInvalid as invalid:
                form.add_error(None, f"{invalid.field}: {invalid.message}")
            else:
                messages.success(request, f"Version {version.number} added and active.")
                return redirect("training:deployment-monitoring", deployment.pk)
    return render(request, "training/deployment_version_new.html", {"deployment": deployment, "form": form}, status=status)


@require_GET
def deployment_list(request: HttpRequest) -> HttpResponse:
    deployments = deployments_visible_to(request.user).order_by("protocol__irb_number", "name")
    return render(request, "training/monitoring_list.html", {"deployments": deployments})


@require_GET
def deployment_monitoring(request: HttpRequest, deployment_id: int) -> HttpResponse:
    deployment = get_deployment_for_user(request.user, deployment_id)
    version = deployment.active_version
    if request.GET.get("version", "").isdigit():
        version = get_object_or_404(deployment.versions, number=int(request.GET["version"]))
    context = monitoring_overview(deployment, version)
    context.update(
        deployment=deployment,
        can_manage=has_role(request.user, deployment.protocol, MANAGE_ROLES),
    )
    return render(request, "training/monitoring.html", context)


@require_POST
def deployment_activate_view(request: HttpRequest, deployment_id: int) -> HttpResponse:
    """Switch to another version, or roll back to an older one: one action, on the timeline."""
    deployment = get_deployment_for_user(request.user, deployment_id)
    if not has_role(request.user, deployment.protocol, MANAGE_ROLES):
        raise PermissionDenied
    version_id = request.POST.get("version", "")
    if not version_id.isdigit():
        return HttpResponseBadRequest("Choose a version.")
    version = get_object_or_404(deployment.versions, pk=int(version_id))
    event = deployment_activate(deployment=deployment, version=version, actor=request.user, note=request.POST.get("note", ""))
    if event is not None:
        messages.success(request, f"{event.get_kind_display()}: version {version.number} is active.")
    return redirect("training:deployment-monitoring", deployment.pk)


@require_POST
def deployment_analyse_view(request: HttpRequest, deployment_id: int) -> HttpResponse:
    deployment = get_deployment_for_user(request.user, deployment_id)
    if not has_role(request.user, deployment.protocol, MANAGE_ROLES):
        raise PermissionDenied
    job = monitoring_enqueue(deployment=deployment, actor=request.user)
    return redirect("reports:job-detail", job.pk)


@require_GET
def alert_detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_alert_for_user(request.user, alert_id)
    protocol = alert.deployment.protocol
    context = {
        "alert": alert,
        "deployment": alert.deployment,
        "studies": alert_studies(alert),
        "can_manage": has_role(request.user, protocol, MANAGE_ROLES),
        "can_queue": has_role(request.user, protocol, QUEUE_ROLES),
    }
    return render(request, "training/monitoring_alert.html", context)


def _alert_answer(request: HttpRequest, alert: MonitoringAlert) -> HttpResponse:
    if request.htmx:
        alert.refresh_from_db()
        return render(request, "training/monitoring.html#alert-row", {"alert": alert, "can_manage": True})
    return redirect("training:deployment-monitoring", alert.deployment_id)


def _alert_for_manager(request: HttpRequest, alert_id: int) -> MonitoringAlert:
    alert = get_alert_for_user(request.user, alert_id)
    if not has_role(request.user, alert.deployment.protocol, MANAGE_ROLES):
        raise PermissionDenied
    return alert


@require_POST
def alert_acknowledge_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = _alert_for_manager(request, alert_id)
    try:
        alert_acknowledge(alert=alert, actor=request.user, note=request.POST.get("note", ""))
    except AlertTransitionRefused as refused:
        if request.htmx:
            return HttpResponse(str(refused), status=409)
        messages.error(request, str(refused))
    return _alert_answer(request, alert)


@require_POST
def alert_resolve_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = _alert_for_manager(request, alert_id)
    try:
        alert_resolve(alert=alert, actor=request.user, note=request.POST.get("note", ""))
    except AlertTransitionRefused as refused:
        if request.htmx:
            return HttpResponse(str(refused), status=400)
        messages.error(request, str(refused))
    return _alert_answer(request, alert)


@require_POST
def alert_queue_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_alert_for_user(request.user, alert_id)
    if not has_role(request.user, alert.deployment.protocol, QUEUE_ROLES):
        raise PermissionDenied
    moved = alert_studies_queue(alert=alert, actor=request.user)
    messages.success(request, f"{moved} stud{'y' if moved == 1 else 'ies'} moved ahead in the confirmation queue.")
    return redirect(reverse("training:alert-detail", args=[alert.pk]))
