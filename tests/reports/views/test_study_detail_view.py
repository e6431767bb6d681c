from __future__ import annotations

import pytest

from reports.models import AccessEvent, AuditAction
from tests.reports.factories import ReportFactory, StudyFactory

pytestmark = pytest.mark.django_db

TEXT = "HISTORY: Fever.\nFINDINGS: Left lower lobe consolidation.\nIMPRESSION: Pneumonia."


@pytest.fixture
def sectioned(protocol):
    return ReportFactory(
        study=StudyFactory(protocol=protocol),
        text=TEXT,
        sections=[["history", 0, 15], ["findings", 16, 56], ["impression", 57, len(TEXT)]],
    ).study


def test_member_reads_the_report_by_section_with_context_muted(client_for, radiologist, sectioned):
    response = client_for(radiologist).get(f"/studies/{sectioned.pk}/")
    assert response.status_code == 200
    sections = response.context["sections"]
    assert [(s.name, s.is_context) for s in sections] == [("history", True), ("findings", False), ("impression", False)]
    assert sections[1].text == "FINDINGS: Left lower lobe consolidation."
    html = response.content.decode()
    assert 'class="report-section context"' in html
    assert sectioned.accession in html


def test_each_view_is_audited_once(client_for, radiologist, sectioned):
    client = client_for(radiologist)
    client.get(f"/studies/{sectioned.pk}/")
    client.get(f"/studies/{sectioned.pk}/")
    events = AccessEvent.objects.filter(action=AuditAction.REPORT_READ)
    assert events.count() == 2
    assert {(e.channel, e.object_id, e.user_id) for e in events} == {("page", str(sectioned.report.pk), radiologist.pk)}


def test_a_study_without_a_report_shows_metadata_and_audits_nothing(client_for, radiologist, protocol):
    study = StudyFactory(protocol=protocol)
    response = client_for(radiologist).get(f"/studies/{study.pk}/")
    assert response.status_code == 200
    assert b"No report" in response.content
    assert not AccessEvent.objects.exists()


@pytest.mark.parametrize("who", ["outsider", "expired_member", "admin_user"])
def test_out_of_scope_is_404(client_for, sectioned, who, request):
    response = client_for(request.getfixturevalue(who)).get(f"/studies/{sectioned.pk}/")
    assert response.status_code == 404
    assert b"Fever" not in response.content


def test_post_is_not_allowed(client_for, radiologist, sectioned):
    assert client_for(radiologist).post(f"/studies/{sectioned.pk}/").status_code == 405
