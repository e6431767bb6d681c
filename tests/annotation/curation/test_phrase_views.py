"""The phrase page: table for members, edit / preview / save / revert for curators."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from annotation.models import Label, Phrase, PhraseChange
from reports.models import AccessEvent, AuditAction
from tests.annotation.curation.conftest import relabel_as_job
from tests.annotation.factories import LabelFactory

pytestmark = pytest.mark.django_db

BLEED = "FINDINGS: Acute subdural bleed. No midline shift."
HEMATOMA = "FINDINGS: Small hematoma. Another hematoma on the right. No hemorrhage."


@pytest.fixture
def page(ct_protocol, make_reports):
    make_reports(ct_protocol, BLEED, HEMATOMA)
    relabel_as_job(ct_protocol)
    label = Label.objects.get(schema=ct_protocol.label_schema, name="Hemorrhage")
    kwargs = {"protocol_id": ct_protocol.pk, "label_id": label.pk}
    return {
        "label": label,
        "table": reverse("annotation:phrase-table", kwargs=kwargs),
        "preview": reverse("annotation:phrase-preview", kwargs=kwargs),
        "save": reverse("annotation:phrase-save", kwargs=kwargs),
    }


def client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_the_labels_page_links_each_label_to_its_phrases(ct_protocol, radiologist, page):
    response = client(radiologist).get(reverse("annotation:protocol-labels", args=[ct_protocol.pk]))
    assert page["table"] in response.content.decode()


def test_a_radiologist_sees_the_table_without_edit_controls(radiologist, page):
    response = client(radiologist).get(page["table"])

    assert response.status_code == 200
    body = response.content.decode()
    assert "hematoma" in body
    assert "synonym" in body or "implied" in body
    assert 'name="disable"' not in body
    assert "History" not in body


def test_hits_negated_share_and_reports_come_from_the_stored_evidence(curator, page):
    response = client(curator).get(page["table"])

    rows = {row.text: row for row in response.context["table"].rows}
    assert (rows["hematoma"].hits, rows["hematoma"].reports) == (2, 1)
    assert (rows["hemorrhage"].hits, rows["hemorrhage"].negated_share) == (1, 1.0)
    assert rows["bleed"].hits == 1


def test_sort_and_filter_and_htmx_gets_only_the_rows(curator, page):
    by_hits = client(curator).get(page["table"], {"sort": "-hits"})
    assert by_hits.context["table"].rows[0].text == "hematoma"
    inferred = client(curator).get(page["table"], {"show": "inferred"})
    assert all(row.inferred for row in inferred.context["table"].rows)
    partial = client(curator).get(page["table"], {"sort": "text"}, headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert "<html" not in partial.content.decode()
    assert 'id="phrase-rows"' in partial.content.decode()


def test_outsiders_get_404_and_a_label_of_another_schema_too(ct_protocol, outsider, curator, page):
    assert client(outsider).get(page["table"]).status_code == 404
    other = LabelFactory()
    url = reverse("annotation:phrase-table", kwargs={"protocol_id": ct_protocol.pk, "label_id": other.pk})
    assert client(curator).get(url).status_code == 404


def test_a_curator_previews_a_change_with_a_sample_and_audits_the_text_shown(curator, page):
    reads = AccessEvent.objects.filter(action=AuditAction.REPORT_READ).count()

    response = client(curator).post(page["preview"], {"disable": ["bleed"], "add": "clot\n"})

    assert response.status_code == 200
    preview = response.context["preview"]
    assert preview.changed == 1
    assert preview.transitions() == {"positive->absent": 1}
    assert len(response.context["sample"]) == 1
    assert "<del>bleed</del>" in response.content.decode()
    assert AccessEvent.objects.filter(action=AuditAction.REPORT_READ).count() == reads + 1
    assert not Phrase.objects.filter(text="clot").exists()  # a preview saves nothing


def test_a_radiologist_may_not_preview_or_save(radiologist, page):
    assert client(radiologist).post(page["preview"], {"disable": ["bleed"]}).status_code == 403
    assert client(radiologist).post(page["save"], {"disable": ["bleed"]}).status_code == 403
    assert not PhraseChange.objects.exists()


def test_an_empty_edit_is_a_400_with_the_reason(curator, page):
    response = client(curator).post(page["preview"], {})
    assert response.status_code == 400
    assert "empty" in response.content.decode()


def test_save_redirects_to_the_relabel_job_and_revert_is_one_click(ct_protocol, curator, page):
    hematoma = Phrase.objects.get(text="hematoma")
    response = client(curator).post(page["save"], {"add": "clot", f"priority_{hematoma.pk}": "5", "reason": "why not"})

    change = PhraseChange.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:job-detail", args=[change.job_id])
    assert Phrase.objects.get(text="hematoma").order == 1
    history = client(curator).get(page["table"]).content.decode()
    assert "why not" in history
    assert reverse("annotation:phrase-revert", kwargs={"protocol_id": ct_protocol.pk, "change_id": change.pk}) in history

    revert = client(curator).post(reverse("annotation:phrase-revert", kwargs={"protocol_id": ct_protocol.pk, "change_id": change.pk}))

    assert revert.status_code == 302
    assert not Phrase.objects.filter(text="clot").exists()
    assert Phrase.objects.get(text="hematoma").order == hematoma.order
