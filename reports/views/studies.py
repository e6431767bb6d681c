"""The study list and the study page.

The list's filters are posted and kept in the session, so an accession typed into the search
box never lands in a URL, a browser history or an access log (DESIGN.md: no PHI in URLs).
Links may still pre-select non-PHI filters with GET parameters (for example `?protocol=3`).
"""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from reports.access_forms import StudyFilterForm
from reports.selectors.studies import (
    StudyFilters,
    report_sections,
    study_list,
    study_page,
)
from reports.services.studies import study_report_read

SESSION_FILTERS = "radlabel_study_filters"
PAGE_SIZE = 50


def _int_param(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


@require_http_methods(["GET", "POST"])
def study_list_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if "clear" in request.POST:
            request.session.pop(SESSION_FILTERS, None)
            return redirect("reports:study-list")
        form = StudyFilterForm(request.POST, user=request.user)
        if form.is_valid():
            request.session[SESSION_FILTERS] = form.to_session()
            return redirect("reports:study-list")
        return render(request, "reports/study_list.html", {"form": form, "page": None}, status=400)

    from_url = any(name in request.GET for name in StudyFilterForm.FIELDS)
    form = StudyFilterForm(request.GET if from_url else request.session.get(SESSION_FILTERS, {}), user=request.user)
    if form.is_valid():
        filters = form.to_filters()
    elif from_url:
        return render(request, "reports/study_list.html", {"form": form, "page": None}, status=400)
    else:
        # Saved filters that no longer validate (say, a protocol the user has left): start afresh.
        request.session.pop(SESSION_FILTERS, None)
        form, filters = StudyFilterForm(user=request.user), StudyFilters()
    page = study_page(
        queryset=study_list(user=request.user, filters=filters),
        after=_int_param(request, "after"),
        before=_int_param(request, "before"),
        size=PAGE_SIZE,
    )
    return render(request, "reports/study_list.html", {"form": form, "page": page, "filtered": filters != StudyFilters()})


@require_GET
def study_detail_view(request: HttpRequest, study_id: int) -> HttpResponse:
    study, report = study_report_read(user=request.user, study_id=study_id, request=request, channel="page")
    return render(
        request,
        "reports/study_detail.html",
        {"study": study, "report": report, "sections": report_sections(report) if report else []},
    )
