"""Trials: claim a slot, ask Optuna, train with a report per epoch, tell; and reap dead ones.

A trial slot is a TrainingTrial row. Any process (the job's own task, or a `run_trials` task
on another worker) claims a queued slot with a conditional UPDATE, so a slot runs once however
many workers look at it. Optuna's storage has no heartbeat for ask / tell, so the running trial
heartbeats its row every epoch; `trials_reap` fails a trial whose heartbeat stopped (in Optuna
too, `tell(FAIL)`) and queues the slot again with the same params, at most MAX_TRIAL_ATTEMPTS
times in all.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from reports.jobs.runner import JobFailed
from reports.models import Job, JobStatus
from reports.services.jobs import JobCancelled
from training.models import CohortStudy, TrainingRun, TrainingTrial, TrialState
from training.services.artifacts import trial_weights_path, write_atomic

logger = logging.getLogger(__name__)

MAX_TRIAL_ATTEMPTS = 2
SPLITS = ("train", "validation", "test")


def trial_heartbeat_timeout() -> timedelta:
    seconds = getattr(settings, "TRAINING_TRIAL_HEARTBEAT_SECONDS", None) or int(
        os.environ.get("TRAINING_TRIAL_HEARTBEAT_SECONDS", "90")
    )
    return timedelta(seconds=seconds)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


# --- the cohort's data, read once per process ---


@dataclass
class CohortData:
    """The cohort's inputs per split: report texts for a text model, NIfTI paths for an image model."""

    labels: list[str]
    kind: str = "text"
    study_ids: dict[str, list[int]] = field(default_factory=dict)
    texts: dict[str, list[str]] = field(default_factory=dict)
    volumes: dict[str, list[str]] = field(default_factory=dict)
    targets: dict[str, list[list[float | None]]] = field(default_factory=dict)

    def size(self, split: str) -> int:
        return len(self.study_ids.get(split, []))

    def inputs(self, split: str) -> list[str]:
        return (self.volumes if self.kind == "image" else self.texts).get(split, [])


# Per run, so the job's start always re-reads and re-checks its inputs (fresh=True) and its trials reuse them.
_DATA_CACHE: OrderedDict[tuple[int, int, str], CohortData] = OrderedDict()


def cohort_data(run: TrainingRun, *, fresh: bool = False) -> CohortData:
    """Inputs and targets of the run's cohort per split, for the run's kind of model.

    Fails the job if an input changed since the cohort was made: the frozen cohort holds each
    report's SHA-256 (not its text), and each converted volume's; training on anything else would
    not be the cohort the run names, so it stops with the count (ids only).
    """
    from training.ml import registry

    key = (run.pk, run.cohort_id, run.cohort_sha256)
    if fresh:
        _DATA_CACHE.pop(key, None)
    if key in _DATA_CACHE:
        _DATA_CACHE.move_to_end(key)
        return _DATA_CACHE[key]
    data = CohortData(labels=list(run.cohort.labels), kind=registry.get(run.model_name).kind)
    for split in SPLITS:
        data.study_ids[split], data.texts[split], data.volumes[split], data.targets[split] = [], [], [], []
    if data.kind == "image":
        _add_volumes(run, data)
        what = "converted volume"
    else:
        _add_texts(run, data)
        what = "study"
    if not data.size("train"):
        raise JobFailed(f"Cohort {run.cohort_id} has no {what} in its train split.")
    if not data.size("validation"):
        raise JobFailed(f"Cohort {run.cohort_id} has no {what} in its validation split: trials could not be compared.")
    _DATA_CACHE[key] = data
    while len(_DATA_CACHE) > 2:
        _DATA_CACHE.popitem(last=False)
    return data


def _add_texts(run: TrainingRun, data: CohortData) -> None:
    changed = 0
    rows = (
        CohortStudy.objects.filter(cohort_id=run.cohort_id)
        .order_by("study_id")
        .values_list("study_id", "split", "targets", "text_sha256", "study__report__text", "study__report__text_sha256")
    )
    for study_id, split, targets, frozen_sha, text, current_sha in rows.iterator(chunk_size=2000):
        if current_sha != frozen_sha:
            changed += 1
            continue
        data.study_ids[split].append(study_id)
        data.texts[split].append(text or "")
        data.targets[split].append([targets.get(label) for label in data.labels])
    if changed:
        raise JobFailed(f"{changed} report(s) of cohort {run.cohort_id} changed since it was frozen; freeze a new version.")


def _file_sha256(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except FileNotFoundError:
        return None


def _add_volumes(run: TrainingRun, data: CohortData) -> None:
    """The cohort's converted volumes (training.services.cohort_images), each checked against its SHA-256."""
    from training.services.cohort_images import cohort_volumes

    changed = 0
    for row in cohort_volumes(run.cohort):
        if _file_sha256(row.path) != row.sha256:
            changed += 1
            continue
        data.study_ids[row.split].append(row.study_id)
        data.volumes[row.split].append(str(row.path))
        data.targets[row.split].append([None if value is None else float(value) for value in row.labels])
    if changed:
        raise JobFailed(
            f"{changed} volume(s) of cohort {run.cohort_id} are missing or changed since they were converted; "
            "convert the cohort's images again."
        )


# --- Optuna ---


OPTUNA_SCHEMA = "optuna"
_SCHEMAS_MADE: set[str] = set()


def optuna_storage_url() -> str:
    """The Optuna storage: its own schema on PostgreSQL, its own SQLite file otherwise.

    Optuna creates and migrates its own tables (alembic); they never appear in Django's
    migrations. TRAINING_OPTUNA_STORAGE overrides the choice.
    """
    configured = getattr(settings, "TRAINING_OPTUNA_STORAGE", None) or os.environ.get("TRAINING_OPTUNA_STORAGE")
    if configured:
        return configured
    db = settings.DATABASES["default"]
    if connection.vendor == "postgresql":
        from urllib.parse import quote

        from training.ml.search import ensure_schema

        auth = quote(db.get("USER") or "", safe="")
        if db.get("PASSWORD"):
            auth += ":" + quote(db["PASSWORD"], safe="")
        server = f"postgresql+psycopg://{auth}@{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}/{db['NAME']}"
        if server not in _SCHEMAS_MADE:
            ensure_schema(server, OPTUNA_SCHEMA)
            _SCHEMAS_MADE.add(server)
        return f"{server}?options=-csearch_path%3D{OPTUNA_SCHEMA}"
    folder = settings.VAR_DIR / "optuna"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'optuna.sqlite3'}"


def run_study(run: TrainingRun, *, slot: int = 0, attempt: int = 1) -> Any:
    """The run's Optuna study, with a sampler seeded for this slot and attempt."""
    from training.ml import search

    sampler = search.make_sampler(
        run.strategy, seed=search.seed_for(run.seed, slot * 10 + attempt), n_startup_trials=startup_trials(run)
    )
    pruner = search.make_pruner(run.pruner, min_complete=startup_trials(run), max_epochs=run.epochs)
    return search.load_study(url=optuna_storage_url(), name=run.study_name, sampler=sampler, pruner=pruner)


def startup_trials(run: TrainingRun) -> int:
    """Random start-up trials of TPE / GP; the pruner waits for as many completed trials."""
    from training.ml.search import DEFAULT_STARTUP

    return max(1, min(DEFAULT_STARTUP, run.trial_budget - 1))


# --- claim, run, finish ---


def trial_claim(*, run: TrainingRun) -> TrainingTrial | None:
    """Take the next queued slot of the run for this process; None when none is left."""
    for trial_id in run.trials.filter(state=TrialState.QUEUED).order_by("slot", "attempt").values_list("pk", flat=True)[:5]:
        now = timezone.now()
        claimed = TrainingTrial.objects.filter(pk=trial_id, state=TrialState.QUEUED).update(
            state=TrialState.RUNNING, worker=worker_name(), started_at=now, heartbeat_at=now
        )
        if claimed:
            return TrainingTrial.objects.get(pk=trial_id)
    return None


def _finish(trial: TrainingTrial, state: str, **fields: Any) -> bool:
    """Record how a trial ended, unless the reaper already failed it (its result then counts for nothing)."""
    return bool(
        TrainingTrial.objects.filter(pk=trial.pk, state=TrialState.RUNNING).update(
            state=state, finished_at=timezone.now(), heartbeat_at=timezone.now(), **fields
        )
    )


def _job_alive(job_id: int) -> bool:
    """Heartbeat the job; False once it is no longer running (cancelled)."""
    return bool(Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(heartbeat_at=timezone.now()))


def trial_execute(*, trial: TrainingTrial, run: TrainingRun, data: CohortData) -> str:
    """Ask, train (reporting each epoch), tell; the trial's final state.

    Raises JobCancelled when the job was cancelled meanwhile (the trial is told FAIL and marked
    cancelled first). Any other error fails this trial only; the type name is kept, not the text.
    """
    import optuna

    from training.ml import registry, search, textclf

    spec = registry.get(run.model_name)
    study = run_study(run, slot=trial.slot, attempt=trial.attempt)
    if trial.attempt > 1 and trial.params:
        # A retry of a slot whose worker died: the same point again.
        study.enqueue_trial(trial.params)
    asked = study.ask(spec.search_space(run.strategy))
    proposed = "retry" if trial.attempt > 1 else (search.proposed_by(asked, study) or run.strategy)
    TrainingTrial.objects.filter(pk=trial.pk).update(number=asked.number, params=asked.params, proposed_by=proposed)
    params = spec.params({**asked.params, "epochs": run.epochs, "seed": search.seed_for(run.seed, trial.slot)})
    curve: list[dict[str, Any]] = []

    def on_epoch(report: textclf.EpochReport) -> None:
        curve.append({
            "epoch": report.epoch, "train_loss": round(report.train_loss, 6),
            "val_loss": None if report.val_loss is None else round(report.val_loss, 6),
            "val_metric": report.val_macro_auroc, "seconds": round(report.seconds, 4),
            "reports_per_second": round(report.reports_per_second, 1),
        })
        now = timezone.now()
        TrainingTrial.objects.filter(pk=trial.pk, state=TrialState.RUNNING).update(curve=curve, heartbeat_at=now)
        if not _job_alive(run.job_id):
            raise JobCancelled(f"Job {run.job_id} is no longer running")
        if report.val_macro_auroc is not None:
            asked.report(report.val_macro_auroc, report.epoch)
            if asked.should_prune():
                raise optuna.TrialPruned()

    try:
        processes = int(run.job.params.get("processes") or 1)
        # The data-parallel trainer (training.ml.ddp) is the text model's only; requests say so.
        if processes > 1 and spec.kind == "text":
            result = train_with_torchrun(
                data=data, params=params, on_epoch=on_epoch, processes=processes,
                workdir=trial_weights_path(run.pk, trial.pk).with_suffix(""),
                heartbeat=lambda: TrainingTrial.objects.filter(pk=trial.pk, state=TrialState.RUNNING).update(
                    heartbeat_at=timezone.now()),
            )
        else:
            result, _model = spec.fit(
                labels=data.labels, train_inputs=data.inputs("train"), train_targets=data.targets["train"],
                val_inputs=data.inputs("validation"), val_targets=data.targets["validation"],
                params=params, on_epoch=on_epoch, threads=training_threads(),
            )
    except optuna.TrialPruned:
        study.tell(asked, state=optuna.trial.TrialState.PRUNED)
        last = curve[-1]["val_metric"] if curve else None
        _finish(trial, TrialState.PRUNED, value=last, message=f"Pruned after epoch {len(curve)}")
        return TrialState.PRUNED
    except JobCancelled:
        study.tell(asked, state=optuna.trial.TrialState.FAIL)
        _finish(trial, TrialState.CANCELLED, message="Cancelled with the job")
        raise
    except Exception as exc:
        # The frames, not the message (as reports.jobs.runner does): an exception's text could quote a report.
        logger.error("Training trial %s of run %s failed: %s\n%s", trial.pk, run.pk, type(exc).__name__,
                     "".join(traceback.format_tb(exc.__traceback__)))
        study.tell(asked, state=optuna.trial.TrialState.FAIL)
        _finish(trial, TrialState.FAILED, message=f"Training failed ({type(exc).__name__})")
        return TrialState.FAILED
    value = result.history[-1].val_macro_auroc if result.history else None
    if value is None:
        study.tell(asked, state=optuna.trial.TrialState.FAIL)
        _finish(trial, TrialState.FAILED, message="No label has both classes in the validation split")
        return TrialState.FAILED
    write_atomic(trial_weights_path(run.pk, trial.pk), result.weights)
    study.tell(asked, value)
    # An image model's result also says whether it ran in mixed precision ("bf16", "fp16").
    amp = getattr(result, "amp", "off")
    where = result.device if amp == "off" else f"{result.device} {amp}"
    if not _finish(trial, TrialState.COMPLETE, value=value, message=f"{where}, {len(curve)} epochs"):
        return TrialState.FAILED
    return TrialState.COMPLETE


def train_with_torchrun(
    *, data: CohortData, params: Any, on_epoch: Any, processes: int, workdir: Path, poll_seconds: float = 0.3,
    heartbeat: Any = None, heartbeat_seconds: float = 10.0,
) -> Any:
    """Train with the data-parallel trainer: torchrun in a subprocess (training.ml.ddp), `processes` ranks.

    The trainer appends each epoch's report to a progress file; this reads it and calls `on_epoch`
    as the in-process trainer would, so Optuna reports, pruning, heartbeats and cancel work the
    same way. If `on_epoch` raises (pruned, cancelled), every rank is stopped first.
    """
    from dataclasses import asdict

    from training.ml import textclf
    from training.services.backends import LaunchSpec, LocalBackend, torchrun_command

    workdir.mkdir(parents=True, exist_ok=True)
    job_file, out, progress = workdir / "job.json", workdir / "result.json", workdir / "progress.jsonl"
    job_file.write_text(json.dumps({
        "labels": data.labels, "train_texts": data.texts["train"], "train_targets": data.targets["train"],
        "val_texts": data.texts["validation"], "val_targets": data.targets["validation"], "params": asdict(params),
    }))
    progress.write_text("")
    backend = LocalBackend()
    spec = LaunchSpec(command=torchrun_command(nproc=processes, data=job_file, out=out, progress=progress),
                      workdir=workdir, name="torchrun", env={"OMP_NUM_THREADS": str(training_threads())})
    handle = backend.submit(spec)
    result = textclf.TrainResult(labels=list(data.labels), params=params, device=f"torchrun x{processes}")
    seen, beat = 0, time.monotonic()
    try:
        while True:
            state = backend.status(handle)
            if heartbeat is not None and time.monotonic() - beat > heartbeat_seconds:
                heartbeat()  # long epochs: the trial is alive between its epoch reports
                beat = time.monotonic()
            lines = progress.read_text().splitlines()
            for line in lines[seen:]:
                row = json.loads(line)
                report = textclf.EpochReport(
                    epoch=row["epoch"], train_loss=row["train_loss"], val_loss=None, val_macro_auroc=row["val_metric"],
                    seconds=row["seconds"], reports_per_second=row["reports_per_second"],
                )
                result.history.append(report)
                on_epoch(report)
            seen = len(lines)
            if state != "running":
                break
            time.sleep(poll_seconds)
    except BaseException:
        backend.cancel(handle)
        raise
    if state != "succeeded" or not out.exists():
        # The log can quote nothing but our own code's messages; keep it on disk, not in the job.
        logger.error("torchrun exited %s; log at %s", state, spec.log_path)
        raise RuntimeError(f"torchrun {state}")
    result.weights = Path(json.loads(out.read_text())["weights"]).read_bytes()
    return result


def training_threads() -> int:
    return int(getattr(settings, "TRAINING_THREADS", None) or os.environ.get("TRAINING_THREADS", "1"))


def trials_run_available(*, run: TrainingRun, limit: int | None = None) -> int:
    """Claim and run queued slots of the run until none is left (or `limit`); how many ran."""
    ran = 0
    data = cohort_data(run)
    while limit is None or ran < limit:
        if not Job.objects.filter(pk=run.job_id, status=JobStatus.RUNNING).exists():
            break
        trial = trial_claim(run=run)
        if trial is None:
            break
        trial_execute(trial=trial, run=run, data=data)
        ran += 1
    return ran


# --- the reaper ---


def trials_reap(*, run: TrainingRun | None = None, timeout: timedelta | None = None) -> dict[str, int]:
    """Fail running trials whose heartbeat stopped (in Optuna too) and queue their slot again, bounded.

    A slot is retried only while its job is still running and it has had fewer than
    MAX_TRIAL_ATTEMPTS tries; otherwise it stays failed, and the job goes on with the others.
    """
    import optuna

    cutoff = timezone.now() - (timeout or trial_heartbeat_timeout())
    stale = TrainingTrial.objects.filter(state=TrialState.RUNNING, heartbeat_at__lt=cutoff).select_related("run")
    if run is not None:
        stale = stale.filter(run=run)
    counts = {"failed": 0, "retried": 0}
    for trial in stale:
        with transaction.atomic():
            reaped = TrainingTrial.objects.filter(pk=trial.pk, state=TrialState.RUNNING, heartbeat_at__lt=cutoff).update(
                state=TrialState.FAILED, finished_at=timezone.now(),
                message=f"The worker stopped (no heartbeat since {trial.heartbeat_at:%H:%M:%S} UTC)",
            )
            if not reaped:
                continue
            counts["failed"] += 1
            job_running = Job.objects.filter(pk=trial.run.job_id, status=JobStatus.RUNNING).exists()
            if trial.attempt < MAX_TRIAL_ATTEMPTS and job_running:
                TrainingTrial.objects.create(
                    run=trial.run, slot=trial.slot, attempt=trial.attempt + 1, params=trial.params, state=TrialState.QUEUED
                )
                counts["retried"] += 1
        if trial.number is not None:
            try:
                study = optuna.load_study(study_name=trial.run.study_name, storage=optuna_storage_url())
                study.tell(trial.number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
            except (KeyError, ValueError, RuntimeError) as exc:
                logger.warning("Could not fail Optuna trial %s of run %s: %s", trial.number, trial.run_id, type(exc).__name__)
    return counts


def trials_cancel_queued(*, run: TrainingRun) -> int:
    return TrainingTrial.objects.filter(run=run, state=TrialState.QUEUED).update(
        state=TrialState.CANCELLED, finished_at=timezone.now(), message="Cancelled with the job"
    )
