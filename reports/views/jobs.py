"""The job page: status, progress and outcome of a background job, polled by htmx.

What a finished job's result shows (counts, skipped files...) is up to its kind's registered
summary (reports.jobs.registry), so this page knows no kind."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from reports.jobs.registry import job_summary
from reports.permissions import get_job_for_user


@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_job_for_user(request.user, pk)
    # htmx polls for the status block only; the page and the fragment share one template.
    template = "reports/job_detail.html#job-status" if request.htmx else "reports/job_detail.html"
    return render(request, template, {"job": job, "summary": job_summary(job)})
