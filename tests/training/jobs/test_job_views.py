"""Training pages: form, list, results with their charts, compare, cancel, download; roles."""
from __future__ import annotations

import pytest

from reports.jobs.runner import run_job
from reports.models import AccessEvent, JobStatus, Role
from tests.reports.factories import MembershipFactory, UserFactory
from tests.training.jobs.builders import LABELS, data_scientist, make_training_cohort
from training.services.jobs import training_job_create, training_run_execute

pytestmark = pytest.mark.django_db


@pytest.fixture
def cohort_and_user():
    cohort = make_training_cohort(40, name="views")
    return cohort, data_scientist(cohort.protocol, username="ds-views")


@pytest.fixture
def finished(cohort_and_user):
    """Two finished jobs on one cohort (a few seconds of training)."""
    cohort, user = cohort_and_user
    jobs = []
    for strategy in ("random", "tpe"):
        job = training_job_create(cohort=cohort, actor=user, enqueue=lambda job_id: None,
                                  request={"strategy": strategy, "trials": 2, "epochs": 2})
        run_job(job.pk, lambda j: training_run_execute(job=j, poll_seconds=0.05))
        job.refresh_from_db()
        assert job.status == JobStatus.SUCCEEDED, job.message
        jobs.append(job)
    return cohort, user, jobs


@pytest.fixture
def ds_client(client, cohort_and_user):
    client.force_login(cohort_and_user[1])
    return client


def test_the_results_page_draws_every_chart_and_compares_and_downloads(ds_client, finished):
    cohort, user, jobs = finished

    response = ds_client.get(f"/training/{jobs[0].pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<svg") >= 2 + len(LABELS) * 3  # learning, history, then ROC, PR, calibration per label
    for title in ("Learning curves", "Search history", "ROC, Pleural Effusion (test)", "Calibration, Pneumothorax (test)"):
        assert title in html
    assert 'class="reader-point"' in html
    assert "Engine AUROC" in html
    assert "Download the model" in html
    assert "hx-get" not in html  # finished: no polling

    compare = ds_client.get(f"/training/compare/?a={jobs[0].pk}&b={jobs[1].pk}").content.decode()
    assert f"Job {jobs[0].pk} AUROC" in compare
    assert f"Job {jobs[1].pk} AUROC" in compare
    assert compare.count("<svg") >= len(LABELS)

    before = AccessEvent.objects.filter(action="export").count()
    download = ds_client.get(f"/training/{jobs[0].pk}/model/")
    assert download.status_code == 200
    assert download["X-Weights-SHA256"]
    assert AccessEvent.objects.filter(action="export").count() == before + 1


def test_a_running_job_polls_its_progress_partial(ds_client, cohort_and_user):
    cohort, user = cohort_and_user
    job = training_job_create(cohort=cohort, actor=user, enqueue=lambda job_id: None, request={"strategy": "fixed"})

    page = ds_client.get(f"/training/{job.pk}/").content.decode()
    partial = ds_client.get(f"/training/{job.pk}/?poll=1", HTTP_HX_REQUEST="true")

    assert f'hx-get="/training/{job.pk}/?poll=1"' in page
    assert partial.status_code == 200
    assert partial.content.decode().lstrip().startswith('<section id="training-progress"')


def test_the_form_queues_a_job_and_cancel_stops_it(ds_client, cohort_and_user, django_capture_on_commit_callbacks):
    cohort, _ = cohort_and_user
    form = ds_client.get(f"/training/new/?cohort={cohort.pk}")
    assert form.status_code == 200
    assert f'<option value="{cohort.pk}" selected>' in form.content.decode()

    with django_capture_on_commit_callbacks(execute=False):
        response = ds_client.post("/training/new/", {"cohort": cohort.pk, "model": "ngram-bag", "strategy": "tpe",
                                                     "trials": 3, "epochs": 2, "metric": "macro_auroc", "pruner": "median"})
    assert response.status_code == 302
    job_url = response["Location"]
    cancelled = ds_client.post(job_url + "cancel/")
    assert cancelled.status_code == 302
    assert "Cancelled" in ds_client.get(job_url).content.decode()


def test_a_radiologist_gets_403_and_the_list_shows_nothing(client, cohort_and_user):
    cohort, user = cohort_and_user
    job = training_job_create(cohort=cohort, actor=user, enqueue=lambda job_id: None, request={"strategy": "fixed"})
    radiologist = UserFactory(username="rad-views")
    MembershipFactory(user=radiologist, protocol=cohort.protocol, role=Role.RADIOLOGIST)
    client.force_login(radiologist)

    assert client.get(f"/training/{job.pk}/").status_code == 403
    assert client.post(f"/training/{job.pk}/cancel/").status_code == 403
    assert f"Job {job.pk}" not in client.get("/training/").content.decode()
