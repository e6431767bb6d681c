"""One notation for transitions on the phrase page (the API keeps its "absent->positive" keys)."""
from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from annotation.models import Label
from tests.annotation.curation.conftest import relabel_as_job

pytestmark = pytest.mark.django_db

CLOT = "FINDINGS: Clot in the left frontal lobe."
HEMATOMA = "FINDINGS: Small hematoma."


def test_the_preview_table_and_sample_write_transitions_with_one_arrow(ct_protocol, curator, make_reports):
    make_reports(ct_protocol, CLOT, HEMATOMA)
    relabel_as_job(ct_protocol)
    label = Label.objects.get(schema=ct_protocol.label_schema, name="Hemorrhage")
    client = Client()
    client.force_login(curator)

    url = reverse("annotation:phrase-preview", kwargs={"protocol_id": ct_protocol.pk, "label_id": label.pk})
    panel = client.post(url, {"add": "clot"}, headers={"HX-Request": "true"}).content.decode()

    assert "<td>absent → positive</td>" in panel  # the table
    assert re.search(r"Hemorrhage: absent → positive \(\d\.\d\d\)", panel)  # the sample
    assert "-&gt;" not in panel

    api = APIClient()
    api.force_authenticate(curator)
    answer = api.post(f"/api/v1/protocols/{ct_protocol.pk}/phrase-preview/", {"label": "Hemorrhage", "add": ["clot"]}, format="json")
    assert answer.json()["transitions"] == {"absent->positive": 1}
