"""A label's phrases: the table (every member), and the curator's edit, preview, save and revert."""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotation.forms import PhraseEditForm
from annotation.models import Label, PhraseChange
from annotation.permissions import Action, can_curate, get_protocol_for_action
from annotation.selectors.phrase_preview import PhrasePreview, phrase_preview, preview_sample
from annotation.selectors.phrases import (
    FILTERS,
    SORTS,
    label_for_protocol,
    phrase_changes_for_label,
    phrase_table,
)
from annotation.services.phrases import (
    PhraseEditConflict,
    PhraseEditInvalid,
    engine_schema_after,
    phrase_change_revert,
    phrase_change_save,
    phrase_edit_plan,
)
from annotation.services.schemas import schema_for_protocol, schema_to_engine
from reports.models import Protocol
from reports.permissions import get_protocol_for_user
from reports.services.audit import audit_report_read

STUDIES_PER_PAGE = 200


def _label(protocol: Protocol, label_id: int) -> Label:
    label = label_for_protocol(protocol=protocol, label_id=label_id)
    if label is None:
        raise Http404("No such label")
    return label


def _table_args(request: HttpRequest) -> dict[str, Any]:
    sort = request.GET.get("sort", "priority")
    descending = sort.startswith("-")
    sort = sort.removeprefix("-")
    show = request.GET.get("show", "all")
    return {
        "sort": sort if sort in SORTS else "priority",
        "descending": descending,
        "show": show if show in FILTERS else "all",
    }


def _render(
    request: HttpRequest, protocol: Protocol, label: Label, *, form: PhraseEditForm | None = None,
    table: Any = None, args: dict[str, Any] | None = None, preview: PhrasePreview | None = None,
    sample: list[Any] | None = None, error: str = "", status: int = 200, partial: str = "",
) -> HttpResponse:
    args = args or _table_args(request)
    table = table if table is not None else phrase_table(protocol=protocol, label=label, **args)
    curate = can_curate(request.user, protocol)
    if form is None and curate:
        form = PhraseEditForm(rows=table.rows)
    # The page lists what the study API shows as changed (value or p), evidence-only apart.
    studies = preview.value_studies if preview is not None else []
    context = {
        "protocol": protocol,
        "label": label,
        "table": table,
        "args": args,
        "sorts": list(SORTS),
        "filters": FILTERS,
        "form": form,
        "can_curate": curate,
        "changes": phrase_changes_for_label(label=label) if curate else [],
        "preview": preview,
        "study_pages": [studies[i:i + STUDIES_PER_PAGE] for i in range(0, len(studies), STUDIES_PER_PAGE)],
        "changed_studies": len(studies),
        "changed_labels": len(preview.value_changes) if preview is not None else 0,
        "evidence_only": preview.evidence_only_studies if preview is not None else [],
        "sample": sample or [],
        "transition_rows": transition_rows(preview) if preview is not None else [],
        "error": error,
    }
    template = "annotation/phrase_table.html" + (f"#{partial}" if partial else "")
    return render(request, template, context, status=status)


def transition_rows(preview: PhrasePreview) -> list[tuple[str, str, int]]:
    """(label, transition, soft labels) rows of the preview table, written "absent → positive" like
    the page's sample and history; the API keeps its "absent->positive" keys."""
    return [
        (name, transition.replace("->", " → "), n)
        for name, transitions in preview.by_label().items()
        for transition, n in transitions.items()
    ]


@require_GET
def phrase_table_view(request: HttpRequest, protocol_id: int, label_id: int) -> HttpResponse:
    protocol = get_protocol_for_user(request.user, protocol_id)
    label = _label(protocol, label_id)
    return _render(request, protocol, label, partial="phrase-rows" if request.htmx else "")


def _posted(request: HttpRequest, protocol_id: int, label_id: int) -> tuple[Protocol, Label, PhraseEditForm, Any]:
    protocol = get_protocol_for_action(request.user, protocol_id, Action.CURATE)
    label = _label(protocol, label_id)
    table = phrase_table(protocol=protocol, label=label)
    return protocol, label, PhraseEditForm(request.POST, rows=table.rows), table


@require_POST
def phrase_preview_view(request: HttpRequest, protocol_id: int, label_id: int) -> HttpResponse:
    protocol, label, form, table = _posted(request, protocol_id, label_id)
    partial = "preview-panel" if request.htmx else ""
    if not form.is_valid():
        return _render(request, protocol, label, form=form, table=table, error=_form_errors(form), status=400, partial=partial)
    try:
        plan = phrase_edit_plan(protocol=protocol, label=label, edit=form.edit())
    except PhraseEditInvalid as invalid:
        return _render(request, protocol, label, form=form, table=table, error=str(invalid), status=400, partial=partial)
    preview = phrase_preview(
        protocol=protocol,
        old_schema=schema_to_engine(schema_for_protocol(protocol)),
        new_schema=engine_schema_after(protocol=protocol, plan=plan),
    )
    sample = preview_sample(preview)
    for item in sample:  # the sample shows report text
        audit_report_read(
            actor=request.user, report=_report_stub(item.report_id), protocol=protocol, request=request,
            detail={"study": item.study_id, "view": "phrase-preview"},
        )
    return _render(request, protocol, label, form=form, table=table, preview=preview, sample=sample, partial=partial)


def _form_errors(form: PhraseEditForm) -> str:
    return "; ".join(f"{form.fields[name].label or name}: {' '.join(errors)}" for name, errors in form.errors.items() if name in form.fields) or "Check the form."


def _report_stub(report_id: int) -> Any:
    from reports.models import Report

    return Report(pk=report_id)


@require_POST
def phrase_save_view(request: HttpRequest, protocol_id: int, label_id: int) -> HttpResponse:
    protocol, label, form, table = _posted(request, protocol_id, label_id)
    if not form.is_valid():
        return _render(request, protocol, label, form=form, table=table, error=_form_errors(form), status=400)
    try:
        plan = phrase_edit_plan(protocol=protocol, label=label, edit=form.edit())
        change = phrase_change_save(
            protocol=protocol, plan=plan, actor=request.user, reason=form.cleaned_data.get("reason") or "", request=request
        )
    except PhraseEditInvalid as invalid:
        return _render(request, protocol, label, form=form, table=table, error=str(invalid), status=400)
    except PhraseEditConflict as conflict:
        return _render(request, protocol, label, form=form, table=table, error=str(conflict), status=409)
    messages.success(request, f"Phrase change {change.pk} saved; relabel job {change.job_id} updates the soft labels.")
    return redirect(reverse("reports:job-detail", args=[change.job_id]))


@require_POST
def phrase_revert_view(request: HttpRequest, protocol_id: int, change_id: int) -> HttpResponse:
    protocol = get_protocol_for_action(request.user, protocol_id, Action.CURATE)
    change = PhraseChange.objects.filter(pk=change_id, label__schema=schema_for_protocol(protocol)).select_related("label").first()
    if change is None:
        raise Http404("No such change")
    try:
        revert = phrase_change_revert(protocol=protocol, change=change, actor=request.user, request=request)
    except (PhraseEditConflict, PhraseEditInvalid) as refused:
        return _render(request, protocol, change.label, error=str(refused), status=409)
    messages.success(request, f"Change {change.pk} reverted; relabel job {revert.job_id} updates the soft labels.")
    return redirect(reverse("reports:job-detail", args=[revert.job_id]))
