from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from reports.models import AccessEvent, AuditAction, Membership, Role
from tests.reports.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _url(protocol) -> str:
    return f"/protocols/{protocol.pk}/members/"


def test_staff_see_every_member_with_their_state(client_for, admin_user, protocol, radiologist, expired_member):
    today = timezone.localdate()
    MembershipFactory(protocol=protocol, user=UserFactory(username="later"), valid_from=today + dt.timedelta(days=3))
    MembershipFactory(protocol=protocol, user=UserFactory(username="gone"), revoked_at=timezone.now())
    response = client_for(admin_user).get(_url(protocol))
    assert response.status_code == 200
    states = {row.membership.user.username: row.state for row in response.context["members"]}
    assert states == {"radiologist": "active", "expired": "expired", "later": "not yet", "gone": "revoked"}


def test_staff_add_a_member_and_it_is_audited(client_for, admin_user, protocol):
    UserFactory(username="newcomer")
    response = client_for(admin_user).post(
        _url(protocol), {"username": "newcomer", "role": Role.CURATOR, "valid_from": "", "valid_to": "2030-01-31"}
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user__username="newcomer")
    assert (membership.role, membership.valid_to) == (Role.CURATOR, dt.date(2030, 1, 31))
    (event,) = AccessEvent.objects.filter(action=AuditAction.ACCESS_GRANT)
    assert (event.user_id, event.channel, event.ip_address) == (admin_user.pk, "page", "127.0.0.1")


@pytest.mark.parametrize(("data", "message"), [
    ({"username": "nobody", "role": Role.CURATOR}, b"No active user is called"),
    ({"username": "radiologist", "role": Role.CURATOR}, b"already a member"),
    ({"username": "newcomer", "role": Role.CURATOR, "valid_from": "2030-01-02", "valid_to": "2030-01-01"}, b"on or after"),
    ({"username": "newcomer", "role": "boss"}, b"Select a valid choice"),
])
def test_bad_additions_are_explained_and_change_nothing(client_for, admin_user, protocol, radiologist, data, message):
    UserFactory(username="newcomer")
    response = client_for(admin_user).post(_url(protocol), data)
    assert response.status_code == 400
    assert message in response.content
    assert Membership.objects.count() == 1
    assert not AccessEvent.objects.exists()


def test_staff_change_the_end_date_and_revoke(client_for, admin_user, protocol, radiologist):
    membership = Membership.objects.get(user=radiologist)
    client = client_for(admin_user)
    response = client.post(f"{_url(protocol)}{membership.pk}/end/", {"valid_to": "2031-12-31"})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.valid_to == dt.date(2031, 12, 31)
    assert client.post(f"{_url(protocol)}{membership.pk}/end/", {"valid_to": "not a date"}).status_code == 302
    membership.refresh_from_db()
    assert membership.valid_to == dt.date(2031, 12, 31)

    assert client.post(f"{_url(protocol)}{membership.pk}/revoke/").status_code == 302
    membership.refresh_from_db()
    assert membership.revoked_at is not None
    actions = list(AccessEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == [AuditAction.ACCESS_CHANGE, AuditAction.ACCESS_REVOKE]


def test_membership_of_another_protocol_is_404(client_for, admin_user, protocol, other_protocol, outsider):
    membership = Membership.objects.get(user=outsider)
    response = client_for(admin_user).post(f"{_url(protocol)}{membership.pk}/revoke/")
    assert response.status_code == 404
    membership.refresh_from_db()
    assert membership.revoked_at is None


@pytest.mark.parametrize("who", ["radiologist", "curator", "outsider"])
def test_non_staff_get_404(client_for, protocol, who, request):
    client = client_for(request.getfixturevalue(who))
    assert client.get(_url(protocol)).status_code == 404
    assert client.get("/protocols/").status_code == 404
    assert client.post(_url(protocol), {"username": who, "role": Role.CURATOR}).status_code == 404


def test_protocol_list_shows_active_member_counts(client_for, admin_user, protocol, radiologist, expired_member):
    response = client_for(admin_user).get("/protocols/")
    assert response.status_code == 200
    (row,) = [p for p in response.context["protocols"] if p.pk == protocol.pk]
    assert row.active_members == 1
    assert _url(protocol).encode() in response.content
