"""A real Celery worker runs a queued monitoring analysis end to end (see tests/integration)."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from reports.models import Job, JobStatus, Role
from tests.integration.test_import_worker import (  # noqa: F401
    _wait_until_finished,
    broker_env,
    worker,
)
from tests.reports.factories import MembershipFactory, ProtocolFactory, UserFactory
from tests.training.monitoring.factories import make_deployment, schema_labels
from tests.training.monitoring.streams import build_stream, predictions_for
from training.models import MonitoringAlert
from training.services import predictions as prediction_service

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_large_batch_is_analysed_by_a_worker_and_raises_the_alert(worker, monkeypatch):  # noqa: F811
    protocol = ProtocolFactory()
    scientist = UserFactory(username="worker-scientist")
    MembershipFactory(user=scientist, protocol=protocol, role=Role.DATA_SCIENTIST)
    labels = schema_labels(protocol)
    stream = build_stream(protocol, labels, n=400, change_at=200, prefix="WRK")
    deployment = make_deployment(protocol)
    monkeypatch.setattr(prediction_service, "INLINE_ANALYSIS_MAX", 0)  # always as a job
    client = APIClient()
    client.force_authenticate(scientist)

    response = client.post(
        f"/api/v1/deployments/{deployment.pk}/predictions/",
        {"predictions": predictions_for(stream, drop_label="Edema", change_at=200)}, format="json",
    )
    assert response.status_code == 201, response.content
    job = _wait_until_finished(Job.objects.get(pk=response.json()["job"]), worker)

    assert job.status == JobStatus.SUCCEEDED, (job.message, job.errors)
    assert job.result["new_alerts"] == 1
    alert = MonitoringAlert.objects.get(deployment=deployment)
    assert alert.label.name == "Edema"
    assert alert.event_value == "VB20"
    alerts = client.get(f"/api/v1/deployments/{deployment.pk}/alerts/").json()
    assert [a["id"] for a in alerts] == [alert.pk]
