"""Agreement per label on a protocol (aggregates only: no reader's answer is shown here)."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from annotation.selectors.agreement import protocol_agreement, protocol_review_counts
from reports.permissions import get_protocol_for_user


@require_GET
def agreement(request: HttpRequest, protocol_id: int) -> HttpResponse:
    protocol = get_protocol_for_user(request.user, protocol_id)
    context = {
        "protocol": protocol,
        "rows": protocol_agreement(protocol=protocol),
        "counts": protocol_review_counts(protocol=protocol),
    }
    return render(request, "annotation/agreement.html", context)
