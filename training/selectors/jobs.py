"""Reads of training jobs: access, lists, trials, predictions and the results computed from them.

Every metric shown or returned is computed from TrainingPrediction rows of the held-out splits
(`run_results`); it runs once when the run ends and is kept on the run, so pages stay fast.
Readers' operating points come from their own current reads of the test split's studies,
compared with the cohort's target (the adjudicated or agreed label).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from annotation.models import ConfirmationKind, ConfirmationLabel
from annotation.selectors.queue import protocol_schema
from reports.models import Protocol, Role
from training.models import TrainingPrediction, TrainingRun, TrainingTrial

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser

TRAINING_ROLES: tuple[str, ...] = (Role.DATA_SCIENTIST,)
HELD_OUT = ("validation", "test")
MAX_CURVE_POINTS = 200
BOOTSTRAP_ROUNDS = 200


def training_runs_for_user(*, user: AnyUser, protocol_id: int | None = None) -> QuerySet[TrainingRun]:
    """Training runs of the protocols where the user is a data scientist, newest first."""
    runs = TrainingRun.objects.filter(job__protocol__in=Protocol.objects.visible_to(user, TRAINING_ROLES))
    if protocol_id is not None:
        runs = runs.filter(job__protocol_id=protocol_id)
    return runs.select_related("job", "job__protocol", "cohort", "job__created_by").defer(
        "results", "model_card", "cohort__summary", "cohort__params"
    ).order_by("-created_at", "-pk")


def get_run_for_user(user: AnyUser, job_id: int) -> TrainingRun:
    """The training run of job `job_id`: 404 unless it is on one of the user's protocols, 403 unless a data scientist."""
    # job__pk, not job_id: Django range-checks a pk lookup, so an id past 64 bits (from the URL)
    # finds nothing instead of overflowing the database driver.
    run = (
        TrainingRun.objects.filter(job__pk=job_id, job__protocol__in=Protocol.objects.visible_to(user))
        .select_related("job", "job__protocol", "cohort")
        .first()
    )
    if run is None:
        raise Http404("No such training job")
    if not Protocol.objects.visible_to(user, TRAINING_ROLES).filter(pk=run.job.protocol_id).exists():
        raise PermissionDenied("Training jobs are for the protocol's data scientists.")
    return run


def run_trials(run: TrainingRun) -> list[TrainingTrial]:
    return list(run.trials.order_by("slot", "attempt"))


def trials_payload(trials: Iterable[TrainingTrial]) -> list[dict[str, Any]]:
    return [
        {"number": t.number, "slot": t.slot, "attempt": t.attempt, "state": t.state, "params": t.params,
         "value": t.value, "proposed_by": t.proposed_by, "epochs": len(t.curve)}
        for t in trials
    ]


def predictions_for_run(run: TrainingRun, split: str) -> QuerySet[TrainingPrediction]:
    return TrainingPrediction.objects.filter(run=run, split=split).order_by("study_id", "label", "pk")


def _columns(run: TrainingRun, split: str) -> dict[str, dict[str, list[Any]]]:
    columns: dict[str, dict[str, list[Any]]] = defaultdict(lambda: {"study": [], "p": [], "target": [], "baseline": []})
    rows = predictions_for_run(run, split).values_list("study_id", "label", "p", "target", "baseline_p")
    for study_id, label, p, target, baseline in rows.iterator(chunk_size=5000):
        column = columns[label]
        column["study"].append(study_id)
        column["p"].append(p)
        column["target"].append(target)
        column["baseline"].append(baseline)
    return columns


def _thin(points: list[tuple[float, float]], limit: int = MAX_CURVE_POINTS) -> list[list[float]]:
    if len(points) <= limit:
        return [[round(x, 4), round(y, 4)] for x, y in points]
    step = (len(points) - 1) / (limit - 1)
    picked = [points[round(i * step)] for i in range(limit)]
    return [[round(x, 4), round(y, 4)] for x, y in picked]


def _reader_reads(study_ids: list[int], labels: list[str], schema: object) -> dict[str, dict[str, dict[int, float]]]:
    """{label: {reader: {study: 1 / 0}}} from current, not withdrawn reads (uncertain reads left out)."""
    reads: dict[str, dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    rows = ConfirmationLabel.objects.filter(
        confirmation__study_id__in=study_ids, confirmation__kind=ConfirmationKind.READ,
        confirmation__is_current=True, confirmation__withdrawn_at__isnull=True,
        label__name__in=labels, label__schema=schema,
    ).values_list("label__name", "confirmation__reader__username", "confirmation__study_id", "value")
    for label, reader, study_id, value in rows.iterator(chunk_size=5000):
        if value == "positive":
            reads[label][reader][study_id] = 1.0
        elif value in ("negative", "absent"):
            reads[label][reader][study_id] = 0.0
    return reads


def run_results(run: TrainingRun) -> dict[str, Any]:
    """Metrics per held-out split and label (model and engine baseline), test curves, readers' points."""
    from training.ml import metrics

    labels = list(run.cohort.labels)
    results: dict[str, Any] = {"metrics": {}, "curves": {}, "readers": {}, "labels": labels}
    for split in HELD_OUT:
        columns = _columns(run, split)
        if not columns:
            continue
        block: dict[str, Any] = {"labels": {}}
        for index, label in enumerate(labels):
            column = columns.get(label)
            if column is None:
                continue
            threshold = run.thresholds.get(label, 0.5)
            model = metrics.label_metrics(column["target"], column["p"], threshold=threshold,
                                          rounds=BOOTSTRAP_ROUNDS, seed=index)
            baseline = metrics.label_metrics(column["target"], column["baseline"], threshold=0.5,
                                             rounds=BOOTSTRAP_ROUNDS, seed=index)
            block["labels"][label] = {**model, "baseline": baseline}
            if split == "test":
                results["curves"][label] = {
                    "roc": _thin(metrics.roc_curve(column["target"], column["p"])),
                    "roc_baseline": _thin(metrics.roc_curve(column["target"], column["baseline"])),
                    "pr": _thin(metrics.pr_curve(column["target"], column["p"])),
                    "pr_baseline": _thin(metrics.pr_curve(column["target"], column["baseline"])),
                    "calibration": metrics.calibration_curve(column["target"], column["p"]),
                }
        block["macro_auroc"] = metrics.macro([v["auroc"] for v in block["labels"].values()])
        block["macro_ap"] = metrics.macro([v["ap"] for v in block["labels"].values()])
        block["baseline_macro_auroc"] = metrics.macro([v["baseline"]["auroc"] for v in block["labels"].values()])
        results["metrics"][split] = block
        if split == "test":
            results["readers"] = _reader_points(run, columns, labels)
    return results


def _reader_points(run: TrainingRun, columns: dict[str, dict[str, list[Any]]], labels: list[str]) -> dict[str, list[dict[str, Any]]]:
    from training.ml import metrics

    study_ids = sorted({study for column in columns.values() for study in column["study"]})
    reads = _reader_reads(study_ids, labels, protocol_schema(run.cohort.protocol))
    points: dict[str, list[dict[str, Any]]] = {}
    for label, by_reader in reads.items():
        column = columns.get(label)
        if column is None:
            continue
        target_of = dict(zip(column["study"], column["target"], strict=True))
        for reader, read in sorted(by_reader.items()):
            studies = [s for s in read if target_of.get(s) is not None]
            point = metrics.operating_point([target_of[s] for s in studies], [read[s] for s in studies])
            if point["sensitivity"] is not None and point["specificity"] is not None:
                points.setdefault(label, []).append({"reader": reader, **point})
    return points


def run_metrics(run: TrainingRun) -> dict[str, Any]:
    return run_results(run)["metrics"]


def run_api_payload(run: TrainingRun) -> dict[str, Any]:
    """The shape of GET /api/v1/training/jobs/{id}/ (issue 9, part 8)."""
    job = run.job
    metrics_block = {}
    for split, block in (run.results.get("metrics") or {}).items():
        metrics_block[split] = {
            "macro_auroc": block.get("macro_auroc"),
            "baseline_macro_auroc": block.get("baseline_macro_auroc"),
            "labels": {
                label: {key: values.get(key) for key in ("auroc", "auroc_ci", "ap", "ap_ci", "f1", "f1_ci", "threshold", "positives", "n")}
                | {"baseline": {key: values["baseline"].get(key) for key in ("auroc", "ap", "f1")}}
                for label, values in block.get("labels", {}).items()
            },
        }
    return {
        "id": job.pk,
        "status": job.status,
        "message": job.message,
        "cohort": run.cohort_id,
        "cohort_sha256": run.cohort_sha256,
        "model": run.model_name,
        "strategy": run.strategy,
        "metric": run.metric,
        "trials": trials_payload(run_trials(run)),
        "best_trial": run.best_trial,
        "best_params": run.best_params,
        "metrics": metrics_block,
        "model_sha256": run.artifact_sha256 or None,
        "code_version": run.code_version,
        "versions": run.versions,
    }
