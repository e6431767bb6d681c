from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from reports.models import AccessEvent, AuditAction, Membership, ProtocolStatus, Role
from reports.services.access import (
    membership_change,
    membership_grant,
    membership_revoke,
    protocol_save,
)
from tests.reports.factories import MembershipFactory, ProtocolFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 1)


def _events(action: str) -> list[AccessEvent]:
    return list(AccessEvent.objects.filter(action=action))


def test_grant_creates_the_membership_and_one_audit_row(admin_user, protocol):
    user = UserFactory()
    membership = membership_grant(
        actor=admin_user, protocol=protocol, user=user, role=Role.CURATOR, valid_from=TODAY,
        valid_to=TODAY + dt.timedelta(days=90),
    )
    assert (membership.role, membership.valid_to) == (Role.CURATOR, TODAY + dt.timedelta(days=90))
    (event,) = _events(AuditAction.ACCESS_GRANT)
    assert (event.user_id, event.protocol_id, event.object_id) == (admin_user.pk, protocol.pk, str(membership.pk))
    assert event.detail == {"user_id": user.pk, "role": "curator", "valid_from": "2026-03-01", "valid_to": "2026-05-30"}


def test_grant_defaults_to_starting_today(admin_user, protocol):
    membership = membership_grant(actor=admin_user, protocol=protocol, user=UserFactory(), role=Role.RADIOLOGIST)
    assert membership.valid_from == timezone.localdate()


def test_grant_refuses_a_second_live_membership_and_writes_nothing(admin_user, radiologist, protocol):
    with pytest.raises(ValidationError, match="already a member"):
        membership_grant(actor=admin_user, protocol=protocol, user=radiologist, role=Role.CURATOR)
    assert Membership.objects.filter(user=radiologist).count() == 1
    assert not AccessEvent.objects.exists()


@pytest.mark.parametrize(("role", "valid_to", "message"), [
    ("janitor", None, "Unknown role"),
    (Role.CURATOR, TODAY - dt.timedelta(days=1), "on or after the start date"),
])
def test_grant_refuses_bad_input(admin_user, protocol, role, valid_to, message):
    with pytest.raises(ValidationError, match=message):
        membership_grant(actor=admin_user, protocol=protocol, user=UserFactory(), role=role, valid_from=TODAY, valid_to=valid_to)
    assert not Membership.objects.exists()
    assert not AccessEvent.objects.exists()


def test_change_audits_old_and_new_values(admin_user, protocol):
    membership = MembershipFactory(protocol=protocol, valid_from=TODAY)
    membership_change(actor=admin_user, membership=membership, role=Role.CURATOR, valid_to=TODAY + dt.timedelta(days=5))
    membership.refresh_from_db()
    assert (membership.role, membership.valid_to) == (Role.CURATOR, TODAY + dt.timedelta(days=5))
    (event,) = _events(AuditAction.ACCESS_CHANGE)
    assert event.detail["changes"] == {
        "role": {"old": "radiologist", "new": "curator"},
        "valid_to": {"old": None, "new": "2026-03-06"},
    }


def test_change_can_clear_the_end_date(admin_user, protocol):
    membership = MembershipFactory(protocol=protocol, valid_from=TODAY, valid_to=TODAY)
    membership_change(actor=admin_user, membership=membership, clear_valid_to=True)
    membership.refresh_from_db()
    assert membership.valid_to is None


def test_change_without_a_difference_writes_no_row(admin_user, protocol):
    membership = MembershipFactory(protocol=protocol)
    membership_change(actor=admin_user, membership=membership, role=membership.role)
    assert not AccessEvent.objects.exists()


def test_change_refuses_an_end_before_the_start_and_changes_nothing(admin_user, protocol):
    membership = MembershipFactory(protocol=protocol, valid_from=TODAY)
    with pytest.raises(ValidationError):
        membership_change(actor=admin_user, membership=membership, valid_to=TODAY - dt.timedelta(days=1))
    membership.refresh_from_db()
    assert membership.valid_to is None
    assert not AccessEvent.objects.exists()


def test_revoke_is_audited_once_and_a_revoked_membership_cannot_change(admin_user, protocol):
    membership = MembershipFactory(protocol=protocol)
    membership_revoke(actor=admin_user, membership=membership)
    membership_revoke(actor=admin_user, membership=membership)
    membership.refresh_from_db()
    assert membership.revoked_at is not None
    assert len(_events(AuditAction.ACCESS_REVOKE)) == 1
    with pytest.raises(ValidationError, match="revoked"):
        membership_change(actor=admin_user, membership=membership, role=Role.CURATOR)


def test_protocol_save_audits_creation_and_only_changed_fields(admin_user):
    protocol = ProtocolFactory.build(status=ProtocolStatus.DRAFT, approved_on=None, expires_on=None)
    protocol_save(actor=admin_user, protocol=protocol)
    created = _events(AuditAction.PROTOCOL_CHANGE)
    assert len(created) == 1
    assert created[0].detail["created"] is True

    protocol.status, protocol.approved_on = ProtocolStatus.APPROVED, TODAY
    protocol_save(actor=admin_user, protocol=protocol)
    protocol_save(actor=admin_user, protocol=protocol)  # nothing changed: no row
    changed = [e for e in _events(AuditAction.PROTOCOL_CHANGE) if not e.detail["created"]]
    assert len(changed) == 1
    assert changed[0].detail["changes"] == {
        "status": {"old": "draft", "new": "approved"},
        "approved_on": {"old": None, "new": "2026-03-01"},
    }
