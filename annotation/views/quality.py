"""Quality assessment pages: random quality samples (draw, judge by keyboard, estimates) and
calibration of p (reliability diagram, ECE, fit). Curators act; data scientists may look."""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotation.models import ConfirmValue, Label, QualitySample, QualitySampleItem, SoftLabel
from annotation.permissions import Action, can_curate, get_protocol_for_action
from annotation.selectors.quality import (
    CALIBRATION_MIN_CLASS,
    CALIBRATION_MIN_FIT,
    ISOTONIC_MIN_FIT,
    label_calibration,
    latest_samples,
    next_sample_item,
    quality_overview,
    sample_estimates,
)
from annotation.selectors.queue import protocol_labels
from annotation.services.calibration import (
    CalibrationRefused,
    label_calibration_clear,
    label_calibration_fit,
)
from annotation.services.quality import (
    DEFAULT_WIDTH,
    WIDTHS,
    QualityInvalid,
    quality_item_judge,
    quality_sample_size,
    quality_sample_start,
)
from reports.models import Job, Protocol, Role
from reports.permissions import get_protocol_for_user
from reports.services.audit import audit_report_read

# Who may look at quality figures: curators, and data scientists before they train.
VIEW_ROLES: tuple[str, ...] = (Role.CURATOR, Role.DATA_SCIENTIST)
JUDGE_KEYS = {"positive": "p", "negative": "n", "uncertain": "u", "absent": "a"}


def protocol_for_view(request: HttpRequest, protocol_id: int) -> Protocol:
    return get_protocol_for_user(request.user, protocol_id, VIEW_ROLES)


def protocol_for_curator(request: HttpRequest, protocol_id: int) -> Protocol:
    # Other roles get 404 like the adjudication pages: the scope matrix's rule for role routes.
    return get_protocol_for_action(request.user, protocol_id, Action.CURATE, wrong_role=404)


def label_from(protocol: Protocol, raw: str | None) -> tuple[list[Label], Label | None]:
    """The protocol's labels and the one `raw` names (None when it names none of them)."""
    labels = protocol_labels(protocol)
    try:
        wanted = int(raw or "")
    except ValueError:
        return labels, None
    return labels, next((label for label in labels if label.pk == wanted), None)


def _int(raw: str | None) -> int | None:
    try:
        return int(raw or "")
    except ValueError:
        return None


@require_GET
def quality(request: HttpRequest, protocol_id: int) -> HttpResponse:
    protocol = protocol_for_view(request, protocol_id)
    labels, label = label_from(protocol, request.GET.get("label"))
    context: dict[str, Any] = {
        "protocol": protocol, "labels": labels, "label": label, "widths": WIDTHS,
        "can_curate": can_curate(request.user, protocol),
    }
    if label is None:
        context.update(overview=quality_overview(protocol=protocol, labels=labels), width=DEFAULT_WIDTH)
    else:
        samples = [(sample, sample_estimates(sample)) for sample in latest_samples(protocol=protocol, label=label)]
        try:
            width = float(request.GET.get("width") or DEFAULT_WIDTH)
        except ValueError:
            width = DEFAULT_WIDTH
        width = width if width in WIDTHS else DEFAULT_WIDTH
        size, population, per_value = quality_sample_size(protocol=protocol, label=label, target_width=width)
        context.update(
            samples=samples,
            width=width,
            per_value=sorted(per_value.items()),
            plan_size=size,
            population=population,
        )
    return render(request, "annotation/quality.html", context)


@require_POST
def quality_draw(request: HttpRequest, protocol_id: int) -> HttpResponse:
    protocol = protocol_for_curator(request, protocol_id)
    _, label = label_from(protocol, request.POST.get("label"))
    try:
        width = float(request.POST.get("width") or "")
    except ValueError:
        width = 0.0
    if label is None or width not in WIDTHS:
        return HttpResponseBadRequest("Choose one of the protocol's labels and a listed interval width.")
    try:
        started, new = quality_sample_start(protocol=protocol, label=label, actor=request.user, target_width=width, request=request)
    except QualityInvalid as exc:
        return HttpResponseBadRequest(str(exc))
    if isinstance(started, Job):
        said = "Drawing the sample in job" if new else "A sample of this label and width is already being drawn in job"
        messages.success(request, f"{said} {started.pk}; it appears on the quality page when done.")
        return redirect(reverse("reports:job-detail", args=[started.pk]))
    if new:
        messages.success(request, f"Sample {started.pk} drawn: {started.items.count()} soft labels to judge.")
    else:
        messages.info(request, f"Sample {started.pk} of this label and width has nothing judged yet: judge it before drawing another.")
    return redirect(f"{reverse('annotation:quality-judge', args=[protocol.pk])}?sample={started.pk}")


def _sample_for(protocol: Protocol, raw: str | None) -> QualitySample | None:
    sample_id = _int(raw)
    if sample_id is None:
        return None
    sample = QualitySample.objects.filter(pk=sample_id, protocol=protocol).select_related("label").first()
    if sample is None:
        raise Http404("No such sample")
    return sample


def _item_context(request: HttpRequest, protocol: Protocol, sample: QualitySample, item: QualitySampleItem | None) -> dict[str, Any]:
    context: dict[str, Any] = {
        "protocol": protocol, "sample": sample, "item": item, "keys": JUDGE_KEYS,
        "values": [(v, ConfirmValue(v).label, JUDGE_KEYS[v]) for v in JUDGE_KEYS],
        "judged": sample.items.exclude(judged_value="").count(), "size": sample.items.count(),
    }
    if item is not None:
        report = item.report
        soft = SoftLabel.objects.filter(report=report, label=sample.label).first()
        context["segments"] = highlight(report.text, soft.evidence if soft else [])
        context["previous"] = sample.items.filter(position__lt=item.position).order_by("-position").first()
        audit_report_read(
            actor=request.user, report=report, protocol=protocol, request=request,
            detail={"study": report.study_id, "view": "quality", "sample": sample.pk},
        )
    return context


def highlight(text: str, evidence: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """[(segment, kind)] with kind "" for plain text, "pos" / "neg" / "unc" for evidence spans."""
    out: list[tuple[str, str]] = []
    at = 0
    for e in sorted(evidence, key=lambda e: (e.get("start", 0), e.get("end", 0))):
        start, end = int(e.get("start", 0)), int(e.get("end", 0))
        if start < at or end > len(text) or end <= start:
            continue
        mods = set(e.get("modifiers") or ())
        kind = "neg" if "NEGATED_EXISTENCE" in mods else "unc" if mods & {"POSSIBLE_EXISTENCE", "PROBABLE_EXISTENCE"} else "pos"
        out.append((text[at:start], ""))
        out.append((text[start:end], kind))
        at = end
    out.append((text[at:], ""))
    return [(segment, kind) for segment, kind in out if segment]


def _judge_panel(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    template = "annotation/quality_judge.html"
    return render(request, f"{template}#judge-panel" if request.htmx else template, context, status=status)


@require_http_methods(["GET", "POST"])
def quality_judge(request: HttpRequest, protocol_id: int) -> HttpResponse:
    """One sampled soft label at a time, in the sample's random order; one key judges it."""
    protocol = protocol_for_curator(request, protocol_id)
    data = request.POST if request.method == "POST" else request.GET
    sample = _sample_for(protocol, data.get("sample"))
    if sample is None:
        if request.method == "POST":
            return HttpResponseBadRequest("Name the sample to judge.")
        labels = protocol_labels(protocol)
        samples = QualitySample.objects.filter(protocol=protocol, label__in=labels).select_related("label")[:20]
        return render(request, "annotation/quality_judge.html", {"protocol": protocol, "sample": None, "samples": samples})
    if request.method == "POST":
        item = sample.items.filter(pk=_int(data.get("item"))).select_related("report").first()
        if item is None:
            raise Http404("No such item")
        try:
            quality_item_judge(item=item, value=data.get("value", ""), actor=request.user, request=request)
        except QualityInvalid as exc:
            context = _item_context(request, protocol, sample, item)
            context["error"] = str(exc)
            return _judge_panel(request, context, status=400)
        if not request.htmx:
            return redirect(f"{reverse('annotation:quality-judge', args=[protocol.pk])}?sample={sample.pk}")
        return _judge_panel(request, _item_context(request, protocol, sample, next_sample_item(sample)))
    item_id = _int(data.get("item"))
    item = (
        sample.items.filter(pk=item_id).select_related("report").first() if item_id is not None else next_sample_item(sample)
    )
    return _judge_panel(request, _item_context(request, protocol, sample, item))


@require_GET
def calibration(request: HttpRequest, protocol_id: int) -> HttpResponse:
    protocol = protocol_for_view(request, protocol_id)
    labels, label = label_from(protocol, request.GET.get("label"))
    context: dict[str, Any] = {
        "protocol": protocol, "labels": labels, "label": label, "min_fit": CALIBRATION_MIN_FIT,
        "min_class": CALIBRATION_MIN_CLASS, "isotonic_min": ISOTONIC_MIN_FIT,
    }
    if label is not None:
        view = label_calibration(protocol=protocol, label=label)
        context.update(
            view=view,
            can_curate=can_curate(request.user, protocol),
            plot=reliability_plot(view.bins),
            plot_after=reliability_plot(view.calibrated_bins) if view.calibrated_bins else None,
        )
    return render(request, "annotation/calibration.html", context)


@require_POST
def calibration_fit(request: HttpRequest, protocol_id: int) -> HttpResponse:
    protocol = protocol_for_curator(request, protocol_id)
    _, label = label_from(protocol, request.POST.get("label"))
    if label is None:
        return HttpResponseBadRequest("Choose one of the protocol's labels.")
    method = request.POST.get("method") or None
    if method == "none":
        label_calibration_clear(protocol=protocol, label=label, actor=request.user, request=request)
        messages.success(request, f"Calibration of {label.name} switched off.")
    else:
        try:
            fitted = label_calibration_fit(protocol=protocol, label=label, actor=request.user, method=method, request=request)
        except CalibrationRefused as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{fitted.get_method_display()} calibration of {label.name} is active.")
    return redirect(f"{reverse('annotation:calibration', args=[protocol.pk])}?label={label.pk}")



def reliability_plot(bins: list[Any], size: int = 240, pad: int = 30) -> dict[str, Any]:
    """Geometry of a reliability diagram (server-side SVG): the diagonal, and per bin a point at
    (mean p, observed share) sized by count, plus a gap line to the diagonal."""
    total = sum(b.count for b in bins) or 1
    points = []
    for b in bins:
        if not b.count:
            continue
        x = pad + b.mean_p * size
        y = pad + (1 - b.observed) * size
        points.append({
            "x": round(x, 1), "y": round(y, 1), "diag_y": round(pad + (1 - b.mean_p) * size, 1),
            "r": round(3 + 9 * (b.count / total) ** 0.5, 1), "count": b.count,
            "mean_p": b.mean_p, "observed": b.observed,
        })
    ticks = [{"v": v / 10, "at": round(pad + v / 10 * size, 1), "at_y": round(pad + (1 - v / 10) * size, 1)} for v in range(0, 11, 2)]
    return {"size": size, "pad": pad, "full": size + 2 * pad, "end": pad + size, "points": points, "ticks": ticks}
