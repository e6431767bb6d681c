"""Training jobs through a real Celery worker on the "training" queue: end to end, and cancel."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from reports.models import JobStatus
from tests.training.jobs.builders import data_scientist, make_training_cohort
from tests.training.jobs.worker_support import (  # noqa: F401
    broker_env,
    finished_job,
    start_worker,
    stop_worker,
    wait_for,
)
from training.models import TrainingPrediction, TrainingRun, TrialState

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def worker(tmp_path_factory, django_db_setup, broker_env):  # noqa: F811
    process = start_worker(tmp_path_factory.mktemp("train-var"), broker_env, "train-test")
    yield process
    stop_worker(process)


def test_a_training_job_runs_end_to_end_in_a_worker(worker):
    cohort = make_training_cohort(60)
    client = APIClient()
    client.force_authenticate(data_scientist(cohort.protocol))

    response = client.post("/api/v1/training/jobs/", {"cohort": cohort.pk, "model": "ngram-bag", "strategy": "random",
                                                      "trials": 3, "metric": "macro_auroc", "epochs": 3}, format="json")
    assert response.status_code == 201, response.content

    job = finished_job(response.json()["id"], worker)
    assert job.status == JobStatus.SUCCEEDED, (job.message, worker.log_path.read_text()[-2000:])
    body = client.get(f"/api/v1/training/jobs/{job.pk}/").json()
    assert [t["state"] for t in body["trials"]] == ["complete"] * 3
    assert body["metrics"]["test"]["macro_auroc"] is not None
    run = TrainingRun.objects.get(job=job)
    assert TrainingPrediction.objects.filter(run=run, split="test").count() == 12 * 2
    assert (worker.var_dir / "artifacts" / f"training-run-{run.pk}" / "model.pt").is_file()
    # Optuna's own storage, outside Django's migrations: a file beside SQLite, a schema on PostgreSQL.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'optuna'")
            assert cursor.fetchone()[0] > 0
    else:
        assert (worker.var_dir / "optuna" / "optuna.sqlite3").is_file()


def test_cancel_from_the_page_stops_the_running_trial(worker):
    cohort = make_training_cohort(200, name="cancel")
    user = data_scientist(cohort.protocol, username="ds-cancel")
    api = APIClient()
    api.force_authenticate(user)
    job_id = api.post("/api/v1/training/jobs/", {"cohort": cohort.pk, "strategy": "random", "trials": 10, "epochs": 50,
                                                 "pruner": "none"}, format="json").json()["id"]
    run = TrainingRun.objects.get(job_id=job_id)

    def trial_mid_way():
        return run.trials.filter(state=TrialState.RUNNING).exclude(curve=[]).first()

    running = wait_for(trial_mid_way, worker, what="a trial to report an epoch")
    page = Client()
    page.force_login(user)
    assert page.post(f"/training/{job_id}/cancel/").status_code == 302

    wait_for(lambda: not run.trials.filter(state=TrialState.RUNNING).exists(), worker, timeout=30, what="the trial to stop")
    running.refresh_from_db()
    assert running.state == TrialState.CANCELLED
    assert len(running.curve) < 50, "stopped at an epoch, not at the end"
    assert set(run.trials.exclude(pk=running.pk).values_list("state", flat=True)) <= {TrialState.COMPLETE, TrialState.CANCELLED}
    assert run.trials.filter(state=TrialState.CANCELLED).count() >= 9
    assert finished_job(job_id, worker).status == JobStatus.CANCELLED
