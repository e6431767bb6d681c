"""The queue and confirmation API: 200/204, 201/409/400, scope 404, anonymous 401."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from annotation.models import Confirmation

pytestmark = pytest.mark.django_db


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_queue_next_answers_the_study_version_and_every_label(protocol, radiologist, make_study):
    study = make_study()
    response = api(radiologist).get("/api/v1/queue/next/", {"protocol": protocol.pk})
    assert response.status_code == 200
    body = response.json()
    assert body["study"] == study.pk
    assert body["version"] == 0
    assert {"label": "Pleural Effusion", "value": "positive", "p": 0.9} in body["labels"]
    assert {"label": "Cardiomegaly", "value": "absent", "p": None} in body["labels"]


def test_queue_next_is_204_when_empty(protocol, radiologist, labels):
    assert api(radiologist).get("/api/v1/queue/next/", {"protocol": protocol.pk}).status_code == 204


def test_queue_next_needs_a_protocol_and_scopes_it(protocol, radiologist, outsider, make_study):
    make_study()
    assert api(radiologist).get("/api/v1/queue/next/").status_code == 400
    assert api(outsider).get("/api/v1/queue/next/", {"protocol": protocol.pk}).status_code == 404
    assert api().get("/api/v1/queue/next/", {"protocol": protocol.pk}).status_code == 401


def test_post_confirmation_201_then_stale_version_409_with_current_state(protocol, radiologist, reader2, make_study):
    study = make_study()
    url = f"/api/v1/studies/{study.pk}/confirmations/"
    created = api(radiologist).post(url, {"labels": {"Pneumothorax": "positive"}, "version": 0}, format="json")
    assert created.status_code == 201
    assert {"label": "Pneumothorax", "value": "positive", "soft_value": "negative", "soft_p": 0.1} in created.json()["labels"]
    stale = api(reader2).post(url, {"labels": {"Pneumothorax": "negative"}, "version": 0}, format="json")
    assert stale.status_code == 409
    assert stale.json()["version"] == 1
    assert stale.json()["review_state"] == "done"
    assert Confirmation.objects.filter(study=study).count() == 1


def test_post_names_unknown_labels_and_values(protocol, radiologist, make_study):
    study = make_study()
    response = api(radiologist).post(
        f"/api/v1/studies/{study.pk}/confirmations/",
        {"labels": {"Pneumonia": "positive", "Cardiomegaly": "yes"}, "version": 0},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["unknown_labels"] == ["Pneumonia"]
    assert body["invalid_values"] == {"Cardiomegaly": "yes"}
    assert not Confirmation.objects.exists()


def test_post_without_version_is_400(protocol, radiologist, make_study):
    study = make_study()
    response = api(radiologist).post(f"/api/v1/studies/{study.pk}/confirmations/", {"labels": {}}, format="json")
    assert response.status_code == 400
    assert "version" in response.json()


def test_readers_see_only_their_own_confirmations_curators_see_all(protocol, radiologist, reader2, curator, make_study):
    protocol.readers_per_study = 2
    protocol.save()
    study = make_study()
    url = f"/api/v1/studies/{study.pk}/confirmations/"
    api(radiologist).post(url, {"labels": {}, "version": 0}, format="json")
    api(reader2).post(url, {"labels": {}, "version": 1}, format="json")
    mine = api(radiologist).get(url).json()["results"]
    assert [c["reader"] for c in mine] == ["radiologist"]
    assert {c["reader"] for c in api(curator).get(url).json()["results"]} == {"radiologist", "reader2"}


@pytest.mark.parametrize("who", ["outsider", "expired_member"])
def test_confirmations_are_404_out_of_scope(request, who, protocol, make_study):
    study = make_study()
    client = api(request.getfixturevalue(who))
    url = f"/api/v1/studies/{study.pk}/confirmations/"
    assert client.get(url).status_code == 404
    assert client.post(url, {"labels": {}, "version": 0}, format="json").status_code == 404


def test_anonymous_gets_401(protocol, make_study):
    study = make_study()
    assert api().get(f"/api/v1/studies/{study.pk}/confirmations/").status_code == 401


def test_a_data_scientist_sees_confirmations_but_cannot_confirm(protocol, radiologist, scientist, make_study):
    # The scope matrix cannot say "GET for every member, POST for readers": this test does.
    study = make_study()
    url = f"/api/v1/studies/{study.pk}/confirmations/"
    api(radiologist).post(url, {"labels": {}, "version": 0}, format="json")
    assert [c["reader"] for c in api(scientist).get(url).json()["results"]] == ["radiologist"]
    assert api(scientist).post(url, {"labels": {}, "version": 1}, format="json").status_code == 404
    assert Confirmation.objects.filter(study=study).count() == 1
