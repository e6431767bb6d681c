"""Issue 8's API check, end to end on the demo data, as the acceptance check walks it.

The curator reads every study's soft labels through the study API, previews a phrase edit, saves
it, follows the relabel job and reads the soft labels again: the studies whose soft labels changed
must be exactly the preview's `studies`. Disabling "effusion" on the demo corpus also moves the
evidence of studies that keep their value and p through "pleural effusion": the study API shows
no change there, so they must not be in `studies` (they are listed in `evidence_only`).
"""
from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from annotation.tasks import relabel_protocol_task
from config.demo.seed import DEMO_IRB
from reports.models import Protocol

pytestmark = pytest.mark.django_db

PASSWORD = "acceptance-demo-password"
EDIT = {"label": "Pleural Effusion", "add": ["pleural collection"], "disable": ["effusion"]}


@pytest.fixture
def demo(settings, tmp_path, monkeypatch) -> Protocol:
    settings.VAR_DIR = tmp_path
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    call_command("seed_demo", stdout=io.StringIO())
    return Protocol.objects.get(irb_number=DEMO_IRB)


def _client(username: str) -> APIClient:
    client = APIClient()
    answer = client.post("/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json")
    assert answer.status_code == 200, answer.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {answer.json()['token']}")
    return client


def _soft_labels(client: APIClient) -> dict[int, dict[str, Any]]:
    """Every visible study's soft labels, read as a client would: the paged list, then each detail."""
    ids: list[int] = []
    url: str | None = "/api/v1/studies/"
    while url:
        page = client.get(url)
        assert page.status_code == 200
        ids += [row["id"] for row in page.json()["results"]]
        url = page.json()["next"]
    return {pk: client.get(f"/api/v1/studies/{pk}/").json()["soft_labels"] for pk in ids}


def test_the_studies_whose_soft_labels_change_are_exactly_the_previewed_ones(demo):
    curator = _client("curator")
    before = _soft_labels(curator)
    assert len(before) == 300

    preview = curator.post(f"/api/v1/protocols/{demo.pk}/phrase-preview/", EDIT, format="json")
    assert preview.status_code == 200
    data = preview.json()
    saved = curator.post(f"/api/v1/protocols/{demo.pk}/phrase-changes/", EDIT, format="json")
    assert saved.status_code == 202
    relabel_protocol_task(saved.json()["job"])
    job = curator.get(f"/api/v1/jobs/{saved.json()['job']}/").json()
    assert job["status"] == "succeeded"

    after = _soft_labels(curator)
    changed = sorted(pk for pk in after if after[pk] != before[pk])
    assert changed == data["studies"]
    assert data["changed"] == len(changed) > 0
    moved = [
        (before[pk].get(name, {}).get("value", "absent"), after[pk].get(name, {}).get("value", "absent"))
        for pk in changed for name in before[pk].keys() | after[pk].keys()
        if before[pk].get(name) != after[pk].get(name)
    ]
    assert sum(data["transitions"].values()) == len(moved)
    # The demo edit does move evidence alone somewhere; those studies are named, but apart.
    assert data["evidence_only"]
    assert not set(data["evidence_only"]) & set(changed)


def test_the_api_refuses_unknown_names_radiologists_and_other_protocols(demo):
    curator = _client("curator")
    url = f"/api/v1/protocols/{demo.pk}"

    unknown_label = curator.post(f"{url}/phrase-preview/", {**EDIT, "label": "No Such Label"}, format="json")
    unknown_phrase = curator.post(f"{url}/phrase-changes/", {**EDIT, "disable": ["zzqx"]}, format="json")
    radiologist = _client("radiologist").post(f"{url}/phrase-changes/", EDIT, format="json")
    elsewhere = curator.post(f"/api/v1/protocols/{demo.pk + 1}/phrase-changes/", EDIT, format="json")

    assert unknown_label.status_code == 400
    assert unknown_label.json()["unknown"] == ["No Such Label"]
    assert unknown_phrase.status_code == 400
    assert "zzqx" in unknown_phrase.json()["detail"]
    assert radiologist.status_code == 403
    assert elsewhere.status_code == 404
