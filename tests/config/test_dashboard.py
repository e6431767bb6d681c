from __future__ import annotations

import pytest

from reports.models import ReviewState
from tests.reports.factories import StudyFactory

pytestmark = pytest.mark.django_db


def test_member_sees_their_protocols_with_counts(client_for, radiologist, protocol, other_protocol):
    StudyFactory.create_batch(3, protocol=protocol)
    StudyFactory.create_batch(2, protocol=protocol, review_state=ReviewState.DONE)
    StudyFactory(protocol=other_protocol)
    response = client_for(radiologist).get("/")
    assert response.status_code == 200
    ((row, role),) = response.context["cards"]
    assert (row["protocol"], row["total"], row["open"], row["done"]) == (protocol, 5, 3, 2)
    assert role.reads
    assert other_protocol.irb_number.encode() not in response.content
    assert f"/studies/?protocol={protocol.pk}".encode() in response.content
    assert b"Audit log" not in response.content


def test_staff_without_membership_sees_admin_links_and_no_protocol(client_for, admin_user, protocol):
    response = client_for(admin_user).get("/")
    assert response.context["cards"] == []
    assert b"/protocols/" in response.content and b"/audit/" in response.content


def test_anonymous_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
