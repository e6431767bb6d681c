from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from reports.models import AccessEvent, AuditAction
from tests.reports.factories import ReportFactory, StudyFactory

pytestmark = pytest.mark.django_db

LIST_KEYS = {"id", "accession", "modality", "body_part", "study_date", "protocol", "protocol_irb", "review_state"}


@pytest.fixture
def api(radiologist) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=radiologist).key}")


def test_anonymous_gets_401():
    for url in ("/api/v1/studies/", "/api/v1/studies/1/", "/api/v1/protocols/"):
        response = Client().get(url)
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Token")


def test_list_is_paginated_scoped_and_carries_no_report_text(api, study, other_protocol):
    ReportFactory(study=StudyFactory(protocol=other_protocol))
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/v1/studies/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 1
    (row,) = body["results"]
    assert set(row) == LIST_KEYS
    assert row["id"] == study.pk
    assert row["protocol"] == study.protocol_id
    assert row["protocol_irb"] == study.protocol.irb_number
    assert "pleural" not in response.content.decode()
    assert not any("reports_report" in q["sql"] for q in queries.captured_queries)
    assert not AccessEvent.objects.filter(action=AuditAction.REPORT_READ).exists()


def test_list_filters(api, protocol):
    today = dt.date(2025, 6, 15)
    ct = StudyFactory(protocol=protocol, modality="CT", accession="XY100", study_date=today)
    StudyFactory(protocol=protocol, modality="CR", accession="XY200", study_date=today - dt.timedelta(days=10))
    StudyFactory(protocol=protocol, modality="CR", accession="ZZ300", study_date=today - dt.timedelta(days=20))

    def ids(query: str) -> list[int]:
        response = api.get(f"/api/v1/studies/?{query}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids("modality=ct") == [ct.pk]
    assert len(ids("q=XY")) == 2
    assert len(ids("date_from=2025-06-01&date_to=2025-06-10")) == 1
    assert len(ids(f"protocol={protocol.pk}")) == 3
    assert ids(f"protocol={protocol.pk + 1000}") == []


def test_bad_filters_answer_400_naming_the_parameter(api):
    response = api.get("/api/v1/studies/?date_from=yesterday")
    assert response.status_code == 400
    assert "date_from" in response.json()
    response = api.get("/api/v1/studies/?date_from=2025-02-01&date_to=2025-01-01")
    assert response.status_code == 400
    assert "date_to" in response.json()


def test_detail_shows_the_report_by_section_and_is_audited(api, radiologist, protocol):
    text = "INDICATION: Cough.\nFINDINGS: Clear lungs."
    study = ReportFactory(
        study=StudyFactory(protocol=protocol), text=text, sections=[["indication", 0, 18], ["findings", 19, len(text)]]
    ).study
    response = api.get(f"/api/v1/studies/{study.pk}/")
    assert response.status_code == 200
    report = response.json()["report"]
    assert report["text"] == text
    assert report["sections"] == [
        {"name": "indication", "text": "INDICATION: Cough."},
        {"name": "findings", "text": "FINDINGS: Clear lungs."},
    ]
    assert report["signed_at"]
    (event,) = AccessEvent.objects.filter(action=AuditAction.REPORT_READ)
    assert (event.channel, event.user_id, event.object_id) == ("api", radiologist.pk, str(study.report.pk))


def test_detail_out_of_scope_is_404(study, outsider):
    api = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=outsider).key}")
    assert api.get(f"/api/v1/studies/{study.pk}/").status_code == 404
    assert api.get("/api/v1/studies/999999/").status_code == 404
    assert not AccessEvent.objects.exists()


def test_session_auth_works_too(client_for, radiologist, study):
    assert client_for(radiologist).get(f"/api/v1/studies/{study.pk}/").status_code == 200
