"""Training jobs: create, cancel, run (the job's own task), and keep the best model's results.

A training job is a reports.Job of kind "training" with a TrainingRun beside it. Its task runs
`training_run_execute`: it fans out `parallel - 1` trial tasks to the "training" queue, then
claims and runs trial slots itself until none is queued, reaping dead trials as it waits, and
finally predicts the validation and test splits with the best trial's weights, stores those
predictions, and keeps the model as an artifact. With one worker it runs every trial itself; with
more, the trials spread over them. A killed worker leaves the job "running" without heartbeat:
the reports reaper re-queues it and the next run of this function picks up where it stopped.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

from celery import current_app
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count

from annotation.models import SoftLabel
from annotation.selectors.queue import protocol_schema
from reports.jobs.runner import JobFailed, JobOutcome
from reports.models import Job
from reports.services.jobs import JobCancelled, job_cancel, job_create, job_progress
from training.ml import registry
from training.models import (
    Cohort,
    CohortStudy,
    CohortVolume,
    TrainingPrediction,
    TrainingRun,
    TrainingTrial,
    TrialState,
)
from training.services import trials as trial_service
from training.services.artifacts import (
    MODEL_FILE,
    artifact_keep,
    artifacts_root,
    library_versions,
    run_dir,
    trial_weights_path,
)
from training.services.artifacts import code_version as current_code_version

TRAINING_JOB = "training"
TRAINING_QUEUE = "training"
TRAIN_TASK = "training.tasks.train"
TRIALS_TASK = "training.tasks.run_trials"
# Every registered model (training.ml.registry), with the description the job picker shows.
MODELS = registry.names()
MODEL_CHOICES = [(spec.name, spec.description) for spec in registry.models()]
STRATEGIES = ("fixed", "random", "tpe", "gp")
METRICS = ("macro_auroc",)
PRUNERS = ("median", "hyperband", "none")
MAX_TRIALS = 50
MAX_EPOCHS = 50
MAX_PARALLEL = 8
MAX_PROCESSES = 8
POLL_SECONDS = 0.5


class TrainingRequestInvalid(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {value}" for key, value in errors.items()))
        self.errors = errors


def _int(data: Mapping[str, Any], key: str, default: int, low: int, high: int, errors: dict[str, str]) -> int:
    raw = data.get(key, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        errors[key] = "Must be a whole number."
        return default
    if isinstance(raw, bool) or not low <= value <= high:
        errors[key] = f"Must be between {low} and {high}."
    return value


def training_request_clean(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a training request (form or API); TrainingRequestInvalid names each bad field."""
    errors: dict[str, str] = {}
    model = data.get("model") or MODELS[0]
    if model not in MODELS:
        errors["model"] = f"Unknown model; one of: {', '.join(MODELS)}."
    strategy = data.get("strategy") or "random"
    if strategy not in STRATEGIES:
        errors["strategy"] = f"Unknown strategy; one of: {', '.join(STRATEGIES)}."
    metric = data.get("metric") or METRICS[0]
    if metric not in METRICS:
        errors["metric"] = f"Unknown metric; one of: {', '.join(METRICS)}."
    pruner = data.get("pruner") or "median"
    if pruner not in PRUNERS:
        errors["pruner"] = f"Unknown pruner; one of: {', '.join(PRUNERS)}."
    cleaned = {
        "model": model, "strategy": strategy, "metric": metric, "pruner": pruner,
        "trials": _int(data, "trials", 1 if strategy == "fixed" else 5, 1, MAX_TRIALS, errors),
        "epochs": _int(data, "epochs", 8, 1, MAX_EPOCHS, errors),
        "parallel": _int(data, "parallel", 1, 1, MAX_PARALLEL, errors),
        # Data-parallel ranks per trial: > 1 launches torchrun (training.ml.ddp) from the worker.
        "processes": _int(data, "processes", 1, 1, MAX_PROCESSES, errors),
        "seed": _int(data, "seed", 0, 0, 2**31 - 1, errors),
    }
    if cleaned["processes"] > 1 and model in MODELS and registry.get(model).kind != "text":
        errors["processes"] = "Data-parallel training (torchrun) is for text models only; use 1."
    if errors:
        raise TrainingRequestInvalid(errors)
    return cleaned


def _volume_splits(cohort: Cohort) -> dict[str, int]:
    """Converted volumes of the cohort per split (one query)."""
    rows = (
        CohortStudy.objects.filter(cohort=cohort, study_id__in=CohortVolume.objects.filter(cohort=cohort).values("study_id"))
        .values("split").annotate(n=Count("pk")).values_list("split", "n")
    )
    return dict(rows)


def _inputs_missing(cohort: Cohort, model: str) -> str | None:
    """Why the cohort cannot feed `model` yet, or None: an image model needs converted volumes."""
    if registry.get(model).kind != "image":
        return None
    volumes = _volume_splits(cohort)
    name = f"Cohort “{cohort.name}” v{cohort.version}"
    if not volumes:
        return f"{name} has no converted volumes: convert the cohort's images first (Convert images on its page)."
    if not volumes.get("train") or not volumes.get("validation"):
        return (
            f"{name} has converted volumes for {volumes.get('train', 0)} train and {volumes.get('validation', 0)} "
            "validation studies; the image model needs both: convert the cohort's images first."
        )
    return None


def training_job_create(
    *,
    cohort: Cohort,
    actor: AbstractBaseUser | None,
    request: Mapping[str, Any],
    enqueue: Callable[[int], object] | None = None,
) -> Job:
    """Queue a training job on a frozen cohort; the caller has checked the actor may (data scientist)."""
    cleaned = training_request_clean(request)
    splits = cohort.splits or {}
    if not splits.get("train") or not splits.get("validation"):
        raise TrainingRequestInvalid({"cohort": (
            f"Cohort {cohort.pk} has {splits.get('train', 0)} train and {splits.get('validation', 0)} validation "
            "studies; training needs both (trials are compared on validation)."
        )})
    missing = _inputs_missing(cohort, cleaned["model"])
    if missing:
        raise TrainingRequestInvalid({"cohort": missing})
    with transaction.atomic():
        job = job_create(
            kind=TRAINING_JOB, protocol=cohort.protocol, actor=actor, enqueue=enqueue,
            params={"cohort": cohort.pk, **cleaned},
        )
        run = TrainingRun.objects.create(
            job=job, cohort=cohort, model_name=cleaned["model"], strategy=cleaned["strategy"],
            trial_budget=cleaned["trials"], metric=cleaned["metric"], pruner=cleaned["pruner"],
            epochs=cleaned["epochs"], parallel=cleaned["parallel"], seed=cleaned["seed"],
            # Unique across databases that share one Optuna storage (tests, restores).
            study_name=f"radlabel-job-{job.pk}-{uuid.uuid4().hex[:12]}",
            cohort_sha256=cohort.sha256, code_version=current_code_version(), versions=library_versions(),
        )
        TrainingTrial.objects.bulk_create(TrainingTrial(run=run, slot=slot) for slot in range(run.trial_budget))
        Job.objects.filter(pk=job.pk).update(total=run.trial_budget)
    job.total = run.trial_budget
    return job


def training_job_cancel(*, job: Job) -> bool:
    """Cancel the job; a running trial stops at its next epoch, queued ones never start."""
    with transaction.atomic():
        cancelled = job_cancel(job=job)
        run = TrainingRun.objects.filter(job=job).first()
        if cancelled and run is not None:
            trial_service.trials_cancel_queued(run=run)
    job.refresh_from_db()
    return cancelled


def _slots_open(run: TrainingRun) -> bool:
    return run.trials.filter(state__in=[TrialState.QUEUED, TrialState.RUNNING]).exists()


def _progress(job: Job, run: TrainingRun) -> None:
    counts = dict.fromkeys(TrialState.values, 0)
    for state in run.trials.values_list("state", flat=True):
        counts[state] += 1
    open_slots = run.trials.filter(state__in=[TrialState.QUEUED, TrialState.RUNNING]).values("slot").distinct().count()
    message = f"{counts[TrialState.COMPLETE]} complete, {counts[TrialState.PRUNED]} pruned, {counts[TrialState.FAILED]} failed"
    if counts[TrialState.RUNNING]:
        message += f", {counts[TrialState.RUNNING]} running"
    job_progress(job=job, done=run.trial_budget - open_slots, total=run.trial_budget, message=message)


def training_run_execute(*, job: Job, poll_seconds: float = POLL_SECONDS) -> JobOutcome:
    """The training job's body (run inside reports.jobs.runner.run_job)."""
    run = TrainingRun.objects.select_related("cohort", "job").get(job=job)
    if run.cohort.sha256 != run.cohort_sha256:
        raise JobFailed("The cohort's hash changed since the job was created.")
    data = trial_service.cohort_data(run, fresh=True)
    try:
        trial_service.run_study(run)  # creates the study before trials race to
        for _ in range(run.parallel - 1):
            current_app.send_task(TRIALS_TASK, args=[run.pk], queue=TRAINING_QUEUE)
        while True:
            trial_service.trials_reap(run=run)
            _progress(job, run)
            trial = trial_service.trial_claim(run=run)
            if trial is not None:
                trial_service.trial_execute(trial=trial, run=run, data=data)
                continue
            if not _slots_open(run):
                break
            time.sleep(poll_seconds)
        _progress(job, run)
    except JobCancelled:
        trial_service.trials_cancel_queued(run=run)
        raise
    return training_run_finalize(run=run, data=data)


def _baseline(run: TrainingRun, study_ids: list[int], labels: list[str]) -> dict[tuple[int, str], float]:
    """The engine's soft-label p per (study, label); a label the engine left out is absent, p 0."""
    schema = protocol_schema(run.cohort.protocol)
    rows = SoftLabel.objects.filter(
        report__study_id__in=study_ids, label__name__in=labels, label__schema=schema
    ).values_list("report__study_id", "label__name", "p")
    return {(study_id, label): p for study_id, label, p in rows}


def training_run_finalize(*, run: TrainingRun, data: trial_service.CohortData) -> JobOutcome:
    """Predict the held-out splits with the best trial, store the predictions, keep the model."""
    from training.ml import metrics
    from training.selectors.jobs import run_results

    best = run.trials.filter(state=TrialState.COMPLETE).order_by("-value", "slot", "attempt").first()
    if best is None:
        states = dict.fromkeys(TrialState.values, 0)
        for state in run.trials.values_list("state", flat=True):
            states[state] += 1
        raise JobFailed(
            f"No trial completed ({states['failed']} failed, {states['pruned']} pruned, {states['cancelled']} cancelled)."
        )
    trial_file = trial_weights_path(run.pk, best.pk)
    kept = run_dir(run.pk) / MODEL_FILE
    if not trial_file.exists() and kept.exists() and run.best_trial == best.number:
        # A worker died after keeping the model but before the job was marked done: finish again from it.
        trial_file = kept
    weights = trial_file.read_bytes()
    spec = registry.get(run.model_name)
    model, labels, params = spec.load(weights)
    predictions: list[TrainingPrediction] = []
    thresholds: dict[str, float] = {}
    for split in ("validation", "test"):
        ids = data.study_ids[split]
        if not ids:
            continue
        scores = spec.predict(model, data.inputs(split), params=params)
        baseline = _baseline(run, ids, labels)
        for i, study_id in enumerate(ids):
            for j, label in enumerate(labels):
                target = data.targets[split][i][j]
                predictions.append(TrainingPrediction(
                    run=run, study_id=study_id, label=label, split=split, p=round(float(scores[i, j]), 6),
                    target=None if target is None else float(target), baseline_p=baseline.get((study_id, label), 0.0),
                ))
        if split == "validation":
            for j, label in enumerate(labels):
                thresholds[label] = metrics.best_f1_threshold(
                    [row[j] for row in data.targets[split]], scores[:, j].tolist()
                )
    with transaction.atomic():
        TrainingPrediction.objects.filter(run=run).delete()  # a re-run after a worker died starts clean
        TrainingPrediction.objects.bulk_create(predictions, batch_size=2000)
        run.best_trial = best.number
        run.best_params = best.params
        run.thresholds = thresholds
        run.save(update_fields=["best_trial", "best_params", "thresholds"])
    results = run_results(run)
    summary = results["metrics"]
    card = {
        "model": run.model_name, "model_kind": spec.kind, "job": run.job_id, "run": run.pk,
        "cohort": {"id": run.cohort_id, "name": run.cohort.name, "version": run.cohort.version, "sha256": run.cohort_sha256,
                   "labels": labels, "splits": {split: data.size(split) for split in ("train", "validation", "test")}},
        "search": {"strategy": run.strategy, "trials": run.trial_budget, "metric": run.metric, "pruner": run.pruner,
                   "seed": run.seed, "best_trial": best.number},
        "params": {**best.params, "epochs": run.epochs, "train_seed": textclf_seed(run, best.slot)},
        # Every parameter the weights were trained with, defaults and those the trainer chose included.
        "model_params": asdict(params),
        "thresholds": thresholds,
        "metrics": {split: {"macro_auroc": block["macro_auroc"], "labels": {
            label: {key: values[key] for key in ("auroc", "ap", "f1", "positives", "n")}
            for label, values in block["labels"].items()}} for split, block in summary.items()},
        "code_version": run.code_version, "versions": run.versions,
    }
    path, sha256 = artifact_keep(run=run, weights=weights, card=card)
    run.artifact_path = str(path.relative_to(artifacts_root()))
    run.artifact_sha256 = sha256
    run.artifact_bytes = len(weights)
    run.model_card = {**card, "weights": {"sha256": sha256, "bytes": len(weights)}}
    run.results = results
    run.save(update_fields=["artifact_path", "artifact_sha256", "artifact_bytes", "model_card", "results"])
    test = summary.get("test", {})
    return JobOutcome(
        result={"run": run.pk, "best_trial": best.number, "best_value": best.value,
                "test_macro_auroc": test.get("macro_auroc"), "weights_sha256": sha256},
        message=f"Best trial {best.number}: validation {run.metric} {best.value:.3f}",
    )


def textclf_seed(run: TrainingRun, slot: int) -> int:
    from training.ml.search import seed_for

    return seed_for(run.seed, slot)
