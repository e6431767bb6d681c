from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from reports.permissions import can_manage_protocols
from reports.selectors.protocols import protocol_roles_for_user
from reports.selectors.studies import protocol_summaries_for_user


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Dashboard: the user's protocols with study counts; admin links for staff."""
    return render(
        request,
        "reports/home.html",
        {
            "summaries": protocol_summaries_for_user(user=request.user),
            "can_manage": can_manage_protocols(request.user),
            # Per-protocol links to the reading pages (read / adjudicate / agreement / labels).
            "protocol_roles": protocol_roles_for_user(user=request.user),
        },
    )
