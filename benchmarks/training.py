"""Training throughput and time from launch to the first result, on the demo cohort (issue 9, part 10).

Freezes (or reuses) a cohort of the demo protocol, launches a training job through the same
service the page and the API use, and runs it in this process the way the worker does (the
job's task body, under reports.jobs.runner.run_job), so the figures leave out only Celery's
hand-over. Reported: time from launch to the first epoch's result and to the finished job, and
the training throughput, reports per second per epoch (median over every epoch of every trial).
"""
from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

from reports.jobs.runner import run_job
from reports.models import Job, Protocol
from training.models import Cohort, TrainingRun, TrainingTrial
from training.services.cohorts import CohortEmpty, cohort_freeze, cohort_spec_build
from training.services.jobs import training_job_create, training_run_execute

BENCH_COHORT = "bench-training"


def _cohort(protocol: Protocol, cohort_id: int | None) -> Cohort:
    if cohort_id is not None:
        return Cohort.objects.get(pk=cohort_id)
    existing = Cohort.objects.filter(protocol=protocol, name=BENCH_COHORT).order_by("-version").first()
    if existing is not None:
        return existing
    spec = cohort_spec_build(protocol=protocol, data={"name": BENCH_COHORT, "source": "confirmed+soft", "seed": 7})
    return cohort_freeze(spec=spec, actor=None)


def bench_training(
    *,
    protocol_id: int | None = None,
    cohort_id: int | None = None,
    strategy: str = "random",
    trials: int = 3,
    epochs: int = 5,
    write: Callable[[str], Any] = print,
) -> dict[str, Any]:
    protocol = Protocol.objects.get(pk=protocol_id) if protocol_id else Protocol.objects.order_by("pk").first()
    if protocol is None:
        raise SystemExit("No protocol: run `python manage.py seed_demo` first.")
    try:
        cohort = _cohort(protocol, cohort_id)
    except CohortEmpty as empty:
        raise SystemExit(f"No cohort could be frozen: {empty}") from None
    write(f"Cohort {cohort.pk} ({cohort.name} v{cohort.version}): {cohort.study_count} studies, splits {cohort.splits}, "
          f"{len(cohort.labels)} labels")
    launched = time.perf_counter()
    job = training_job_create(cohort=cohort, actor=None, enqueue=lambda job_id: None,
                              request={"strategy": strategy, "trials": trials, "epochs": epochs})
    run = TrainingRun.objects.get(job=job)
    first_result: list[float] = []

    def watch() -> None:
        while not first_result:
            if TrainingTrial.objects.filter(run=run).exclude(curve=[]).exists():
                first_result.append(time.perf_counter() - launched)
                return
            if Job.objects.filter(pk=job.pk, status__in=Job.FINISHED).exists():
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    run_job(job.pk, lambda j: training_run_execute(job=j, poll_seconds=0.1), failure="Training failed")
    finished = time.perf_counter() - launched
    watcher.join(timeout=5)
    job.refresh_from_db()
    run.refresh_from_db()
    rates = [e["reports_per_second"] for t in run.trials.all() for e in t.curve]
    figures = {
        "job": job.pk, "status": job.status, "studies": cohort.study_count,
        "train_reports": cohort.splits.get("train"), "trials": trials, "epochs": epochs, "strategy": strategy,
        "first_result_s": round(first_result[0], 2) if first_result else None,
        "job_s": round(finished, 2),
        "reports_per_s_per_epoch_median": round(statistics.median(rates), 1) if rates else None,
        "test_macro_auroc": (run.results.get("metrics", {}).get("test", {}) or {}).get("macro_auroc"),
        "baseline_test_macro_auroc": (run.results.get("metrics", {}).get("test", {}) or {}).get("baseline_macro_auroc"),
    }
    write(f"Job {job.pk}: {job.status} ({job.message})")
    write(f"  launch -> first result (first epoch reported): {figures['first_result_s']} s (target < 60 s)")
    write(f"  launch -> job finished ({trials} trials x {epochs} epochs): {figures['job_s']} s")
    write(f"  training throughput: {figures['reports_per_s_per_epoch_median']} reports/s per epoch (median, "
          f"{figures['train_reports']} train reports)")
    write(f"  test macro AUROC {figures['test_macro_auroc']}; engine soft labels {figures['baseline_test_macro_auroc']}")
    return figures
