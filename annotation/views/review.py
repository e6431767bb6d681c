"""The review list: a protocol's studies filtered by one label's soft label."""
from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from annotation.models import ConfirmValue
from annotation.selectors.review import ReviewFilter, review_page
from annotation.views.quality import label_from, protocol_for_view

VALUE_CHOICES = [("", "any value"), *[(v, v) for v in ConfirmValue.values]]


def _unit(raw: str | None) -> float | None:
    try:
        value = float(raw or "")
    except ValueError:
        return None
    return value if 0.0 <= value <= 1.0 else None


@require_GET
def review(request: HttpRequest, protocol_id: int) -> HttpResponse:
    protocol = protocol_for_view(request, protocol_id)
    labels, label = label_from(protocol, request.GET.get("label"))
    value = request.GET.get("value", "")
    flt = ReviewFilter(
        value=value if value in ConfirmValue.values else "",
        p_min=_unit(request.GET.get("p_min")),
        p_max=_unit(request.GET.get("p_max")),
        phrase=request.GET.get("phrase", "").strip()[:200],
        disagreement=request.GET.get("disagreement") == "1",
    )
    context = {"protocol": protocol, "labels": labels, "label": label, "flt": flt, "value_choices": VALUE_CHOICES}
    if label is not None:
        page, rows = review_page(protocol=protocol, label=label, flt=flt, page=request.GET.get("page") or 1)
        query = {k: v for k, v in request.GET.items() if k != "page" and v}
        context.update(page=page, rows=rows, query=urlencode(query))
    return render(request, "annotation/review.html", context)
