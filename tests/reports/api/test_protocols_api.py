from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from reports.models import Role
from tests.reports.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _api(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")


def test_lists_the_callers_protocols_with_their_role(curator, protocol, other_protocol):
    response = _api(curator).get("/api/v1/protocols/")
    assert response.status_code == 200
    assert response.json() == [
        {"id": protocol.pk, "irb_number": protocol.irb_number, "title": protocol.title, "role": Role.CURATOR}
    ]


def test_expired_and_revoked_memberships_and_staff_see_none(expired_member, admin_user):
    assert _api(expired_member).get("/api/v1/protocols/").json() == []
    assert _api(admin_user).get("/api/v1/protocols/").json() == []


def test_role_is_the_live_membership_after_a_revoked_one(protocol):
    from django.utils import timezone

    from tests.reports.factories import UserFactory

    user = UserFactory()
    MembershipFactory(user=user, protocol=protocol, role=Role.RADIOLOGIST, revoked_at=timezone.now())
    MembershipFactory(user=user, protocol=protocol, role=Role.DATA_SCIENTIST)
    assert [row["role"] for row in _api(user).get("/api/v1/protocols/").json()] == [Role.DATA_SCIENTIST]
