"""The confirmation pages without JavaScript (forms and redirects) and with htmx (fragments)."""
from __future__ import annotations

import pytest
from django.urls import reverse

from annotation.models import Confirmation
from reports.models import AccessEvent, AuditAction, ReviewState

pytestmark = pytest.mark.django_db


def _form(study, **values):
    data = {"version": study.version, "shown_at": ""}
    data.update(values)
    return data


def test_queue_entry_redirects_to_the_next_study(protocol, radiologist, make_study, client_for):
    study = make_study()
    response = client_for(radiologist).get(reverse("annotation:read-next", args=[protocol.pk]))
    assert response.status_code == 302
    assert response.url == reverse("annotation:read-study", args=[study.pk])


def test_study_page_highlights_evidence_and_audits_the_read(protocol, radiologist, make_study, client_for):
    study = make_study()
    response = client_for(radiologist).get(reverse("annotation:read-study", args=[study.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="ev pos lbl-1" data-label="Pleural Effusion"' in html
    assert 'class="ev neg lbl-0" data-label="Pneumothorax"' in html
    assert "<kbd>Enter</kbd>" in html
    assert 'name="version" value="0"' in html
    assert 'style="' not in html
    assert "<script>" not in html
    assert AccessEvent.objects.filter(action=AuditAction.REPORT_READ, object_id=str(study.report.pk)).count() == 1


def test_report_text_is_escaped(protocol, radiologist, make_study, client_for):
    study = make_study(soft={})
    study.report.text = "<script>alert(1)</script> pneumothorax"
    study.report.sections = [["findings", 0, len(study.report.text)]]
    study.report.save()
    html = client_for(radiologist).get(reverse("annotation:read-study", args=[study.pk])).content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;" in html


def test_confirm_form_without_js_saves_and_redirects_to_the_queue(protocol, radiologist, labels, make_study, client_for):
    study = make_study()
    client = client_for(radiologist)
    response = client.post(
        reverse("annotation:read-confirm", args=[study.pk]), _form(study, **{f"label_{labels['Pneumothorax'].pk}": "positive"})
    )
    assert response.status_code == 302
    assert response.url == reverse("annotation:read-next", args=[protocol.pk])
    confirmation = Confirmation.objects.get(study=study)
    assert confirmation.labels.get(label=labels["Pneumothorax"]).value == "positive"
    assert confirmation.time_spent_ms is None


def test_confirm_with_htmx_swaps_in_the_next_study_and_pushes_its_url(protocol, radiologist, make_study, client_for):
    first = make_study(informativeness=0.9)
    second = make_study(informativeness=0.1)
    response = client_for(radiologist).post(
        reverse("annotation:read-confirm", args=[first.pk]), _form(first), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response["HX-Push-Url"] == reverse("annotation:read-study", args=[second.pk])
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="read-panel"')
    assert "<html" not in html
    assert f"Saved study {first.pk}." in html


def test_a_stale_form_is_answered_409_with_the_choices_kept(protocol, radiologist, reader2, labels, make_study, client_for):
    study = make_study()
    client_for(reader2).post(reverse("annotation:read-confirm", args=[study.pk]), _form(study))
    field = f"label_{labels['Cardiomegaly'].pk}"
    response = client_for(radiologist).post(reverse("annotation:read-confirm", args=[study.pk]), _form(study, **{field: "uncertain"}))
    html = response.content.decode()
    assert response.status_code == 409
    assert "saved again since you opened it" in html
    assert f'name="{field}" value="uncertain" checked' in html
    assert Confirmation.objects.filter(study=study).count() == 1


def test_an_invalid_value_is_answered_400_and_nothing_saved(protocol, radiologist, labels, make_study, client_for):
    study = make_study()
    field = f"label_{labels['Cardiomegaly'].pk}"
    response = client_for(radiologist).post(reverse("annotation:read-confirm", args=[study.pk]), _form(study, **{field: "bogus"}))
    assert response.status_code == 400
    assert "Cardiomegaly" in response.content.decode()
    assert not Confirmation.objects.exists()


def test_skip_moves_on_and_undo_brings_the_study_back(protocol, radiologist, make_study, client_for):
    first = make_study(informativeness=0.9)
    second = make_study(informativeness=0.1)
    client = client_for(radiologist)
    client.get(reverse("annotation:read-next", args=[protocol.pk]))
    response = client.post(reverse("annotation:read-skip", args=[first.pk]))
    assert client.get(response.url).url == reverse("annotation:read-study", args=[second.pk])
    client.post(reverse("annotation:read-confirm", args=[second.pk]), _form(second))
    confirmation = Confirmation.objects.get(study=second)
    response = client.post(reverse("annotation:read-undo", args=[confirmation.pk]))
    assert response.status_code == 302
    assert response.url == reverse("annotation:read-study", args=[second.pk])
    second.refresh_from_db()
    assert second.review_state == ReviewState.OPEN
    assert second.reads_done == 0


def test_empty_queue_page(protocol, radiologist, labels, client_for):
    response = client_for(radiologist).get(reverse("annotation:read-next", args=[protocol.pk]))
    assert response.status_code == 200
    assert "Nothing left to read" in response.content.decode()


@pytest.mark.parametrize("who", ["outsider", "expired_member", "scientist"])
def test_read_pages_are_404_out_of_scope(request, who, protocol, make_study, client_for):
    study = make_study()
    client = client_for(request.getfixturevalue(who))
    assert client.get(reverse("annotation:read-next", args=[protocol.pk])).status_code == 404
    assert client.get(reverse("annotation:read-study", args=[study.pk])).status_code == 404
    assert client.post(reverse("annotation:read-confirm", args=[study.pk]), _form(study)).status_code == 404


def test_anonymous_is_sent_to_login(protocol, make_study, client):
    study = make_study()
    response = client.get(reverse("annotation:read-study", args=[study.pk]))
    assert response.status_code == 302
    assert "/accounts/login/" in response.url


def test_confirm_rejects_get(protocol, radiologist, make_study, client_for):
    study = make_study()
    assert client_for(radiologist).get(reverse("annotation:read-confirm", args=[study.pk])).status_code == 405


def test_disagreement_shows_on_agreement_page_and_in_the_adjudication_queue(
    protocol, radiologist, reader2, curator, labels, make_study, client_for
):
    protocol.readers_per_study = 2
    protocol.save()
    study = make_study()
    field = f"label_{labels['Pneumothorax'].pk}"
    client_for(radiologist).post(reverse("annotation:read-confirm", args=[study.pk]), _form(study, **{field: "negative"}))
    study.refresh_from_db()
    client_for(reader2).post(reverse("annotation:read-confirm", args=[study.pk]), _form(study, **{field: "positive"}))
    study.refresh_from_db()
    assert study.review_state == ReviewState.ADJUDICATION
    curator_client = client_for(curator)
    agreement = curator_client.get(reverse("annotation:agreement", args=[protocol.pk])).content.decode()
    assert "Cohen&#x27;s kappa" in agreement or "Cohen's kappa" in agreement
    queue = curator_client.get(reverse("annotation:adjudication-queue", args=[protocol.pk])).content.decode()
    assert reverse("annotation:adjudication-study", args=[study.pk]) in queue
    page = curator_client.get(reverse("annotation:adjudication-study", args=[study.pk])).content.decode()
    assert "radiologist" in page
    assert "reader2" in page
    assert 'class="differs"' in page
    response = curator_client.post(reverse("annotation:adjudication-study", args=[study.pk]), _form(study, **{field: "positive"}))
    assert response.status_code == 302
    study.refresh_from_db()
    assert study.review_state == ReviewState.DONE
    # Readers never reach the adjudication pages.
    assert client_for(radiologist).get(reverse("annotation:adjudication-study", args=[study.pk])).status_code == 404
