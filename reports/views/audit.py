from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from reports.access_forms import AuditFilterForm
from reports.permissions import can_manage_protocols
from reports.selectors.audit import AuditFilters, audit_events

PAGE_SIZE = 50


@require_GET
def audit_log_view(request: HttpRequest) -> HttpResponse:
    """The audit log for admins, filterable; rows hold ids only, so filters in the URL carry no PHI."""
    if not can_manage_protocols(request.user):
        raise Http404("No such page")
    form = AuditFilterForm(request.GET or None)
    valid = form.is_valid() if form.is_bound else True
    filters = form.to_filters() if form.is_bound and valid else AuditFilters()
    page = Paginator(audit_events(filters=filters), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "reports/audit_log.html", {"form": form, "page": page}, status=200 if valid else 400)
