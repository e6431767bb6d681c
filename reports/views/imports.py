"""The upload page: curators and data scientists bring report files into their protocols."""
from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from reports.forms import DicomImportForm, ImportForm
from reports.importers.parse import COLUMNS, REQUIRED
from reports.models import Protocol
from reports.permissions import IMPORT_ROLES
from reports.services.dicom import dicom_import_enqueue, dicom_inbox_folders
from reports.services.imports import (
    ImportRejected,
    UploadTooLarge,
    report_import_enqueue,
    upload_too_large,
    upload_was_cut,
)
from reports.services.pacs import pacs_pull_enqueue


@require_http_methods(["GET", "POST"])
def import_new(request: HttpRequest) -> HttpResponse:
    protocols = Protocol.objects.visible_to(request.user, IMPORT_ROLES)
    if not protocols.exists():
        raise Http404("No protocol to import into")
    context = {"required": REQUIRED, "optional": COLUMNS[len(REQUIRED):],
               "max_mb": settings.IMPORT_MAX_BYTES // (1024 * 1024)}
    if request.method == "POST" and (
        upload_too_large(request.META.get("CONTENT_LENGTH")) or (request.FILES is not None and upload_was_cut(request))
    ):
        # Refused before Django spools the body to disk (SECURITY.md promise 12).
        form = ImportForm(protocols=protocols)
        context |= {"form": form, "too_large": True}
        return render(request, "reports/import_form.html", context, status=413)
    # Bound on every POST, even an empty one: that is a submission missing its fields (400).
    bound = request.method == "POST"
    form = ImportForm(request.POST if bound else None, request.FILES if bound else None, protocols=protocols)
    if request.method == "POST" and form.is_valid():
        try:
            job = report_import_enqueue(
                protocol=form.cleaned_data["protocol"], source=form.cleaned_data["file"],
                filename=form.cleaned_data["file"].name, fmt=form.cleaned_data["format"],
                actor=request.user, channel="page",
            )
        except UploadTooLarge as exc:
            form.add_error("file", str(exc))
        except ImportRejected as rejected:
            form.add_error("file", rejected.errors[0].message)
        else:
            return redirect("reports:job-detail", pk=job.pk)
    context["form"] = form
    return render(request, "reports/import_form.html", context, status=400 if form.errors else 200)



@require_http_methods(["GET", "POST"])
def dicom_import_new(request: HttpRequest) -> HttpResponse:
    """Start a DICOM import: an inbox folder, or accessions from a configured PACS source."""
    protocols = Protocol.objects.visible_to(request.user, IMPORT_ROLES)
    if not protocols.exists():
        raise Http404("No protocol to import into")
    bound = request.method == "POST"
    form = DicomImportForm(request.POST if bound else None, protocols=protocols, folders=dicom_inbox_folders(),
                           sources=sorted(settings.PACS_SOURCES))
    if bound and form.is_valid():
        data = form.cleaned_data
        if data["folder"]:
            job = dicom_import_enqueue(protocol=data["protocol"], folder=data["folder"], actor=request.user, channel="page")
        else:
            job = pacs_pull_enqueue(protocol=data["protocol"], source_name=data["source"], accessions=data["accessions"],
                                    actor=request.user, channel="page")
        return redirect("reports:job-detail", pk=job.pk)
    context = {"form": form, "inbox": settings.DICOM_IMPORT_ROOT}
    return render(request, "reports/dicom_import_form.html", context, status=400 if form.errors else 200)
