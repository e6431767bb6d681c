"""The confirmation screen: queue entry, study page, confirm / skip / undo.

Every action is a real link or form that works without JavaScript (POST, then redirect to the
next study); with htmx the same views answer the `read-panel` fragment of the same template and
push the study's URL, so page and fragment cannot drift.
"""
from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotation.forms import ConfirmForm, now_ms
from annotation.models import Confirmation, ConfirmationKind, Label
from annotation.permissions import READ_ROLES, Action, get_protocol_for_action
from annotation.selectors.queue import (
    Soft,
    labels_with_soft,
    previous_study_id,
    protocol_labels,
    read_context,
    study_for_reader,
    undo_window,
    undoable_confirmation,
)
from annotation.services.confirm import (
    ConfirmationConflict,
    ConfirmationInvalid,
    UndoRefused,
    confirmation_submit,
    confirmation_undo,
)
from annotation.services.queue import lease_renew, lease_take, queue_next, queue_skip
from annotation.services.schemas import schema_ensure_stored
from reports.models import Protocol, Study
from reports.services.audit import audit_report_read


def _label_filter(raw: str | None, labels: list[Label]) -> int | None:
    """The ?label= filter if it names one of the protocol's labels; ignored otherwise."""
    try:
        wanted = int(raw or "")
    except ValueError:
        return None
    return wanted if any(label.pk == wanted for label in labels) else None


def _with_filter(url: str, label_id: int | None) -> str:
    return f"{url}?label={label_id}" if label_id else url


def study_url(study_id: int, label_id: int | None = None) -> str:
    return _with_filter(reverse("annotation:read-study", args=[study_id]), label_id)


def next_url(protocol_id: int, label_id: int | None = None) -> str:
    return _with_filter(reverse("annotation:read-next", args=[protocol_id]), label_id)


def _panel(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return render(request, f"{template}#read-panel" if request.htmx else template, context, status=status)


def render_study(
    request: HttpRequest,
    study: Study,
    *,
    label_id: int | None,
    labels: list[Label] | None = None,
    soft: dict[int, Soft] | None = None,
    notice: tuple[str, str] | None = None,
    choices: dict[int, str] | None = None,
    status: int = 200,
    from_queue: bool = False,
    just_confirmed: Confirmation | None = None,
) -> HttpResponse:
    """The study page (or its panel), with one REPORT_READ audit row for the text it shows.

    `from_queue`: the queue handed the study out, so the reader has no current read of it.
    `just_confirmed`: the read saved by this request, which is both the one to undo and the one
    to go back to (the two look-ups it saves are the reader's latest confirmations).
    """
    if labels is None or soft is None:
        labels, soft = labels_with_soft(protocol=study.protocol, study=study)
    context = read_context(study=study, reader=request.user, labels=labels, soft=soft, unread=from_queue)
    for row in context["rows"]:
        row.choice = (choices or {}).get(row.label.pk, row.choice)
    if just_confirmed is not None and context["own"] is None:
        previous_id: int | None = just_confirmed.study_id
    else:
        previous_id = previous_study_id(protocol=study.protocol, reader=request.user, study=study, own=context["own"])
    context.update(labels=labels, label_id=label_id, notice=notice, shown_at=now_ms(), previous_id=previous_id)
    context.update(_undo_context(study.protocol, request, just_confirmed))
    if context["report"] is not None:
        audit_report_read(
            actor=request.user, report=context["report"], protocol=study.protocol,
            request=request, detail={"study": study.pk, "view": "read"},
        )
    response = _panel(request, "annotation/read.html", context, status)
    if request.htmx and status == 200:
        response["HX-Push-Url"] = study_url(study.pk, label_id)
    return response


def _undo_context(protocol: Protocol, request: HttpRequest, just_confirmed: Confirmation | None = None) -> dict[str, Any]:
    undo = just_confirmed if just_confirmed is not None else undoable_confirmation(protocol=protocol, reader=request.user)
    until = int((undo.created_at + undo_window()).timestamp() * 1000) if undo is not None else None
    return {"undo": undo, "undo_until": until}


def _render_empty(
    request: HttpRequest, protocol: Protocol, label_id: int | None, labels: list[Label], just_confirmed: Confirmation | None = None
) -> HttpResponse:
    context = {
        "protocol": protocol,
        "labels": labels,
        "label_id": label_id,
        **_undo_context(protocol, request, just_confirmed),
    }
    response = _panel(request, "annotation/read_empty.html", context)
    if request.htmx:
        response["HX-Push-Url"] = next_url(protocol.pk, label_id)
    return response


def _go_next(
    request: HttpRequest, protocol: Protocol, label_id: int | None, labels: list[Label], just_confirmed: Confirmation | None = None
) -> HttpResponse:
    """After an action: redirect (plain form) or render the next study in place (htmx)."""
    if not request.htmx:
        return redirect(next_url(protocol.pk, label_id))
    # A confirmation has just swept the reader's expired leases.
    study = queue_next(protocol=protocol, reader=request.user, label_id=label_id, purge_expired=just_confirmed is None)
    if study is None:
        return _render_empty(request, protocol, label_id, labels, just_confirmed)
    return render_study(request, study, label_id=label_id, from_queue=True, just_confirmed=just_confirmed)


@require_GET
def read_next(request: HttpRequest, protocol_id: int) -> HttpResponse:
    protocol = get_protocol_for_action(request.user, protocol_id, Action.READ, wrong_role=404)
    schema_ensure_stored(protocol)
    labels = protocol_labels(protocol)
    label_id = _label_filter(request.GET.get("label"), labels)
    study = queue_next(protocol=protocol, reader=request.user, label_id=label_id)
    if study is None:
        return _render_empty(request, protocol, label_id, labels)
    return redirect(study_url(study.pk, label_id))


@require_GET
def read_study(request: HttpRequest, study_id: int) -> HttpResponse:
    study = study_for_reader(request.user, study_id, with_report=True)
    schema_ensure_stored(study.protocol)
    lease_renew(study=study, reader=request.user)
    labels, soft = labels_with_soft(protocol=study.protocol, study=study)
    return render_study(request, study, label_id=_label_filter(request.GET.get("label"), labels), labels=labels, soft=soft)


@require_POST
def read_confirm(request: HttpRequest, study_id: int) -> HttpResponse:
    study = study_for_reader(request.user, study_id)
    labels, soft = labels_with_soft(protocol=study.protocol, study=study)
    form = ConfirmForm(request.POST, labels=labels)
    label_id = _label_filter(request.POST.get("label"), labels)
    if not form.is_valid():
        return render_study(
            request, study, label_id=label_id, labels=labels, soft=soft, choices=form.raw_choices(),
            notice=("error", f"Not saved: {form.error_text()}"), status=400,
        )
    try:
        confirmation = confirmation_submit(
            study=study, reader=request.user, values=form.values(), version=form.cleaned_data["version"],
            time_spent_ms=form.time_spent_ms(), request=request, labels=labels, soft=soft,
        )
    except ConfirmationConflict as conflict:
        study.refresh_from_db()
        return render_study(
            request, study, label_id=label_id, labels=labels, choices=form.raw_choices(),
            notice=("error", f"Not saved: {conflict.message} Your choices are kept below."), status=409,
        )
    except ConfirmationInvalid as invalid:
        return render_study(
            request, study, label_id=label_id, labels=labels, soft=soft, notice=("error", f"Not saved: {invalid}"), status=400
        )
    return _go_next(request, study.protocol, label_id, labels, just_confirmed=confirmation)


@require_POST
def read_skip(request: HttpRequest, study_id: int) -> HttpResponse:
    study = study_for_reader(request.user, study_id)
    labels = protocol_labels(study.protocol)
    queue_skip(study=study, reader=request.user)
    return _go_next(request, study.protocol, _label_filter(request.POST.get("label"), labels), labels)


@require_POST
def read_undo(request: HttpRequest, confirmation_id: int) -> HttpResponse:
    confirmation = Confirmation.objects.filter(
        pk=confirmation_id, reader=request.user, kind=ConfirmationKind.READ,
        study__in=Study.objects.visible_to(request.user, READ_ROLES),
    ).first()
    if confirmation is None:
        raise Http404("No such confirmation")
    study = study_for_reader(request.user, confirmation.study_id)
    labels = protocol_labels(study.protocol)
    label_id = _label_filter(request.POST.get("label"), labels)
    try:
        study = confirmation_undo(confirmation=confirmation, reader=request.user, request=request)
    except UndoRefused as refused:
        return render_study(request, study, label_id=label_id, labels=labels, notice=("error", str(refused)), status=409)
    lease_take(study=study, reader=request.user)
    if not request.htmx:
        return redirect(study_url(study.pk, label_id))
    return render_study(
        request, study, label_id=label_id, labels=labels,
        choices={row.label_id: row.value for row in confirmation.labels.all()},
        notice=("info", f"Undone: study {study.pk} is yours to read again."),
    )
