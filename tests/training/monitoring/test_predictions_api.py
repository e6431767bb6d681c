"""POST /api/v1/deployments/ and /predictions/: scope, roles, and bad batches refused whole."""
from __future__ import annotations

import pytest

from tests.reports.factories import StudyFactory
from tests.training.monitoring.factories import make_deployment, schema_labels
from training.models import Deployment, DeploymentEvent, Prediction

pytestmark = pytest.mark.django_db


@pytest.fixture
def deployment(protocol):
    return make_deployment(protocol)


@pytest.fixture
def studies(protocol):
    return [StudyFactory(protocol=protocol, accession=f"PRED{i}") for i in range(3)]


def _post(api, deployment, items):
    return api.post(f"/api/v1/deployments/{deployment.pk}/predictions/", {"predictions": items}, format="json")


def test_scientist_creates_an_external_deployment(api, protocol, scientist):
    schema_labels(protocol)
    api.force_authenticate(scientist)
    response = api.post(
        "/api/v1/deployments/",
        {"protocol": protocol.pk, "name": "triage", "model": {"name": "vendor", "version": "3"}, "labels": ["Edema"],
         "thresholds": {"Edema": 0.3}, "validation": {"Edema": {"sensitivity": 0.9, "specificity": 0.95}}},
        format="json",
    )
    assert response.status_code == 201
    deployment = Deployment.objects.get(pk=response.json()["id"])
    version = deployment.active_version
    assert (version.model_name, version.model_version, version.labels) == ("vendor", "3", ["Edema"])
    assert version.threshold("Edema") == 0.3
    assert list(DeploymentEvent.objects.filter(deployment=deployment).values_list("kind", flat=True).order_by("id")) == [
        "created", "version_added", "activated",
    ]


def test_create_refuses_an_unknown_label(api, protocol, scientist):
    schema_labels(protocol)
    api.force_authenticate(scientist)
    response = api.post(
        "/api/v1/deployments/",
        {"protocol": protocol.pk, "name": "x", "model": {"name": "m", "version": "1"}, "labels": ["Edema", "Nope"]},
        format="json",
    )
    assert response.status_code == 400
    assert "labels[1]" in response.json()


def test_create_needs_a_model_name_and_version_or_a_training_job(api, protocol, scientist):
    schema_labels(protocol)
    api.force_authenticate(scientist)
    response = api.post(
        "/api/v1/deployments/", {"protocol": protocol.pk, "name": "x", "model": {"name": "m"}, "labels": ["Edema"]},
        format="json",
    )
    assert response.status_code == 400


def test_radiologist_cannot_create_a_deployment(api, protocol, radiologist):
    api.force_authenticate(radiologist)
    response = api.post(
        "/api/v1/deployments/", {"protocol": protocol.pk, "name": "x", "model": {"name": "m", "version": "1"},
                                 "labels": ["Edema"]}, format="json",
    )
    assert response.status_code == 403


def test_another_protocols_member_gets_404(api, protocol, outsider, deployment):
    api.force_authenticate(outsider)
    response = api.post(
        "/api/v1/deployments/", {"protocol": protocol.pk, "name": "x", "model": {"name": "m", "version": "1"},
                                 "labels": ["Edema"]}, format="json",
    )
    assert response.status_code == 404
    assert _post(api, deployment, [{"accession": "PRED0", "label": "Edema", "p": 0.5}]).status_code == 404
    assert api.get(f"/api/v1/deployments/{deployment.pk}/alerts/").status_code == 404


def test_anonymous_gets_401(api, deployment):
    assert _post(api, deployment, []).status_code == 401
    assert api.get(f"/api/v1/deployments/{deployment.pk}/alerts/").status_code == 401


def test_radiologist_reads_alerts_but_cannot_post_predictions(api, radiologist, deployment, studies):
    api.force_authenticate(radiologist)
    assert api.get(f"/api/v1/deployments/{deployment.pk}/alerts/").json() == []
    assert _post(api, deployment, [{"accession": "PRED0", "label": "Edema", "p": 0.5}]).status_code == 403
    assert not Prediction.objects.exists()


def test_a_good_batch_is_stored_per_study_label_and_version(api, scientist, deployment, studies):
    api.force_authenticate(scientist)
    items = [{"accession": s.accession, "label": label, "p": 0.25} for s in studies for label in ("Edema", "Effusion")]
    response = _post(api, deployment, items)
    assert response.status_code == 201
    assert response.json() == {"accepted": 6, "job": None}
    assert Prediction.objects.filter(version=deployment.active_version).count() == 6


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"accession": "NOT-HERE", "label": "Edema", "p": 0.5}, "accession"),
        ({"accession": "PRED1", "label": "Nope", "p": 0.5}, "label"),
        ({"accession": "PRED1", "label": "Edema", "p": 1.5}, "p"),
        ({"accession": "PRED1", "label": "Edema", "p": -0.1}, "p"),
        ({"accession": "PRED1", "label": "Edema", "p": "0.5"}, "p"),
        ({"accession": "PRED1", "label": "Edema", "p": True}, "p"),
        ({"accession": "PRED0", "label": "Edema", "p": 0.7}, ""),  # a duplicate of item 0
        ({"label": "Edema", "p": 0.7}, "accession"),
        ("PRED1", ""),
    ],
)
def test_a_bad_batch_is_refused_whole_naming_the_item(api, scientist, deployment, studies, bad, field):
    api.force_authenticate(scientist)
    items = [{"accession": "PRED0", "label": "Edema", "p": 0.5}, {"accession": "PRED2", "label": "Edema", "p": 0.5}, bad]
    response = _post(api, deployment, items)
    assert response.status_code == 400
    assert response.json()["index"] == 2
    assert response.json()["field"] == field
    assert "NOT-HERE" not in response.content.decode()  # items are named by index, never by accession
    assert not Prediction.objects.exists()


def test_a_prediction_already_stored_for_the_version_refuses_the_batch(api, scientist, deployment, studies):
    api.force_authenticate(scientist)
    assert _post(api, deployment, [{"accession": "PRED0", "label": "Edema", "p": 0.5}]).status_code == 201
    response = _post(api, deployment, [{"accession": "PRED1", "label": "Edema", "p": 0.5},
                                       {"accession": "PRED0", "label": "Edema", "p": 0.6}])
    assert response.status_code == 400
    assert response.json()["index"] == 1
    assert Prediction.objects.count() == 1


def test_an_accession_of_another_protocol_is_unknown(api, scientist, deployment, other_protocol):
    StudyFactory(protocol=other_protocol, accession="ELSEWHERE")
    api.force_authenticate(scientist)
    response = _post(api, deployment, [{"accession": "ELSEWHERE", "label": "Edema", "p": 0.5}])
    assert response.status_code == 400
    assert response.json()["field"] == "accession"


@pytest.mark.parametrize("body", [{}, {"predictions": []}, {"predictions": "x"}, []])
def test_an_empty_or_malformed_body_is_refused(api, scientist, deployment, body):
    api.force_authenticate(scientist)
    response = api.post(f"/api/v1/deployments/{deployment.pk}/predictions/", body, format="json")
    assert response.status_code == 400


def test_a_new_version_becomes_active_and_takes_the_next_batches(api, scientist, radiologist, deployment, studies):
    url = f"/api/v1/deployments/{deployment.pk}/versions/"
    body = {"model": {"name": "vendor-cxr", "version": "2.0"}, "labels": ["Edema"]}
    api.force_authenticate(radiologist)
    assert api.post(url, body, format="json").status_code == 403
    api.force_authenticate(scientist)
    response = api.post(url, body, format="json")
    assert response.status_code == 201
    deployment.refresh_from_db()
    assert deployment.active_version_id == response.json()["id"]
    assert api.post(url, body, format="json").status_code == 400  # the same model version twice
    assert _post(api, deployment, [{"accession": "PRED0", "label": "Edema", "p": 0.5}]).status_code == 201
    assert Prediction.objects.get().version_id == response.json()["id"]
