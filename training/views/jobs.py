"""Training pages: the job form, the list per protocol, a job's progress and results, two jobs side by side."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from reports.models import Protocol
from training.selectors import job_charts
from training.selectors.cohorts import cohorts_for_user, get_cohort_for_user
from training.selectors.jobs import (
    TRAINING_ROLES,
    get_run_for_user,
    run_trials,
    training_runs_for_user,
)
from training.services.artifacts import artifact_download_audit, artifact_path
from training.services.jobs import (
    MAX_EPOCHS,
    MAX_TRIALS,
    METRICS,
    MODEL_CHOICES,
    MODELS,
    PRUNERS,
    TrainingRequestInvalid,
    training_job_cancel,
    training_job_create,
)

STRATEGY_CHOICES = [
    ("random", "Random search"), ("tpe", "Bayesian: TPE"), ("gp", "Bayesian: Gaussian process"), ("fixed", "Fixed parameters"),
]


class TrainingJobForm(forms.Form):
    cohort = forms.TypedChoiceField(coerce=int, help_text="A frozen cohort; the job records its SHA-256.")
    model = forms.ChoiceField(choices=MODEL_CHOICES, initial=MODELS[0], widget=forms.RadioSelect,
                              help_text="The image model trains on the cohort's NIfTI volumes: convert its images first.")
    strategy = forms.ChoiceField(choices=STRATEGY_CHOICES, initial="random", widget=forms.RadioSelect)
    trials = forms.IntegerField(min_value=1, max_value=MAX_TRIALS, initial=5, help_text="The trial budget.")
    epochs = forms.IntegerField(min_value=1, max_value=MAX_EPOCHS, initial=8)
    metric = forms.ChoiceField(choices=[(m, "Macro AUROC on validation") for m in METRICS])
    pruner = forms.ChoiceField(choices=[(p, p.capitalize()) for p in PRUNERS], initial="median",
                               help_text="Stops poor trials early, once enough trials have completed.")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cohort"].choices = [
            (c.pk, f"{c.protocol.irb_number} · {c.name} v{c.version} ({c.study_count} studies)")
            for c in cohorts_for_user(user=user).select_related("protocol")
        ]


@require_http_methods(["GET", "POST"])
def job_new(request: HttpRequest) -> HttpResponse:
    initial = {"cohort": request.GET.get("cohort")} if request.GET.get("cohort") else {}
    form = TrainingJobForm(request.POST or None, user=request.user, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            cohort = get_cohort_for_user(request.user, form.cleaned_data["cohort"])
            try:
                job = training_job_create(cohort=cohort, actor=request.user, request=form.cleaned_data)
            except TrainingRequestInvalid as invalid:
                for field, error in invalid.errors.items():
                    form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(request, f"Training job {job.pk} is queued.")
                return redirect("training:job-detail", training_job_id=job.pk)
    return render(request, "training/job_new.html", {"form": form}, status=status)


@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    protocols = list(Protocol.objects.visible_to(request.user, TRAINING_ROLES).order_by("irb_number"))
    runs = list(training_runs_for_user(user=request.user))
    sections = [(protocol, [r for r in runs if r.job.protocol_id == protocol.pk]) for protocol in protocols]
    return render(request, "training/job_list.html", {"sections": sections, "any_runs": bool(runs)})


def _label_rows(results: dict[str, Any], split: str) -> list[dict[str, Any]]:
    block = results.get("metrics", {}).get(split, {})
    return [{"label": label, **values} for label, values in block.get("labels", {}).items()]


def _name_charts(label_charts: list[dict[str, Any]], params_charts: list[dict[str, Any]]) -> None:
    """Give every chart of a page its own id (the SVG's title is referenced by id)."""
    for index, chart in enumerate(params_charts):
        chart["id"] = f"chart-param-{index}"
    for index, entry in enumerate(label_charts):
        for kind in ("roc", "pr", "calibration"):
            entry[kind]["id"] = f"chart-{kind}-{index}"


@require_GET
def job_detail(request: HttpRequest, training_job_id: int) -> HttpResponse:
    run = get_run_for_user(request.user, training_job_id)
    job = run.job
    if request.htmx and request.GET.get("poll"):
        response = render(request, "training/job_detail.html#progress", {"run": run, "job": job})
        if job.is_finished:
            response["HX-Refresh"] = "true"  # the results appear with a full page
        return response
    trials = run_trials(run)
    results = run.results or {}
    curves = results.get("curves", {})
    readers = results.get("readers", {})
    label_charts = [
        {"label": label, "roc": job_charts.roc_chart(label, curves[label], readers.get(label, [])),
         "pr": job_charts.pr_chart(label, curves[label]), "calibration": job_charts.calibration_chart(label, curves[label]),
         "readers": readers.get(label, [])}
        for label in results.get("labels", []) if label in curves
    ]
    others = [r for r in training_runs_for_user(user=request.user, protocol_id=job.protocol_id) if r.pk != run.pk and r.results]
    _name_charts(label_charts, params_charts := job_charts.params_vs_metric(trials))
    context = {
        "run": run, "job": job, "trials": trials, "results": results,
        "test_macro": results.get("metrics", {}).get("test", {}),
        "validation_rows": _label_rows(results, "validation"), "test_rows": _label_rows(results, "test"),
        "learning": job_charts.learning_curves(trials) | {"id": "chart-learning"},
        "history": job_charts.search_history(trials) | {"id": "chart-history"},
        "params_charts": params_charts, "label_charts": label_charts,
        "has_model": artifact_path(run) is not None, "others": others,
    }
    return render(request, "training/job_detail.html", context)


@require_POST
def job_cancel(request: HttpRequest, training_job_id: int) -> HttpResponse:
    run = get_run_for_user(request.user, training_job_id)
    if training_job_cancel(job=run.job):
        messages.success(request, f"Training job {run.job_id} is cancelled; a running trial stops at its next epoch.")
    else:
        messages.info(request, f"Training job {run.job_id} had already finished.")
    return redirect("training:job-detail", training_job_id=run.job_id)


@require_GET
def job_model(request: HttpRequest, training_job_id: int) -> FileResponse:
    run = get_run_for_user(request.user, training_job_id)
    path = artifact_path(run)
    if path is None:
        raise Http404("This job has no model file")
    artifact_download_audit(run=run, actor=request.user, request=request)
    response = FileResponse(path.open("rb"), as_attachment=True, filename=f"training-job-{run.job_id}-model.pt",
                            content_type="application/octet-stream")
    response["X-Weights-SHA256"] = run.artifact_sha256
    return response


@require_GET
def job_compare(request: HttpRequest) -> HttpResponse:
    """Two jobs side by side: ?a=<job>&b=<job>; without both, a picker."""
    choices = [r for r in training_runs_for_user(user=request.user) if r.job.status == "succeeded"]
    picked = []
    for key in ("a", "b"):
        raw = request.GET.get(key, "")
        if raw.isdigit():
            picked.append(get_run_for_user(request.user, int(raw)))
    context: dict[str, Any] = {"choices": choices, "picked": picked,
                               "a": request.GET.get("a", ""), "b": request.GET.get("b", "")}
    if len(picked) == 2:
        a, b = picked
        ma, mb = a.results.get("metrics", {}).get("test", {}), b.results.get("metrics", {}).get("test", {})
        labels = [label for label in a.results.get("labels", []) if label in b.results.get("labels", [])]
        context["rows"] = [
            {"label": label, "a": ma.get("labels", {}).get(label, {}), "b": mb.get("labels", {}).get(label, {})}
            for label in labels
        ]
        context["macro"] = (ma.get("macro_auroc"), mb.get("macro_auroc"))
        context["rocs"] = [
            job_charts.roc_chart(label, a.results["curves"][label], [], other=b.results["curves"][label],
                                 names=(f"Job {a.job_id}", f"Job {b.job_id}")) | {"id": f"chart-compare-{index}"}
            for index, label in enumerate(labels)
            if label in a.results.get("curves", {}) and label in b.results.get("curves", {})
        ]
        context["same_cohort"] = a.cohort_sha256 == b.cohort_sha256
    return render(request, "training/job_compare.html", context)


def job_detail_url(job_id: int) -> str:
    return reverse("training:job-detail", kwargs={"training_job_id": job_id})
