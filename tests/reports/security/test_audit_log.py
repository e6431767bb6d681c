"""Audit counting (SECURITY.md promise 5): one row per read of report text, none with PHI, and
rows that neither the app nor raw SQL can change."""
from __future__ import annotations

import json

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.test import Client
from rest_framework.authtoken.models import Token

from reports.models import AccessEvent, AuditAction
from reports.services.audit import audit_record
from tests.reports.factories import ReportFactory, StudyFactory

pytestmark = pytest.mark.django_db

SECRET_TEXT = "FINDINGS: Canary-Heron-2201 opacity in the right base."


def _reads() -> list[AccessEvent]:
    return list(AccessEvent.objects.filter(action=AuditAction.REPORT_READ))


@pytest.mark.parametrize("n", [1, 3, 7])
def test_n_reads_of_report_text_make_exactly_n_rows_without_phi(n, protocol, radiologist):
    study = ReportFactory(study=StudyFactory(protocol=protocol, accession="CANARYACC55"), text=SECRET_TEXT).study
    page = Client()
    page.force_login(radiologist)
    api = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=radiologist).key}")

    for _ in range(n):
        assert page.get(f"/studies/{study.pk}/").status_code == 200
        assert api.get(f"/api/v1/studies/{study.pk}/").status_code == 200
    # Lists show no report text, so they are not reads.
    page.get("/studies/")
    api.get("/api/v1/studies/")

    rows = _reads()
    assert len(rows) == 2 * n
    assert sorted({row.channel for row in rows}) == ["api", "page"]
    assert {(row.object_type, row.user_id, row.protocol_id) for row in rows} == {
        ("report", radiologist.pk, protocol.pk)
    }
    for row in rows:
        serialized = json.dumps(
            [row.username, row.object_type, row.object_id, row.channel, row.detail, str(row)], default=str
        )
        assert "Canary-Heron" not in serialized
        assert "CANARYACC55" not in serialized


def test_refused_reads_are_not_audited_as_reads(protocol, outsider):
    study = ReportFactory(study=StudyFactory(protocol=protocol)).study
    client = Client()
    client.force_login(outsider)
    assert client.get(f"/studies/{study.pk}/").status_code == 404
    assert _reads() == []


@pytest.fixture
def event(radiologist):
    return audit_record(actor=radiologist, action=AuditAction.REPORT_READ)


def test_the_app_cannot_update_or_delete_audit_rows(event):
    with pytest.raises(PermissionError):
        AccessEvent.objects.filter(pk=event.pk).update(channel="forged")
    with pytest.raises(PermissionError):
        AccessEvent.objects.all().delete()
    with pytest.raises(PermissionError):
        event.delete()
    event.channel = "forged"
    with pytest.raises(PermissionError):
        event.save()
    assert AccessEvent.objects.get(pk=event.pk).channel == "page"


def test_the_database_refuses_a_raw_update(event):
    table = AccessEvent._meta.db_table
    with pytest.raises((DatabaseError, IntegrityError)), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET channel = %s WHERE id = %s", ["forged", event.pk])
    assert AccessEvent.objects.get(pk=event.pk).channel == "page"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite's flush needs DELETE; the model refuses it there")
def test_postgresql_refuses_a_raw_delete(event):
    table = AccessEvent._meta.db_table
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [event.pk])
    assert AccessEvent.objects.filter(pk=event.pk).exists()
