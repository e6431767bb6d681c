"""Monitoring pages: who reads, who acts; alert handling through htmx forms with real actions."""
from __future__ import annotations

import pytest
from django.test import Client

from reports.models import ReviewState, Study
from tests.annotation.factories import SoftLabelFactory
from tests.reports.factories import ReportFactory, StudyFactory
from tests.training.monitoring.factories import make_alert, make_deployment
from training.models import AlertStatus, DeploymentEvent, DeploymentEventKind, Prediction
from training.services.deployments import deployment_version_add

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alert(protocol):
    return make_alert(protocol)


def test_radiologist_reads_the_monitoring_page_with_chart_and_alert(protocol, radiologist, alert):
    version = alert.version
    for i, study in enumerate(StudyFactory.create_batch(5, protocol=protocol)):
        Prediction.objects.create(version=version, study=study, label=alert.label, p=0.1 * i)
    response = _client(radiologist).get(f"/deployments/{alert.deployment_id}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert f"#{alert.pk} Edema" in body
    assert "<svg" in body
    assert "software version" in body
    assert "VB20" in body
    assert "Resolve</button>" not in body  # no actions for readers


def test_curator_reads_but_cannot_acknowledge(protocol, curator, alert):
    client = _client(curator)
    assert client.get(f"/alerts/{alert.pk}/").status_code == 200
    assert client.post(f"/alerts/{alert.pk}/acknowledge/", {"note": "seen"}).status_code == 403
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


def test_outsider_gets_404(outsider, alert):
    client = _client(outsider)
    assert client.get(f"/deployments/{alert.deployment_id}/").status_code == 404
    assert client.get(f"/alerts/{alert.pk}/").status_code == 404
    assert client.post(f"/alerts/{alert.pk}/resolve/", {"note": "x"}).status_code == 404


def test_scientist_acknowledges_with_htmx_and_gets_the_row_back(scientist, alert):
    response = _client(scientist).post(
        f"/alerts/{alert.pk}/acknowledge/", {"note": "looking"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert f'id="alert-{alert.pk}"' in response.content.decode()
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED
    assert "acknowledged: looking" in alert.note


def test_resolve_without_htmx_redirects_and_needs_a_note(scientist, alert):
    client = _client(scientist)
    response = client.post(f"/alerts/{alert.pk}/resolve/", {"note": ""})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN
    client.post(f"/alerts/{alert.pk}/resolve/", {"note": "VB20 recon kernel; vendor informed"})
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.resolved_by == scientist


def test_queue_for_confirmation_moves_open_untouched_studies_ahead(protocol, curator, alert):
    version = alert.version
    for study in (alert.change_study, alert.detected_study):
        Prediction.objects.create(version=version, study=study, label=alert.label, p=0.9)
        SoftLabelFactory(report=ReportFactory(study=study), label=alert.label)
    done = alert.detected_study
    Study.objects.filter(pk=done.pk).update(review_state=ReviewState.DONE)
    response = _client(curator).post(f"/alerts/{alert.pk}/queue/")
    assert response.status_code == 302
    assert Study.objects.get(pk=alert.change_study_id).queue_priority == 1
    assert Study.objects.get(pk=done.pk).queue_priority == 0


def test_switch_and_roll_back_are_one_action_each_on_the_timeline(protocol, scientist, radiologist):
    deployment = make_deployment(protocol)
    first = deployment.active_version
    second = deployment_version_add(deployment=deployment, actor=scientist, labels=["Edema"], model_name="vendor-cxr", model_version="2.0")
    deployment.refresh_from_db()
    assert deployment.active_version == second
    assert _client(radiologist).post(f"/deployments/{deployment.pk}/activate/", {"version": first.pk}).status_code == 403
    response = _client(scientist).post(f"/deployments/{deployment.pk}/activate/", {"version": first.pk})
    assert response.status_code == 302
    deployment.refresh_from_db()
    assert deployment.active_version == first
    latest = DeploymentEvent.objects.filter(deployment=deployment).order_by("-id").first()
    assert (latest.kind, latest.version, latest.previous) == (DeploymentEventKind.ROLLED_BACK, first, second)
    assert deployment.versions.count() == 2  # history kept
    page = _client(scientist).get(f"/deployments/{deployment.pk}/").content.decode()
    assert "Rolled back" in page
    assert "Switch to v2" in page


def test_deployment_list_shows_only_the_users_protocols(protocol, other_protocol, radiologist):
    make_deployment(protocol, name="mine")
    make_deployment(other_protocol, name="theirs")
    body = _client(radiologist).get("/deployments/").content.decode()
    assert "mine" in body
    assert "theirs" not in body


def _page_queries(protocol, scientist, n: int, name: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.training.monitoring.factories import schema_labels
    from tests.training.monitoring.streams import build_stream, predictions_for
    from training.services.predictions import prediction_batch_store

    stream = build_stream(protocol, schema_labels(protocol), n=n, change_at=n, prefix=name)
    deployment = make_deployment(protocol, name=name)
    prediction_batch_store(deployment=deployment, actor=None, items=predictions_for(stream, drop_label=None, change_at=n))
    client = _client(scientist)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/deployments/{deployment.pk}/").status_code == 200
    return len(queries)


def test_the_monitoring_page_costs_the_same_queries_for_more_studies(protocol, scientist):
    small = _page_queries(protocol, scientist, 20, "small")
    large = _page_queries(protocol, scientist, 200, "large")
    assert large == small
    assert small <= 25


def test_scientist_adds_a_version_with_entered_validation_figures(protocol, scientist, radiologist):
    deployment = make_deployment(protocol)
    url = f"/deployments/{deployment.pk}/versions/new/"
    assert _client(radiologist).get(url).status_code == 404
    client = _client(scientist)
    assert client.get(url).status_code == 200
    assert client.post(url, {"model_name": "", "model_version": ""}).status_code == 400
    response = client.post(url, {
        "model_name": "vendor-cxr", "model_version": "3.0", "use_0": "on", "threshold_0": "0.35",
        "sensitivity_0": "0.91", "specificity_0": "0.88",
    })
    assert response.status_code == 302
    deployment.refresh_from_db()
    version = deployment.active_version
    assert (version.number, version.labels, version.thresholds) == (2, ["Edema"], {"Edema": 0.35})
    assert version.validation == {"Edema": {"sensitivity": 0.91, "specificity": 0.88}}
