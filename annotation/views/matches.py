"""Matches in context: a phrase's hits with the sentence around them, judged right or wrong by key."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotation.engine.schema import normalise_phrase
from annotation.selectors.precision import phrase_precision_by_text, precision_estimate
from annotation.selectors.quality import label_phrase_hits, phrase_matches
from annotation.services.judgements import (
    PRECISION_MIN_JUDGED,
    JudgementInvalid,
    match_judge,
    phrase_precision_apply,
)
from annotation.views.quality import label_from, protocol_for_curator
from reports.models import Report
from reports.services.audit import audit_report_read


def matches_url(protocol_id: int, **params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{reverse('annotation:matches', args=[protocol_id])}{'?' + query if query else ''}"


def _page(raw: str | None) -> int:
    try:
        return max(1, int(raw or "1"))
    except ValueError:
        return 1


@require_GET
def matches(request: HttpRequest, protocol_id: int) -> HttpResponse:
    """No label: the labels. A label: its phrases by hits, with precision. A phrase: its hits."""
    protocol = protocol_for_curator(request, protocol_id)
    labels, label = label_from(protocol, request.GET.get("label"))
    phrase = normalise_phrase(request.GET.get("phrase", ""))
    context: dict[str, Any] = {"protocol": protocol, "labels": labels, "label": label, "phrase": phrase}
    if label is not None and not phrase:
        context["phrases"] = label_phrase_hits(protocol=protocol, label=label)
        context["min_judged"] = PRECISION_MIN_JUDGED
    elif label is not None:
        affirmed_only = request.GET.get("all") != "1"
        page = phrase_matches(
            protocol=protocol, label=label, phrase=phrase, page=_page(request.GET.get("page")), judge=request.user,
            affirmed_only=affirmed_only,
        )
        for report in page.reports:
            audit_report_read(
                actor=request.user, report=report, protocol=protocol, request=request,
                detail={"study": report.study_id, "view": "matches", "label": label.pk},
            )
        context.update(
            page=page, affirmed_only=affirmed_only,
            precision=phrase_precision_by_text(label, protocol=protocol).get(phrase) or precision_estimate(0, 0),
            prev_url=matches_url(protocol.pk, label=label.pk, phrase=phrase, page=page.number - 1, all="" if affirmed_only else 1),
            next_url=matches_url(protocol.pk, label=label.pk, phrase=phrase, page=page.number + 1, all="" if affirmed_only else 1),
        )
    return render(request, "annotation/matches.html", context)


@require_POST
def match_judge_view(request: HttpRequest, protocol_id: int) -> HttpResponse:
    protocol = protocol_for_curator(request, protocol_id)
    _, label = label_from(protocol, request.POST.get("label"))
    try:
        report_id, start, end = (int(request.POST.get(k, "")) for k in ("report", "start", "end"))
    except ValueError:
        return HttpResponseBadRequest("Name the label, report and span to judge.")
    if label is None:
        return HttpResponseBadRequest("Name one of the protocol's labels.")
    report = Report.objects.filter(pk=report_id, study__protocol=protocol).only("id", "text", "study_id").first()
    if report is None:
        raise Http404("No such report")
    try:
        judgement = match_judge(
            actor=request.user, protocol=protocol, report=report, label=label, start=start, end=end,
            verdict=request.POST.get("verdict", ""), note=request.POST.get("note", ""), request=request,
        )
    except JudgementInvalid as exc:
        return HttpResponseBadRequest(str(exc))
    phrase = judgement.phrase_text
    if not request.htmx:
        return redirect(matches_url(protocol.pk, label=label.pk, phrase=phrase, page=request.POST.get("page")))
    # The verdict cell, and the phrase's precision out of band: no report text in the answer.
    mine = {"verdict": judgement.verdict, "note": judgement.note, "judged_by_me": True}
    precision = phrase_precision_by_text(label, protocol=protocol).get(phrase) or precision_estimate(0, 0)
    cell = render_to_string("annotation/matches.html#verdict", {"m": mine}, request=request)
    box = render_to_string("annotation/matches.html#precision", {"precision": precision, "oob": True}, request=request)
    return HttpResponse(cell + box)


@require_POST
def phrase_precision_apply_view(request: HttpRequest, protocol_id: int) -> HttpResponse:
    protocol = protocol_for_curator(request, protocol_id)
    _, label = label_from(protocol, request.POST.get("label"))
    if label is None:
        return HttpResponseBadRequest("Name one of the protocol's labels.")
    changed = phrase_precision_apply(actor=request.user, protocol=protocol, label=label, request=request)
    messages.success(
        request,
        f"Measured precision stored for {len(changed)} phrase(s) of {label.name}; relabel to apply it."
        if changed else f"No phrase of {label.name} has {PRECISION_MIN_JUDGED} judged matches with a new precision yet.",
    )
    return redirect(matches_url(protocol.pk, label=label.pk))
