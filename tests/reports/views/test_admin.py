"""The Django admin: membership changes audited, the audit log read-only, no PHI models."""
from __future__ import annotations

import pytest
from django.contrib import admin

from reports.models import AccessEvent, AuditAction, Membership, Patient, Report, Role, Study
from tests.reports.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_phi_models_are_not_in_the_admin():
    for model in (Study, Report, Patient):
        assert not admin.site.is_registered(model)


def test_adding_and_changing_a_membership_in_the_admin_is_audited(client_for, admin_user, protocol):
    user = UserFactory(username="newcomer")
    client = client_for(admin_user)
    response = client.post(
        "/admin/reports/membership/add/",
        {"user": user.pk, "protocol": protocol.pk, "role": Role.CURATOR, "valid_from": "2026-01-01", "valid_to": ""},
    )
    assert response.status_code == 302, response.content
    membership = Membership.objects.get(user=user)
    response = client.post(
        f"/admin/reports/membership/{membership.pk}/change/",
        {"role": Role.RADIOLOGIST, "valid_from": "2026-01-01", "valid_to": "2026-12-31"},
    )
    assert response.status_code == 302, response.content
    membership.refresh_from_db()
    assert membership.role == Role.RADIOLOGIST
    actions = list(AccessEvent.objects.order_by("id").values_list("action", "channel"))
    assert actions == [(AuditAction.ACCESS_GRANT, "admin"), (AuditAction.ACCESS_CHANGE, "admin")]


def test_revoking_from_the_admin_is_audited(client_for, admin_user, radiologist):
    membership = Membership.objects.get(user=radiologist)
    response = client_for(admin_user).post(
        "/admin/reports/membership/", {"action": "revoke_selected", "_selected_action": [membership.pk]}
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.revoked_at is not None
    assert AccessEvent.objects.get().action == AuditAction.ACCESS_REVOKE


def test_protocol_edit_with_inline_member_is_audited(client_for, admin_user, protocol):
    user = UserFactory(username="inline")
    data = {
        "irb_number": protocol.irb_number, "title": "New title", "principal_investigator": protocol.principal_investigator,
        "status": protocol.status, "approved_on": protocol.approved_on.isoformat(),
        "expires_on": protocol.expires_on.isoformat(), "label_schema": "", "readers_per_study": 2,
        "memberships-TOTAL_FORMS": 1, "memberships-INITIAL_FORMS": 0,
        "memberships-MIN_NUM_FORMS": 0, "memberships-MAX_NUM_FORMS": 1000,
        "memberships-0-user": user.pk, "memberships-0-role": Role.RADIOLOGIST,
        "memberships-0-valid_from": "2026-01-01", "memberships-0-valid_to": "",
    }
    response = client_for(admin_user).post(f"/admin/reports/protocol/{protocol.pk}/change/", data)
    assert response.status_code == 302, response.content
    assert Membership.objects.filter(user=user, protocol=protocol).exists()
    actions = sorted(AccessEvent.objects.values_list("action", flat=True))
    assert actions == [AuditAction.ACCESS_GRANT, AuditAction.PROTOCOL_CHANGE]
    change = AccessEvent.objects.get(action=AuditAction.PROTOCOL_CHANGE)
    assert set(change.detail["changes"]) == {"title", "readers_per_study"}


def test_audit_log_is_read_only_in_the_admin(client_for, admin_user, radiologist):
    from reports.services.audit import audit_record

    event = audit_record(actor=radiologist, action=AuditAction.EXPORT)
    client = client_for(admin_user)
    assert client.get("/admin/reports/accessevent/").status_code == 200
    assert client.get("/admin/reports/accessevent/add/").status_code == 403
    assert client.get(f"/admin/reports/accessevent/{event.pk}/delete/").status_code == 403
    page = client.get(f"/admin/reports/accessevent/{event.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
