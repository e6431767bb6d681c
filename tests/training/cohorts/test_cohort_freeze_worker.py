"""A real Celery worker freezes a large cohort: the same hash as freezing it inline."""
from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from reports.models import Job, JobStatus
from tests.integration.test_import_worker import (  # noqa: F401  (the worker and its private broker)
    _wait_until_finished,
    broker_env,
    worker,
)
from tests.training.cohorts.conftest import LABELS
from training.models import Cohort

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_worker_freezes_a_cohort_job_with_the_inline_hash(request, protocol, confirmed, scientist):
    celery_worker = request.getfixturevalue("worker")
    client = APIClient()
    client.force_authenticate(scientist)
    body = {"protocol": protocol.pk, "name": "worker", "labels": list(LABELS), "seed": 7}
    with override_settings(COHORT_INLINE_STUDIES=5):
        response = client.post("/api/v1/cohorts/", body, format="json")
    assert response.status_code == 202, response.content
    job = _wait_until_finished(Job.objects.get(pk=response.json()["job"]), celery_worker)
    assert job.status == JobStatus.SUCCEEDED, job.message
    frozen = Cohort.objects.get(pk=job.result["cohort"])
    assert frozen.job_id == job.pk
    inline = client.post("/api/v1/cohorts/", body, format="json").json()
    assert inline["sha256"] == frozen.sha256
    assert inline["splits"] == frozen.splits
