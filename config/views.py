"""Pages that span every app: the dashboard links into reports and annotation."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.defaults import bad_request, page_not_found

from annotation.permissions import Action, role_may
from reports.permissions import can_manage_protocols
from reports.selectors.protocols import ProtocolRole, protocol_roles_for_user
from reports.selectors.studies import protocol_summaries_for_user


@dataclass(frozen=True)
class ProtocolCard:
    """One protocol on the dashboard: its counts, the user's role, the pages that role works in."""

    summary: dict[str, Any]
    role: ProtocolRole | None
    reads: bool
    adjudicates: bool


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Dashboard: the user's protocols with study counts; admin links for staff."""
    roles = {row.protocol.pk: row for row in protocol_roles_for_user(user=request.user)}
    cards = []
    for summary in protocol_summaries_for_user(user=request.user):
        role = roles.get(summary["protocol"].pk)
        name = role.role if role else None
        cards.append(
            ProtocolCard(
                summary=summary,
                role=role,
                reads=role_may(name, Action.READ),
                adjudicates=role_may(name, Action.ADJUDICATE),
            )
        )
    context = {"cards": cards, "can_manage": can_manage_protocols(request.user)}
    return render(request, "home.html", context)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A URL that matches no route: JSON under /api/, as the schema documents, the page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


def refused(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A request Django refuses before any view (too many form fields, a bad Host): JSON under /api/."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return bad_request(request, exception)
