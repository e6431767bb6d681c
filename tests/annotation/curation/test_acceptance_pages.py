"""What issue 8's walk-through found on the curator's pages and the preview, each fixed here."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from annotation.models import Label
from annotation.tasks import relabel_protocol_task
from tests.annotation.curation.conftest import relabel_as_job

pytestmark = pytest.mark.django_db

BOTH = "FINDINGS: Acute hemorrhage. Large hematoma on the right."
HEMATOMA = "FINDINGS: Small hematoma."


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def hemorrhage(ct_protocol, make_reports) -> tuple[Label, list[int]]:
    reports = make_reports(ct_protocol, BOTH, HEMATOMA)
    relabel_as_job(ct_protocol)
    return Label.objects.get(schema=ct_protocol.label_schema, name="Hemorrhage"), [r.study_id for r in reports]


@pytest.mark.parametrize("page", ["matches", "quality", "calibration", "review"])
def test_the_label_pickers_comment_is_not_printed(ct_protocol, curator, hemorrhage, page):
    label, _ = hemorrhage
    html = _client(curator).get(reverse(f"annotation:{page}", args=[ct_protocol.pk]), {"label": label.pk}).content.decode()

    assert "{#" not in html
    assert "label picker" not in html


def test_a_phrase_with_hits_links_to_its_matches_and_an_unjudged_one_says_so(ct_protocol, curator, radiologist, hemorrhage):
    label, _ = hemorrhage
    url = reverse("annotation:phrase-table", args=[ct_protocol.pk, label.pk])
    matches = f"{reverse('annotation:matches', args=[ct_protocol.pk])}?label={label.pk}&amp;phrase=hematoma"

    as_curator = _client(curator).get(url).content.decode()
    as_radiologist = _client(radiologist).get(url).content.decode()

    assert matches in as_curator
    assert matches not in as_radiologist  # matches in context are the curators' page
    # Nothing is judged yet: no full-width "interval" bar that reads as a sure precision.
    assert "not judged" in as_curator
    assert "interval-bar" not in as_curator


def test_a_change_of_evidence_alone_is_listed_apart_from_the_changed_studies(ct_protocol, curator, hemorrhage):
    label, (both, hematoma_only) = hemorrhage
    body = {"label": "Hemorrhage", "disable": ["hematoma"]}
    api = APIClient()
    api.force_authenticate(curator)
    detail = "/api/v1/studies/{}/"
    before = {pk: api.get(detail.format(pk)).json()["soft_labels"] for pk in (both, hematoma_only)}

    preview = api.post(f"/api/v1/protocols/{ct_protocol.pk}/phrase-preview/", body, format="json").json()
    page = _client(curator).post(
        reverse("annotation:phrase-preview", args=[ct_protocol.pk, label.pk]), {"disable": ["hematoma"]}
    ).content.decode()
    saved = api.post(f"/api/v1/protocols/{ct_protocol.pk}/phrase-changes/", body, format="json")
    relabel_protocol_task(saved.json()["job"])
    after = {pk: api.get(detail.format(pk)).json()["soft_labels"] for pk in (both, hematoma_only)}

    # "hemorrhage" still makes the first study positive with the same p; only its evidence moves.
    assert after[both] == before[both]
    assert after[hematoma_only] != before[hematoma_only]
    assert preview["studies"] == [hematoma_only]
    assert preview["changed"] == 1
    assert preview["transitions"] == {"positive->absent": 1}
    assert preview["evidence_only"] == [both]
    assert "<strong>1</strong> study would change" in page
    assert "1</strong> more only cite other evidence" in page
    assert "positive → positive (evidence only)" in page
