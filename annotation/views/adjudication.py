"""Curators settle the studies their readers disagreed on; only here are the answers shown."""
from __future__ import annotations

from collections import Counter
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from annotation.forms import ConfirmForm, now_ms
from annotation.models import ConfirmationKind
from annotation.permissions import ADJUDICATE_ROLES, Action, get_protocol_for_action
from annotation.selectors.queue import (
    adjudication_candidates,
    protocol_labels,
    read_context,
    study_for_reader,
    study_reads,
)
from annotation.services.adjudicate import adjudication_submit
from annotation.services.confirm import ConfirmationConflict, ConfirmationInvalid
from annotation.services.schemas import schema_ensure_stored
from reports.models import Study
from reports.services.audit import audit_report_read


@require_GET
def adjudication_queue(request: HttpRequest, protocol_id: int) -> HttpResponse:
    protocol = get_protocol_for_action(request.user, protocol_id, Action.ADJUDICATE, wrong_role=404)
    schema_ensure_stored(protocol)
    studies = adjudication_candidates(protocol=protocol, curator=request.user)[:200]
    return render(request, "annotation/adjudication_queue.html", {"protocol": protocol, "studies": studies})


def _context(request: HttpRequest, study: Study, notice: tuple[str, str] | None = None) -> dict[str, Any]:
    labels = protocol_labels(study.protocol)
    context = read_context(study=study, reader=request.user, labels=labels)
    confirmations = study_reads(study)
    reads = [c for c in confirmations if c.kind == ConfirmationKind.READ]
    decided = next((c for c in confirmations if c.kind == ConfirmationKind.ADJUDICATION), None)
    by_read = [{cl.label_id: cl.value for cl in c.labels.all()} for c in reads]
    decided_values = {cl.label_id: cl.value for cl in decided.labels.all()} if decided is not None else {}
    for row in context["rows"]:
        answers = [values.get(row.label.pk, "") for values in by_read]
        row.answers = answers
        row.differs = len(set(answers)) > 1
        # Pre-select the earlier decision, else the majority (the first reader breaks ties).
        majority = Counter(answers).most_common(1)[0][0] if answers else row.soft_value
        row.choice = decided_values.get(row.label.pk, majority)
    context.update(reads=reads, decided=decided, notice=notice, shown_at=now_ms())
    if context["report"] is not None:
        audit_report_read(
            actor=request.user, report=context["report"], protocol=study.protocol,
            request=request, detail={"study": study.pk, "view": "adjudication"},
        )
    return context


@require_http_methods(["GET", "POST"])
def adjudication_study(request: HttpRequest, study_id: int) -> HttpResponse:
    study = study_for_reader(request.user, study_id, ADJUDICATE_ROLES)
    schema_ensure_stored(study.protocol)
    if request.method == "GET":
        return render(request, "annotation/adjudication.html", _context(request, study))
    form = ConfirmForm(request.POST, labels=protocol_labels(study.protocol))
    if not form.is_valid():
        notice = ("error", f"Not saved: {form.error_text()}")
        return render(request, "annotation/adjudication.html", _context(request, study, notice), status=400)
    try:
        adjudication_submit(
            study=study, curator=request.user, values=form.values(), version=form.cleaned_data["version"],
            time_spent_ms=form.time_spent_ms(), request=request,
        )
    except (ConfirmationConflict, ConfirmationInvalid) as refused:
        study.refresh_from_db()
        status = 409 if isinstance(refused, ConfirmationConflict) else 400
        return render(request, "annotation/adjudication.html", _context(request, study, ("error", f"Not saved: {refused}")), status=status)
    return redirect("annotation:adjudication-queue", protocol_id=study.protocol_id)
