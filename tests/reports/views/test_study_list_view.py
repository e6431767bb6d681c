from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports.models import ReviewState
from tests.reports.factories import ReportFactory, StudyFactory

pytestmark = pytest.mark.django_db


def _accessions(response) -> list[str]:
    return [study.accession for study in response.context["page"].items]


def test_member_sees_their_studies_only(client_for, radiologist, study, other_protocol):
    foreign = StudyFactory(protocol=other_protocol)
    response = client_for(radiologist).get("/studies/")
    assert response.status_code == 200
    assert _accessions(response) == [study.accession]
    assert foreign.accession.encode() not in response.content


def test_posted_filters_are_kept_in_the_session_not_the_url(client_for, radiologist, protocol):
    StudyFactory(protocol=protocol, accession="ABC123", modality="CT")
    StudyFactory(protocol=protocol, accession="XYZ999", modality="CR")
    client = client_for(radiologist)
    response = client.post("/studies/", {"q": "ABC"})
    assert response.status_code == 302
    assert response["Location"] == "/studies/"
    assert "ABC" not in response["Location"]
    assert _accessions(client.get("/studies/")) == ["ABC123"]
    client.post("/studies/", {"clear": "1"})
    assert len(_accessions(client.get("/studies/"))) == 2


def test_filters_by_every_field(client_for, radiologist, protocol):
    day = dt.date(2025, 5, 10)
    StudyFactory(protocol=protocol, accession="A1", modality="CT", study_date=day, review_state=ReviewState.DONE)
    StudyFactory(protocol=protocol, accession="A2", modality="CR", study_date=day - dt.timedelta(days=5))
    StudyFactory(protocol=protocol, accession="B1", modality="CR", study_date=day - dt.timedelta(days=30))
    client = client_for(radiologist)

    def accessions(query: str) -> list[str]:
        response = client.get(f"/studies/?{query}")
        assert response.status_code == 200
        return _accessions(response)

    assert accessions("modality=ct") == ["A1"]
    assert accessions("q=A") == ["A1", "A2"]
    assert accessions("date_from=2025-05-01&date_to=2025-05-31") == ["A1", "A2"]
    assert accessions("review_state=done") == ["A1"]
    assert accessions(f"protocol={protocol.pk}") == ["A1", "A2", "B1"]


def test_a_protocol_outside_scope_is_not_a_valid_filter(client_for, radiologist, other_protocol):
    StudyFactory(protocol=other_protocol)
    response = client_for(radiologist).get(f"/studies/?protocol={other_protocol.pk}")
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content


def test_bad_dates_are_explained_and_nothing_is_listed(client_for, radiologist, study):
    response = client_for(radiologist).post("/studies/", {"date_from": "2025-02-01", "date_to": "2025-01-01"})
    assert response.status_code == 400
    assert b"on or after the start date" in response.content


def test_keyset_pages_walk_every_study_once_both_ways(client_for, radiologist, protocol):
    base = dt.date(2025, 1, 1)
    for i in range(120):
        # Shared dates and a few missing ones exercise the (date, id) tie-break and NULL handling.
        StudyFactory(protocol=protocol, study_date=None if i % 17 == 0 else base + dt.timedelta(days=i // 3))
    client = client_for(radiologist)
    seen, pages, url = [], [], "/studies/"
    while url:
        page = client.get(url).context["page"]
        pages.append(page)
        seen += [s.pk for s in page.items]
        url = f"/studies/?after={page.next_after}" if page.next_after else None
    assert [len(p.items) for p in pages] == [50, 50, 20]
    assert len(seen) == len(set(seen)) == 120
    assert pages[0].total == 120
    back = client.get(f"/studies/?before={pages[2].prev_before}").context["page"]
    assert [s.pk for s in back.items] == [s.pk for s in pages[1].items]


def test_list_stays_within_a_few_queries_and_never_selects_report_text(
    client_for, radiologist, protocol, django_assert_max_num_queries
):
    for _ in range(60):
        ReportFactory(study=StudyFactory(protocol=protocol), text="FINDINGS: secret words")
    client = client_for(radiologist)
    client.get("/studies/")  # warm the session
    with django_assert_max_num_queries(10), CaptureQueriesContext(connection) as queries:
        response = client.get("/studies/")
    assert len(response.context["page"].items) == 50
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "reports_report" not in sql
    assert '"text"' not in sql
    assert b"secret words" not in response.content
