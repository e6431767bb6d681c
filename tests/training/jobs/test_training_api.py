"""The training job API: launch, read, predictions (metrics recomputed by hand), model, cancel, access."""
from __future__ import annotations

import hashlib
from collections import defaultdict

import pytest
from rest_framework.test import APIClient

from reports.jobs.runner import run_job
from reports.models import AccessEvent, Job, JobStatus, Role
from tests.reports.factories import MembershipFactory, UserFactory
from tests.training.jobs.builders import LABELS, data_scientist, make_training_cohort
from training.services import jobs as job_service
from training.services.jobs import training_run_execute

pytestmark = pytest.mark.django_db


def _hand_auroc(pairs: list[tuple[float, float]]) -> float:
    """Every (positive, negative) pair: 1 if the positive scores higher, 1/2 for a tie."""
    positives = [p for p, t in pairs if t == 1]
    negatives = [p for p, t in pairs if t == 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


@pytest.fixture
def launched(monkeypatch, django_capture_on_commit_callbacks):
    cohort = make_training_cohort(50)
    user = data_scientist(cohort.protocol)
    client = APIClient()
    client.force_authenticate(user)
    sent: list[int] = []
    monkeypatch.setattr(job_service, "job_create", _no_send(job_service.job_create, sent))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/training/jobs/", {"cohort": cohort.pk, "model": "ngram-bag", "strategy": "random",
                                                          "trials": 3, "metric": "macro_auroc", "epochs": 3}, format="json")
    assert response.status_code == 201, response.content
    return client, cohort, response.json()["id"], sent


def _no_send(create, sent):
    def wrapper(**kwargs):
        return create(**{**kwargs, "enqueue": sent.append})
    return wrapper


def test_a_three_trial_random_job_reports_metrics_that_its_predictions_reproduce(launched):
    client, cohort, job_id, sent = launched
    assert sent == [job_id]
    assert client.get(f"/api/v1/training/jobs/{job_id}/").json()["status"] == "queued"
    run_job(job_id, lambda job: training_run_execute(job=job, poll_seconds=0.05))

    body = client.get(f"/api/v1/training/jobs/{job_id}/").json()
    assert body["status"] == "succeeded", body["message"]
    assert [t["state"] for t in body["trials"]] == ["complete"] * 3
    assert body["best_trial"] in {t["number"] for t in body["trials"]}
    predictions = client.get(f"/api/v1/training/jobs/{job_id}/predictions/?split=test").json()
    assert predictions["next"] is None
    by_label = defaultdict(list)
    for row in predictions["results"]:
        by_label[row["label"]].append((row["p"], row["target"]))
    assert set(by_label) == set(LABELS)
    reported = body["metrics"]["test"]
    for label, pairs in by_label.items():
        assert reported["labels"][label]["auroc"] == pytest.approx(_hand_auroc(pairs))
        assert reported["labels"][label]["n"] == len(pairs)
        assert reported["labels"][label]["positives"] == sum(1 for _, t in pairs if t == 1)
    macro = sum(_hand_auroc(pairs) for pairs in by_label.values()) / len(by_label)
    assert reported["macro_auroc"] == pytest.approx(macro)

    model = client.get(f"/api/v1/training/jobs/{job_id}/model/")
    assert model.status_code == 200
    data = b"".join(model.streaming_content)
    assert hashlib.sha256(data).hexdigest() == body["model_sha256"] == model["X-Weights-SHA256"]
    assert AccessEvent.objects.filter(action="export", object_type="trainingrun").count() == 2  # predictions + model


def test_cancel_answers_202_and_the_job_never_runs(launched):
    client, cohort, job_id, sent = launched

    response = client.post(f"/api/v1/training/jobs/{job_id}/cancel/")

    assert response.status_code == 202
    assert response.json()["status"] == "cancelled"
    assert run_job(job_id, lambda job: training_run_execute(job=job)) is None
    body = client.get(f"/api/v1/training/jobs/{job_id}/").json()
    assert body["status"] == "cancelled"
    assert {t["state"] for t in body["trials"]} == {"cancelled"}


def test_a_radiologist_of_the_protocol_is_refused_403(launched):
    client, cohort, job_id, sent = launched
    radiologist = UserFactory(username="rad")
    MembershipFactory(user=radiologist, protocol=cohort.protocol, role=Role.RADIOLOGIST)
    client.force_authenticate(radiologist)

    for url in ("", "predictions/", "model/"):
        assert client.get(f"/api/v1/training/jobs/{job_id}/{url}").status_code == 403
    assert client.post(f"/api/v1/training/jobs/{job_id}/cancel/").status_code == 403
    assert client.post("/api/v1/training/jobs/", {"cohort": cohort.pk}, format="json").status_code == 403
    assert Job.objects.get(pk=job_id).status == JobStatus.QUEUED


def test_a_data_scientist_of_another_protocol_gets_404(launched):
    client, cohort, job_id, sent = launched
    other = make_training_cohort(10, name="other")
    client.force_authenticate(data_scientist(other.protocol, username="ds-other"))

    assert client.get(f"/api/v1/training/jobs/{job_id}/").status_code == 404
    assert client.get(f"/api/v1/training/jobs/{job_id}/predictions/").status_code == 404
    assert client.post(f"/api/v1/training/jobs/{job_id}/cancel/").status_code == 404
    assert client.post("/api/v1/training/jobs/", {"cohort": cohort.pk}, format="json").status_code == 404


def test_a_bad_request_names_the_field(launched):
    client, cohort, job_id, sent = launched

    response = client.post("/api/v1/training/jobs/", {"cohort": cohort.pk, "strategy": "grid", "trials": 0}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"strategy", "trials"}


def test_a_cohort_without_a_validation_split_is_refused_with_the_reason(launched):
    client, cohort, job_id, sent = launched
    small = make_training_cohort(5, name="small", protocol=cohort.protocol)  # 5 studies: all in train

    response = client.post("/api/v1/training/jobs/", {"cohort": small.pk, "strategy": "random"}, format="json")

    assert response.status_code == 400
    assert "0 validation" in response.json()["cohort"]
