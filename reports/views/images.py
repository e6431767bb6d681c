"""The image strip and slice viewer shown beside a report, and the slice PNGs behind them.

Both are access-checked through the study (404 out of scope) and every PNG served is audited,
like a read of report text. URLs carry only opaque ids, a slice index and a preset name.
"""
from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from reports.dicom.render import PRESETS
from reports.permissions import get_study_for_user
from reports.selectors.images import series_for_user, series_instance, study_series
from reports.services.images import PRESET_CHOICES, SIZES, image_read_audit, instance_png

PRESET_LABELS = {"auto": "Auto", "lung": "Lung", "mediastinum": "Mediastinum", "bone": "Bone", "brain": "Brain"}


@require_GET
def study_images(request: HttpRequest, study_id: int) -> HttpResponse:
    """The strip of series thumbnails and the viewer; empty when the study has no images."""
    study = get_study_for_user(request.user, study_id, related=("protocol",))
    series = list(study_series(study=study))
    if not series:
        return HttpResponse("")
    for one in series:
        one.middle = one.instances // 2  # the thumbnail: the middle slice says most about a series
    presets = [(key, PRESET_LABELS[key], PRESETS.get(key)) for key in PRESET_CHOICES]
    return render(request, "reports/partials/study_images.html", {"study": study, "series": series, "presets": presets})


@require_GET
def slice_png(request: HttpRequest, series_id: int) -> HttpResponse:
    """One slice (?i=, from 0 in viewer order) as PNG, with ?preset= and ?size=thumb|view."""
    study, series = series_for_user(request.user, series_id)
    preset = request.GET.get("preset", "auto")
    size = request.GET.get("size", "view")
    raw_index = request.GET.get("i", "0")
    if preset not in PRESET_CHOICES or size not in SIZES or not raw_index.isdigit():
        raise Http404("No such rendering")
    index = int(raw_index)
    instance = series_instance(series=series, index=index)
    data = instance_png(study=study, instance=instance, preset=preset, size=size)
    image_read_audit(actor=request.user, study=study, series=series, index=index, request=request)
    return HttpResponse(data, content_type="image/png")
