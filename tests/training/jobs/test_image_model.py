"""The image model in the training job picker: refused without converted volumes, trained on them otherwise.

The volumes are made the way the app makes them: synthetic DICOM series (a bright blob for a
positive "Pleural Effusion", a bright rod for "Pneumothorax") imported through the DICOM import
service, then converted by training.services.cohort_images.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from rest_framework.test import APIClient

from reports.jobs.runner import run_job
from reports.models import JobStatus
from tests.training.cohorts.images import dicom_storage, import_series  # noqa: F401 - a fixture
from tests.training.jobs.builders import LABELS, data_scientist, make_training_cohort
from tests.training.ml.volumes import volume_values
from training.ml import metrics
from training.models import CohortStudy, TrainingPrediction, TrainingRun, TrialState
from training.services.artifacts import artifact_path
from training.services.cohort_images import cohort_volumes, cohort_volumes_convert
from training.services.jobs import TrainingRequestInvalid, training_job_create, training_run_execute

pytestmark = pytest.mark.django_db

IMAGE = {"model": "cnn3d-small", "strategy": "random", "trials": 2, "epochs": 3, "pruner": "none"}


@pytest.fixture
def plain(dicom_storage):  # noqa: F811
    """A cohort whose studies have no images."""
    return make_training_cohort(30, name="img")


@pytest.fixture
def cohort(plain):
    cohort = plain
    rng = np.random.default_rng(0)
    for row in CohortStudy.objects.filter(cohort=cohort).select_related("study"):
        effusion, pneumothorax = (bool(row.targets[label]) for label in LABELS)
        values = volume_values(rng, (16, 16, 6), blob=effusion, rod=pneumothorax)  # columns, rows, slices
        import_series(row.study, shape=(16, 16, 6), values=np.rint(values.transpose(2, 1, 0)).astype(np.int16))
    return cohort


@pytest.fixture
def converted(cohort):
    summary = cohort_volumes_convert(cohort)
    assert summary["converted"] == 30, summary
    return cohort


def _run(job):
    run_job(job.pk, lambda j: training_run_execute(job=j, poll_seconds=0.05), failure="Training failed")
    job.refresh_from_db()
    return job


def test_an_image_job_trains_on_the_volumes_and_stores_its_test_predictions(converted, settings, client):
    settings.TRAINING_THREADS = 1
    job = training_job_create(cohort=converted, actor=None, enqueue=lambda job_id: None, request=IMAGE)

    job = _run(job)

    assert job.status == JobStatus.SUCCEEDED, job.message
    run = TrainingRun.objects.get(job=job)
    assert run.model_name == "cnn3d-small"
    trials = list(run.trials.all())
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    assert all(t.message == "cpu, 3 epochs" for t in trials)
    assert set(trials[0].params) == {"lr", "channels", "dropout", "weight_decay"}
    test_ids = {row.study_id for row in cohort_volumes(converted) if row.split == "test"}
    test = TrainingPrediction.objects.filter(run=run, split="test")
    assert set(test.values_list("study_id", flat=True)) == test_ids
    assert test.count() == len(test_ids) * len(LABELS)
    # The results pages read these rows: the stored summary is what they say.
    for label in LABELS:
        rows = list(test.filter(label=label).values_list("target", "p"))
        assert run.results["metrics"]["test"]["labels"][label]["auroc"] == pytest.approx(
            metrics.auroc([t for t, _ in rows], [p for _, p in rows]))
    path = artifact_path(run)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == run.artifact_sha256
    card = json.loads((path.parent / "model_card.json").read_text())
    assert (card["model"], card["model_kind"], card["model_params"]["depth"]) == ("cnn3d-small", "image", 32)
    client.force_login(data_scientist(converted.protocol, username="ds-results"))
    html = client.get(f"/training/{job.pk}/").content.decode()
    assert "<code>cnn3d-small</code>" in html
    assert "ROC, Pneumothorax (test)" in html


def test_the_image_model_on_a_cohort_without_volumes_is_refused_naming_the_cohort(plain, client):
    cohort = plain
    with pytest.raises(TrainingRequestInvalid) as refused:
        training_job_create(cohort=cohort, actor=None, enqueue=lambda job_id: None, request=IMAGE)
    assert "convert the cohort's images first" in refused.value.errors["cohort"]
    assert "“img” v1" in refused.value.errors["cohort"]

    user = data_scientist(cohort.protocol, username="ds-img")
    api = APIClient()
    api.force_authenticate(user)
    answer = api.post("/api/v1/training/jobs/", {"cohort": cohort.pk, **IMAGE}, format="json")
    assert answer.status_code == 400
    assert "convert the cohort's images first" in answer.json()["cohort"]

    client.force_login(user)
    page = client.post("/training/new/", {"cohort": cohort.pk, "metric": "macro_auroc", **IMAGE})
    assert page.status_code == 400
    assert "convert the cohort&#x27;s images first" in page.content.decode()
    assert not TrainingRun.objects.exists()


def test_the_text_model_needs_no_volumes(plain):
    job = training_job_create(cohort=plain, actor=None, enqueue=lambda job_id: None,
                              request={"model": "ngram-bag", "strategy": "fixed", "epochs": 2})

    assert _run(job).status == JobStatus.SUCCEEDED, job.message


def test_the_picker_lists_both_models_with_their_descriptions(plain, client):
    client.force_login(data_scientist(plain.protocol, username="ds-picker"))

    html = client.get(f"/training/new/?cohort={plain.pk}").content.decode()

    assert 'value="ngram-bag"' in html
    assert 'value="cnn3d-small"' in html
    assert "Images: a small 3D CNN" in html
    assert "Report text: hashed word n-grams" in html


def test_data_parallel_training_is_refused_for_the_image_model(plain):
    with pytest.raises(TrainingRequestInvalid) as refused:
        training_job_create(cohort=plain, actor=None, enqueue=lambda job_id: None, request={**IMAGE, "processes": 2})

    assert "text models only" in refused.value.errors["processes"]


def test_a_volume_changed_on_disk_fails_the_job_with_a_reason(converted):
    job = training_job_create(cohort=converted, actor=None, enqueue=lambda job_id: None, request=IMAGE)
    cohort_volumes(converted)[0].path.write_bytes(b"not the converted volume")

    job = _run(job)

    assert job.status == JobStatus.FAILED
    assert "1 volume(s)" in job.message
    assert "convert the cohort's images again" in job.message
