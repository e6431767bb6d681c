"""Cohort pages: the list per protocol, the new-cohort form with a live count, detail, export."""
from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotation.permissions import Action, get_protocol_for_action
from annotation.selectors.queue import protocol_labels
from reports.models import Protocol, Study
from training.models import AgreementFilter, Cohort, CohortSource, UncertainPolicy
from training.selectors.cohorts import (
    ALL_EXPORT_FORMATS,
    COHORT_ROLES,
    EXPORT_FORMATS,
    MANIFEST_FORMATS,
    SPLITS,
    cohort_chart,
    cohort_export_stream,
    cohort_revised_reports,
    cohort_summary_rows,
    cohorts_for_protocol,
    get_cohort_for_user,
)
from training.services.cohort_images import cohort_images_request, cohort_images_status
from training.services.cohorts import (
    CohortEmpty,
    CohortInvalid,
    CohortSpec,
    cohort_export_audit,
    cohort_preview,
    cohort_request,
    cohort_spec_build,
)


class CohortForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Freezing the same name again makes its next version.")
    labels = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, help_text="The labels to freeze.")
    source = forms.ChoiceField(choices=CohortSource.choices, initial=CohortSource.CONFIRMED, widget=forms.RadioSelect)
    uncertain = forms.ChoiceField(
        label="Uncertain values", choices=UncertainPolicy.choices, initial=UncertainPolicy.IGNORE, widget=forms.RadioSelect
    )
    agreement = forms.ChoiceField(label="Confirmed labels", choices=AgreementFilter.choices, initial=AgreementFilter.AGREED_OR_ADJUDICATED)
    modality = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple, help_text="None ticked: every modality.")
    date_from = forms.DateField(label="Studies from", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="Studies to", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, initial=0, help_text="Seeds the train / validation / test split.")

    def __init__(self, *args: Any, protocol: Protocol, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = [label.name for label in protocol_labels(protocol)]
        self.fields["labels"].choices = [(name, name) for name in names]
        self.fields["labels"].initial = names
        modalities = (
            Study.objects.filter(protocol=protocol).exclude(modality="").values_list("modality", flat=True).distinct()
        )
        self.fields["modality"].choices = [(m, m) for m in sorted(set(modalities))]


def _protocol(request: HttpRequest, protocol_id: int) -> Protocol:
    return get_protocol_for_action(request.user, protocol_id, Action.EXPORT)


def _train_url(cohort: Cohort) -> str | None:
    """The training helper's job form for this cohort, once that page exists."""
    try:
        return f"{reverse('training:job-new')}?cohort={cohort.pk}"
    except NoReverseMatch:
        return None


@require_GET
def cohort_index(request: HttpRequest) -> HttpResponse:
    """Every protocol the user builds cohorts on, with its cohorts."""
    protocols = list(Protocol.objects.visible_to(request.user, COHORT_ROLES).order_by("irb_number"))
    sections = [(protocol, list(cohorts_for_protocol(protocol=protocol))) for protocol in protocols]
    return render(request, "training/cohort_index.html", {"sections": sections})


@require_GET
def cohort_list(request: HttpRequest, protocol_id: int) -> HttpResponse:
    protocol = _protocol(request, protocol_id)
    return render(request, "training/cohort_list.html", {"protocol": protocol, "cohorts": cohorts_for_protocol(protocol=protocol)})


@require_http_methods(["GET", "POST"])
def cohort_new(request: HttpRequest, protocol_id: int) -> HttpResponse:
    protocol = _protocol(request, protocol_id)
    form = CohortForm(request.POST or None, protocol=protocol)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                outcome = cohort_request(spec=cohort_spec_build(protocol=protocol, data=form.cleaned_data), actor=request.user)
            except CohortInvalid as invalid:
                for field, message in invalid.errors.items():
                    form.add_error(field if field in form.fields else None, message)
            except CohortEmpty as empty:
                form.add_error(None, str(empty))
            else:
                if isinstance(outcome, Cohort):
                    messages.success(request, f"Froze {outcome.name} v{outcome.version}: {outcome.study_count} studies.")
                    return redirect("training:cohort-detail", cohort_id=outcome.pk)
                messages.info(request, "This cohort is large: it is being frozen by a background job.")
                return redirect("reports:job-detail", pk=outcome.pk)
        status = 400
    return render(request, "training/cohort_new.html", {"protocol": protocol, "form": form}, status=status)


@require_GET
def cohort_preview_view(request: HttpRequest, protocol_id: int) -> HttpResponse:
    """The live count under the form (htmx swaps the partial; without JS, a page of its own)."""
    protocol = _protocol(request, protocol_id)
    data = request.GET.copy()
    data.setdefault("name", "preview")
    form = CohortForm(data, protocol=protocol)
    preview: dict[str, Any] | None = None
    error = ""
    if form.is_valid():
        try:
            spec: CohortSpec = cohort_spec_build(protocol=protocol, data=form.cleaned_data)
        except CohortInvalid as invalid:
            error = "; ".join(invalid.errors.values())
        else:
            preview = cohort_preview(spec=spec)
    else:
        error = "Fix the form to see a count."
    template = "training/cohort_new.html#cohort-preview" if request.htmx else "training/cohort_preview.html"
    return render(request, template, {"protocol": protocol, "preview": preview, "preview_error": error})


@require_GET
def cohort_detail(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = get_cohort_for_user(request.user, cohort_id)
    images = {"cohort": cohort, "images": cohort_images_status(cohort), "manifest_formats": list(MANIFEST_FORMATS)}
    if request.htmx:
        # The images card polls itself while its conversion job runs.
        return render(request, "training/cohort_detail.html#cohort-images", images)
    context = {
        **images,
        "splits": SPLITS,
        "split_pairs": [(split, cohort.splits.get(split, 0)) for split in SPLITS],
        "rows": cohort_summary_rows(cohort),
        "chart": cohort_chart(cohort),
        "export_links": [(fmt, cohort.export_sha256.get(fmt, "")) for fmt in EXPORT_FORMATS],
        "revised": cohort_revised_reports(cohort),
        "train_url": _train_url(cohort),
        "params_items": [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in sorted(cohort.params.items())],
    }
    return render(request, "training/cohort_detail.html", context)


def cohort_export_response(request: HttpRequest, cohort: Cohort, fmt: str, *, channel: str) -> StreamingHttpResponse:
    """Audit the export, then stream the file (flat memory, never cached). The caller checked access."""
    spec = ALL_EXPORT_FORMATS.get(fmt)
    if spec is None:
        raise Http404("No such export format")
    cohort_export_audit(cohort=cohort, actor=request.user, fmt=fmt, request=request, channel=channel)
    response = StreamingHttpResponse(cohort_export_stream(cohort, fmt), content_type=spec.content_type)
    filename = f"cohort-{cohort.pk}-v{cohort.version}{spec.name_suffix}.{spec.extension}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def cohort_export(request: HttpRequest, cohort_id: int) -> StreamingHttpResponse:
    cohort = get_cohort_for_user(request.user, cohort_id)
    return cohort_export_response(request, cohort, request.GET.get("format", "jsonl"), channel="page")


@require_POST
def cohort_images_convert(request: HttpRequest, cohort_id: int) -> HttpResponse:
    """Start (or find) the job that converts the cohort's DICOM series to NIfTI; `retry_refused`
    (the "Retry refused" button) tries again the series the last conversion refused."""
    cohort = get_cohort_for_user(request.user, cohort_id)
    retry = request.POST.get("retry_refused") == "1"
    job = cohort_images_request(cohort=cohort, actor=request.user, retry_refused=retry, request=request)
    if job is None:
        messages.info(request, "Every study of this cohort that has images is converted already.")
    else:
        messages.info(request, "Converting the cohort's images to NIfTI: the progress shows below.")
    return redirect("training:cohort-detail", cohort_id=cohort.pk)
