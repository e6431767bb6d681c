"""The dashboard (config.views.home): one card per protocol, links by role, admin links."""
from __future__ import annotations

import pytest
from django.urls import reverse

from reports.models import ReviewState
from tests.reports.factories import StudyFactory

pytestmark = pytest.mark.django_db


def test_member_sees_their_protocols_with_counts(client_for, radiologist, protocol, other_protocol):
    StudyFactory.create_batch(3, protocol=protocol)
    StudyFactory.create_batch(2, protocol=protocol, review_state=ReviewState.DONE)
    StudyFactory(protocol=other_protocol)
    response = client_for(radiologist).get("/")
    assert response.status_code == 200
    (card,) = response.context["cards"]
    row = card.summary
    assert (row["protocol"], row["total"], row["open"], row["done"]) == (protocol, 5, 3, 2)
    assert card.reads
    assert not card.adjudicates
    assert f"/protocols/{protocol.pk}/read/".encode() in response.content
    assert other_protocol.irb_number.encode() not in response.content
    assert f"/studies/?protocol={protocol.pk}".encode() in response.content
    assert b"Audit log" not in response.content


def test_staff_without_membership_sees_admin_links_and_no_protocol(client_for, admin_user, protocol):
    response = client_for(admin_user).get("/")
    assert response.context["cards"] == []
    assert b"/protocols/" in response.content
    assert b"/audit/" in response.content


def test_anonymous_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_curator_card_links_to_adjudication(client_for, curator, protocol):
    response = client_for(curator).get(reverse("home"))
    (card,) = response.context["cards"]
    assert card.reads
    assert card.adjudicates
    assert reverse("annotation:adjudication-queue", args=[protocol.pk]).encode() in response.content


def test_data_scientist_card_has_no_reading_links(client_for, scientist, protocol):
    response = client_for(scientist).get(reverse("home"))
    (card,) = response.context["cards"]
    assert not card.reads
    assert not card.adjudicates
    assert reverse("annotation:read-next", args=[protocol.pk]).encode() not in response.content
