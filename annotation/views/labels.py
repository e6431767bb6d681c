"""A protocol's labels page: soft-label counts per label, staleness, and the Relabel button."""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from annotation.engine import ENGINE_VERSION
from annotation.permissions import Action, can_curate, can_relabel, get_protocol_for_action
from annotation.selectors.labels import protocol_label_summary
from annotation.services.relabel import relabel_start
from annotation.services.schemas import schema_for_protocol, schema_to_engine
from reports.permissions import get_protocol_for_user


@require_http_methods(["GET", "POST"])
def protocol_labels_view(request: HttpRequest, protocol_id: int) -> HttpResponse:
    if request.method == "POST":
        # Radiologists see the page but may not relabel: like any object they cannot act on,
        # the answer is 404 (wrong_role=404), not a 403 that confirms it exists.
        protocol = get_protocol_for_action(request.user, protocol_id, Action.RELABEL, wrong_role=404)
        job = relabel_start(protocol=protocol, actor=request.user, force=request.POST.get("force") == "1")
        messages.success(request, f"Relabel job {job.pk} is {job.get_status_display().lower()}.")
        return redirect(reverse("reports:job-detail", args=[job.pk]))

    protocol = get_protocol_for_user(request.user, protocol_id)
    schema = schema_for_protocol(protocol)
    summary = protocol_label_summary(
        user=request.user,
        protocol=protocol,
        schema=schema,
        engine_version=ENGINE_VERSION,
        phrase_set_hash=schema_to_engine(schema).phrase_set_hash(),
    )
    context = {"protocol": protocol, "summary": summary, "can_relabel": can_relabel(request.user, protocol)}
    context["can_curate"] = can_curate(request.user, protocol)  # quality links (issue 8)
    return render(request, "annotation/protocol_labels.html", context)
