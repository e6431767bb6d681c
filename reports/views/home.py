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
    # One card per protocol: its counts, the user's role and the pages that role works in.
    roles = {row.protocol.pk: row for row in protocol_roles_for_user(user=request.user)}
    cards = [(summary, roles.get(summary["protocol"].pk)) for summary in protocol_summaries_for_user(user=request.user)]
    return render(request, "reports/home.html", {"cards": cards, "can_manage": can_manage_protocols(request.user)})
