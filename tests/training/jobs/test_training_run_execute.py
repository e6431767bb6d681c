"""The training job's body, run in this process: trials, best model, predictions, artifact."""
from __future__ import annotations

import hashlib
import json

import pytest

from reports.jobs.runner import run_job
from reports.models import Job, JobStatus
from tests.training.jobs.builders import LABELS, data_scientist, make_training_cohort
from training.ml import metrics
from training.models import TrainingPrediction, TrainingRun, TrialState
from training.services.artifacts import artifact_path
from training.services.jobs import training_job_create, training_run_execute

pytestmark = pytest.mark.django_db


def _run(job: Job) -> Job:
    run_job(job.pk, lambda j: training_run_execute(job=j, poll_seconds=0.05), failure="Training failed")
    job.refresh_from_db()
    return job


def test_a_random_search_job_keeps_the_best_model_and_its_test_predictions():
    cohort = make_training_cohort(50)
    user = data_scientist(cohort.protocol)
    job = training_job_create(cohort=cohort, actor=user, enqueue=lambda job_id: None,
                              request={"strategy": "random", "trials": 3, "epochs": 3})

    job = _run(job)

    assert job.status == JobStatus.SUCCEEDED, job.message
    run = TrainingRun.objects.get(job=job)
    assert sorted(run.trials.values_list("state", flat=True)) == [TrialState.COMPLETE] * 3
    assert [len(t.curve) for t in run.trials.all()] == [3, 3, 3]
    assert run.best_trial is not None
    test = TrainingPrediction.objects.filter(run=run, split="test")
    assert test.count() == 10 * len(LABELS)
    # The stored summary is what the stored predictions say.
    for label in LABELS:
        rows = list(test.filter(label=label).values_list("target", "p"))
        assert run.results["metrics"]["test"]["labels"][label]["auroc"] == pytest.approx(
            metrics.auroc([t for t, _ in rows], [p for _, p in rows]))
    path = artifact_path(run)
    assert path is not None
    assert hashlib.sha256(path.read_bytes()).hexdigest() == run.artifact_sha256
    card = json.loads((path.parent / "model_card.json").read_text())
    assert card["cohort"]["sha256"] == cohort.sha256
    assert card["weights"]["sha256"] == run.artifact_sha256
    assert {"torch", "optuna", "numpy"} <= set(card["versions"])
    assert run.results["readers"], "both readers have reads on the test split"
    assert job.result["weights_sha256"] == run.artifact_sha256


def test_a_fixed_job_trains_once_with_the_default_params():
    cohort = make_training_cohort(30)
    job = training_job_create(cohort=cohort, actor=None, enqueue=lambda job_id: None,
                              request={"strategy": "fixed", "trials": 1, "epochs": 2})

    job = _run(job)

    assert job.status == JobStatus.SUCCEEDED, job.message
    trial = TrainingRun.objects.get(job=job).trials.get()
    assert trial.params == {}
    assert trial.state == TrialState.COMPLETE


def test_a_job_on_a_cohort_whose_report_changed_fails_with_a_reason():
    cohort = make_training_cohort(20)
    job = training_job_create(cohort=cohort, actor=None, enqueue=lambda job_id: None, request={"strategy": "fixed"})
    from reports.models import Report

    Report.objects.filter(study__in=cohort.rows.values("study")[:1]).update(text="changed", text_sha256="x" * 64)

    job = _run(job)

    assert job.status == JobStatus.FAILED
    assert "1 report(s)" in job.message
    assert "changed" in job.message


@pytest.mark.slow
def test_a_job_with_two_processes_trains_each_trial_with_torchrun():
    cohort = make_training_cohort(40)
    job = training_job_create(cohort=cohort, actor=None, enqueue=lambda job_id: None,
                              request={"strategy": "fixed", "trials": 1, "epochs": 2, "processes": 2})

    job = _run(job)

    assert job.status == JobStatus.SUCCEEDED, job.message
    trial = TrainingRun.objects.get(job=job).trials.get()
    assert trial.message == "torchrun x2, 2 epochs"
    assert [row["epoch"] for row in trial.curve] == [1, 2]


@pytest.mark.parametrize("strategy", ["tpe", "gp"])
def test_bayesian_jobs_leave_random_start_up_for_their_model(strategy):
    cohort = make_training_cohort(40)
    job = training_job_create(cohort=cohort, actor=None, enqueue=lambda job_id: None,
                              request={"strategy": strategy, "trials": 4, "epochs": 2, "pruner": "median"})

    job = _run(job)

    assert job.status == JobStatus.SUCCEEDED, job.message
    trials = list(TrainingRun.objects.get(job=job).trials.order_by("slot"))
    assert [t.proposed_by for t in trials] == ["random"] * 3 + [strategy]


def test_parallel_trials_are_sent_to_the_training_queue_and_any_worker_can_run_a_slot(monkeypatch):
    from training.services import jobs as job_service
    from training.services.trials import trials_run_available

    cohort = make_training_cohort(30)
    job = training_job_create(cohort=cohort, actor=None, enqueue=lambda job_id: None,
                              request={"strategy": "random", "trials": 2, "epochs": 1, "parallel": 2})
    run = TrainingRun.objects.get(job=job)
    sent = []
    monkeypatch.setattr(job_service.current_app, "send_task", lambda name, args, queue: sent.append((name, args, queue)))
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    from training.services.trials import run_study

    run_study(run)

    # What a `run_trials` task on another worker does: claim a queued slot and run it.
    assert trials_run_available(run=run, limit=1) == 1
    assert list(run.trials.order_by("slot").values_list("state", flat=True)) == [TrialState.COMPLETE, TrialState.QUEUED]

    Job.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)
    job = _run(job)
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert sent == [("training.tasks.run_trials", [run.pk], "training")]
    assert run.trials.filter(state=TrialState.COMPLETE).count() == 2


def test_finishing_again_after_the_model_was_kept_gives_the_same_model():
    from training.services.jobs import training_run_finalize
    from training.services.trials import cohort_data

    cohort = make_training_cohort(30)
    job = _run(training_job_create(cohort=cohort, actor=None, enqueue=lambda job_id: None,
                                   request={"strategy": "fixed", "epochs": 2}))
    run = TrainingRun.objects.get(job=job)
    first = run.artifact_sha256

    # As if the worker died after keeping the model (trial files gone) and the job ran again.
    outcome = training_run_finalize(run=run, data=cohort_data(run, fresh=True))

    assert outcome.result["weights_sha256"] == first
    assert TrainingPrediction.objects.filter(run=run).count() == (6 + 6) * len(LABELS)
