from __future__ import annotations

from unittest import mock

import pytest
from django.urls import reverse

from annotation.apps import RELABEL_JOB
from annotation.services.relabel import relabel_protocol
from reports.models import Job

pytestmark = pytest.mark.django_db

BLEED = "FINDINGS: Acute subdural hematoma. There is no midline shift."


def _url(protocol) -> str:
    return reverse("annotation:protocol-labels", kwargs={"protocol_id": protocol.pk})


@pytest.fixture(autouse=True)
def _no_broker():
    # The view queues the task on commit; these tests check the job row, not the broker.
    with mock.patch("annotation.tasks.relabel_protocol_task.delay"):
        yield


def test_a_member_sees_counts_per_label_and_the_phrase_set_in_use(ct_protocol, make_report, radiologist, client_for):
    make_report(ct_protocol, BLEED)
    make_report(ct_protocol, "FINDINGS: Normal.")
    counts = relabel_protocol(protocol=ct_protocol)

    response = client_for(radiologist).get(_url(ct_protocol))

    assert response.status_code == 200
    summary = response.context["summary"]
    rows = {row.label.name: (row.positive, row.negative, row.uncertain) for row in summary.labels}
    assert rows == {"Hemorrhage": (1, 0, 0), "Midline Shift": (0, 1, 0)}
    assert summary.phrase_set_hash == counts["phrase_set_hash"]
    assert (summary.reports, summary.stale) == (2, 1)  # the normal report has no row and no recorded pass
    assert counts["phrase_set_hash"][:10] in response.content.decode()
    assert response.context["can_relabel"] is False
    assert b'name="force"' not in response.content


def test_it_shows_every_report_stale_after_a_phrase_edit(ct_protocol, make_report, curator, client_for):
    make_report(ct_protocol, BLEED)
    relabel_protocol(protocol=ct_protocol)
    ct_protocol.label_schema.labels.get(name="Hemorrhage").phrases.filter(text="hematoma").update(enabled=False)

    response = client_for(curator).get(_url(ct_protocol))

    assert response.context["summary"].stale == 1
    assert response.context["can_relabel"] is True


def test_an_outsider_gets_404(ct_protocol, outsider, client_for):
    client = client_for(outsider)

    assert client.get(_url(ct_protocol)).status_code == 404
    assert client.post(_url(ct_protocol)).status_code == 404
    assert not Job.objects.exists()


def test_an_expired_member_gets_404(ct_protocol, expired_member, client_for):
    assert client_for(expired_member).get(_url(ct_protocol)).status_code == 404


def test_anonymous_is_sent_to_login(ct_protocol, client):
    response = client.get(_url(ct_protocol))

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_radiologist_cannot_start_a_relabel(ct_protocol, radiologist, client_for):
    response = client_for(radiologist).post(_url(ct_protocol))

    assert response.status_code == 404
    assert not Job.objects.exists()


@pytest.mark.parametrize("role_fixture", ["curator", "scientist"])
def test_the_relabel_button_starts_one_job_and_redirects_to_it(ct_protocol, role_fixture, request, client_for):
    client = client_for(request.getfixturevalue(role_fixture))

    first = client.post(_url(ct_protocol))
    second = client.post(_url(ct_protocol))

    job = Job.objects.get(kind=RELABEL_JOB, protocol=ct_protocol)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == reverse("reports:job-detail", args=[job.pk])
    assert job.params == {"force": False}


def test_the_force_button_asks_for_a_full_relabel(ct_protocol, curator, client_for):
    client_for(curator).post(_url(ct_protocol), {"force": "1"})

    assert Job.objects.get().params == {"force": True}


def test_other_methods_are_refused(ct_protocol, curator, client_for):
    assert client_for(curator).put(_url(ct_protocol)).status_code == 405


def test_a_protocol_without_schema_shows_the_builtin_labels(protocol, radiologist, client_for):
    response = client_for(radiologist).get(_url(protocol))

    assert response.status_code == 200
    assert [row.label.name for row in response.context["summary"].labels][:2] == ["No Finding", "Enlarged Cardiomediastinum"]
