"""Matches in context: the page, its audit, and judging with and without htmx."""
from __future__ import annotations

import pytest
from django.urls import reverse

from annotation.models import MatchJudgement
from reports.models import AccessEvent, AuditAction
from tests.annotation.quality.conftest import TEXT, span

pytestmark = pytest.mark.django_db


def _url(protocol, **params):
    from urllib.parse import urlencode

    return f"{reverse('annotation:matches', args=[protocol.pk])}?{urlencode(params)}"


def test_curator_sees_the_phrases_of_a_label_with_hits(client_for, protocol, label, make_report, curator):
    make_report(evidence=[span(TEXT, "pleural effusion"), span(TEXT, "effusion", ["POSSIBLE_EXISTENCE"], nth=1)])
    response = client_for(curator).get(_url(protocol, label=label.pk))
    assert response.status_code == 200
    body = response.content.decode()
    assert "pleural effusion" in body
    assert "not judged" in body
    assert not AccessEvent.objects.filter(action=AuditAction.REPORT_READ).exists()  # no report text shown


def test_curator_sees_each_hit_in_its_sentence_and_each_report_read_is_audited_once(client_for, protocol, label, make_report, curator):
    reports = [make_report(evidence=[span(TEXT, "pleural effusion")]) for _ in range(3)]
    response = client_for(curator).get(_url(protocol, label=label.pk, phrase="pleural effusion"))
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count('class="match-row') == 3
    assert 'There is a small <mark class="hit">pleural effusion</mark>.' in body
    assert "Possible effusion" not in body  # the sentence only
    reads = AccessEvent.objects.filter(action=AuditAction.REPORT_READ)
    assert sorted(int(r.object_id) for r in reads) == sorted(r.pk for r in reports)


def test_negated_and_uncertain_hits_are_shown_on_request(client_for, protocol, label, make_report, curator):
    make_report(evidence=[span(TEXT, "effusion", ["POSSIBLE_EXISTENCE"], nth=1)])
    client = client_for(curator)
    assert client.get(_url(protocol, label=label.pk, phrase="effusion")).content.decode().count('class="match-row') == 0
    body = client.get(_url(protocol, label=label.pk, phrase="effusion", all=1)).content.decode()
    assert body.count('class="match-row') == 1
    assert "possible_existence" in body


def test_hits_are_paged(client_for, protocol, label, make_report, curator):
    for _ in range(23):
        make_report(evidence=[span(TEXT, "pleural effusion")])
    body = client_for(curator).get(_url(protocol, label=label.pk, phrase="pleural effusion", page=2)).content.decode()
    assert body.count('class="match-row') == 3
    assert "Page 2 of 2" in body


@pytest.mark.parametrize("who", ["radiologist", "scientist", "outsider"])
def test_other_roles_and_outsiders_get_404(client_for, protocol, label, who, request):
    user = request.getfixturevalue(who)
    assert client_for(user).get(_url(protocol, label=label.pk)).status_code == 404


def test_judging_with_htmx_answers_the_verdict_and_the_new_precision_without_report_text(client_for, protocol, label, make_report, curator):
    ev = span(TEXT, "pleural effusion")
    report = make_report(evidence=[ev])
    response = client_for(curator).post(
        reverse("annotation:match-judge", args=[protocol.pk]),
        {"label": label.pk, "report": report.pk, "start": ev["start"], "end": ev["end"], "verdict": "right", "note": "ok"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "verdict-right" in body
    assert 'id="phrase-precision"' in body
    assert 'hx-swap-oob="true"' in body
    assert "1 judged" in body
    assert "There is a small" not in body
    assert MatchJudgement.objects.get().note == "ok"


def test_judging_without_javascript_redirects_back_to_the_page(client_for, protocol, label, make_report, curator):
    ev = span(TEXT, "pleural effusion")
    report = make_report(evidence=[ev])
    response = client_for(curator).post(
        reverse("annotation:match-judge", args=[protocol.pk]),
        {"label": label.pk, "report": report.pk, "start": ev["start"], "end": ev["end"], "verdict": "wrong", "page": "1"},
    )
    assert response.status_code == 302
    assert "phrase=pleural+effusion" in response["Location"]


def test_judging_a_report_of_another_protocol_is_404(client_for, protocol, other_protocol, label, curator):
    from tests.reports.factories import ReportFactory, StudyFactory

    foreign = ReportFactory(study=StudyFactory(protocol=other_protocol), text=TEXT)
    response = client_for(curator).post(
        reverse("annotation:match-judge", args=[protocol.pk]),
        {"label": label.pk, "report": foreign.pk, "start": 0, "end": 5, "verdict": "right"},
    )
    assert response.status_code == 404


def test_judging_a_span_that_is_no_match_is_400(client_for, protocol, label, make_report, curator):
    report = make_report()
    response = client_for(curator).post(
        reverse("annotation:match-judge", args=[protocol.pk]),
        {"label": label.pk, "report": report.pk, "start": 0, "end": 5, "verdict": "right"},
    )
    assert response.status_code == 400
