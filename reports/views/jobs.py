"""The job page: status, progress and row errors of a background job, polled by htmx."""
from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from reports.models import Job, Protocol


def get_job_for_user(user: AbstractBaseUser | AnonymousUser, job_id: int) -> Job:
    """A job of one of the user's protocols, or 404."""
    job = (
        Job.objects.filter(pk=job_id, protocol__in=Protocol.objects.visible_to(user))
        .select_related("protocol")
        .first()
    )
    if job is None:
        raise Http404("No such job")
    return job


@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_job_for_user(request.user, pk)
    # htmx polls for the status block only; the page and the fragment share one template.
    template = "reports/job_detail.html#job-status" if request.htmx else "reports/job_detail.html"
    return render(request, template, {"job": job})
