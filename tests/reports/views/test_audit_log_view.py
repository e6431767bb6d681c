from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from reports.models import AccessEvent, AuditAction
from reports.services.audit import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(radiologist, curator, protocol, other_protocol, study):
    audit_record(actor=radiologist, action=AuditAction.REPORT_READ, obj=study.report, protocol=protocol)
    audit_record(actor=curator, action=AuditAction.EXPORT, protocol=protocol)
    return AccessEvent.objects.create(
        at=timezone.now() - dt.timedelta(days=40), user=curator, username="curator",
        action=AuditAction.ACCESS_GRANT, protocol=other_protocol,
    )


def _rows(response) -> list[tuple[str, str]]:
    assert response.status_code == 200
    return [(e.username, e.action) for e in response.context["page"]]


def test_newest_first_and_filters(client_for, admin_user, events, protocol, study):
    client = client_for(admin_user)
    assert _rows(client.get("/audit/")) == [
        ("curator", AuditAction.EXPORT), ("radiologist", AuditAction.REPORT_READ), ("curator", AuditAction.ACCESS_GRANT)
    ]
    assert _rows(client.get("/audit/?user=radiologist")) == [("radiologist", AuditAction.REPORT_READ)]
    assert len(_rows(client.get(f"/audit/?action={AuditAction.ACCESS_GRANT}"))) == 1
    assert len(_rows(client.get(f"/audit/?protocol={protocol.pk}"))) == 2
    recent = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    assert len(_rows(client.get(f"/audit/?date_from={recent}"))) == 2
    assert len(_rows(client.get(f"/audit/?object_type=report&object_id={study.report.pk}"))) == 1


def test_bad_filter_is_explained(client_for, admin_user, events):
    response = client_for(admin_user).get("/audit/?date_from=2025-02-01&date_to=2025-01-01")
    assert response.status_code == 400
    assert b"on or after the start date" in response.content


def test_pages_hold_50_rows(client_for, admin_user, radiologist):
    for _ in range(51):
        audit_record(actor=radiologist, action=AuditAction.EXPORT)
    client = client_for(admin_user)
    assert len(client.get("/audit/").context["page"]) == 50
    assert len(client.get("/audit/?page=2").context["page"]) == 1


def test_non_staff_get_404(client_for, radiologist):
    assert client_for(radiologist).get("/audit/").status_code == 404


def test_nav_shows_admin_links_to_staff_only(client_for, admin_user, radiologist):
    assert b'href="/audit/"' in client_for(admin_user).get("/studies/").content
    member_page = client_for(radiologist).get("/studies/").content
    assert b'href="/studies/"' in member_page
    assert b'href="/audit/"' not in member_page
    assert b'href="/protocols/"' not in member_page
