"""The phrase API: table, exact preview, save as a relabel job; curators only (403), scoped (404)."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from annotation.models import Phrase, PhraseChange
from annotation.tasks import relabel_protocol_task
from reports.models import AccessEvent, Job, JobStatus
from tests.annotation.curation.conftest import relabel_as_job, snapshot

pytestmark = pytest.mark.django_db

BLEED = "FINDINGS: Acute subdural bleed over the left convexity. No midline shift."
HEMATOMA = "FINDINGS: Small hematoma. There is 3 mm midline shift."
NORMAL = "FINDINGS: Normal CT of the head."
CLOT = "FINDINGS: Clot in the left frontal lobe."


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _url(protocol, what: str) -> str:
    return f"/api/v1/protocols/{protocol.pk}/{what}/"


@pytest.fixture
def labelled(ct_protocol, make_reports):
    reports = make_reports(ct_protocol, BLEED, HEMATOMA, NORMAL, CLOT)
    relabel_as_job(ct_protocol)
    return reports


def test_phrases_list_gives_every_phrase_that_can_fire_with_hits(ct_protocol, curator, labelled):
    response = api(curator).get(_url(ct_protocol, "phrases"), {"label": "Hemorrhage"})

    assert response.status_code == 200
    rows = {row["text"]: row for row in response.json()}
    assert rows["hematoma"]["source"] == "schema"
    assert rows["hematoma"]["hits"] == 1
    assert rows["hematoma"]["reports"] == 1
    assert rows["hematoma"]["id"] == Phrase.objects.get(text="hematoma").pk
    assert rows["bleed"]["source"] in {"synonym", "implied", "abbreviation"}
    assert rows["bleed"]["id"] is None
    assert set(rows["hemorrhage"]["precision"]) == {"estimate", "low", "high", "judged"}
    assert rows["hemorrhage"]["precision"]["judged"] == 0


def test_preview_then_save_changes_exactly_the_previewed_studies(ct_protocol, curator, labelled):
    body = {"label": "Hemorrhage", "add": ["clot"], "disable": ["bleed"]}
    preview = api(curator).post(_url(ct_protocol, "phrase-preview"), body, format="json")

    assert preview.status_code == 200
    data = preview.json()
    clot_study, bleed_study = labelled[3].study_id, labelled[0].study_id
    assert data["studies"] == sorted([bleed_study, clot_study])
    assert data["changed"] == 2
    assert data["transitions"] == {"absent->positive": 1, "positive->absent": 1}
    assert data["elapsed_ms"] >= 0

    before = snapshot(ct_protocol)
    saved = api(curator).post(_url(ct_protocol, "phrase-changes"), {**body, "reason": "clots are bleeds"}, format="json")
    assert saved.status_code == 202
    job = Job.objects.get(pk=saved.json()["job"])
    relabel_protocol_task(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    after = snapshot(ct_protocol)
    assert sorted({key[0] for key in before.keys() | after.keys() if before.get(key) != after.get(key)}) == data["studies"]
    change = PhraseChange.objects.get(pk=saved.json()["change"])
    assert change.job_id == job.pk
    assert change.reason == "clots are bleeds"
    assert AccessEvent.objects.filter(action="phrase.change", object_id=str(change.pk)).count() == 1


def test_unknown_label_or_phrase_is_a_400_naming_it(ct_protocol, curator, labelled):
    unknown_label = api(curator).post(_url(ct_protocol, "phrase-preview"), {"label": "Fracture", "add": ["x"]}, format="json")
    assert unknown_label.status_code == 400
    assert unknown_label.json()["unknown"] == ["Fracture"]
    unknown_phrase = api(curator).post(
        _url(ct_protocol, "phrase-preview"), {"label": "Hemorrhage", "disable": ["no such words"]}, format="json"
    )
    assert unknown_phrase.status_code == 400
    assert unknown_phrase.json()["unknown"] == ["no such words"]
    assert "no such words" in unknown_phrase.json()["detail"]
    assert api(curator).get(_url(ct_protocol, "phrases"), {"label": "Nope"}).status_code == 400


@pytest.mark.parametrize("who", ["radiologist", "scientist"])
def test_other_roles_on_the_protocol_are_refused_with_403(request, ct_protocol, labelled, who):
    user = request.getfixturevalue(who)
    body = {"label": "Hemorrhage", "add": ["clot"]}

    assert api(user).post(_url(ct_protocol, "phrase-changes"), body, format="json").status_code == 403
    assert api(user).post(_url(ct_protocol, "phrase-preview"), body, format="json").status_code == 403
    assert api(user).get(_url(ct_protocol, "phrases"), {"label": "Hemorrhage"}).status_code == 403
    assert not Phrase.objects.filter(text="clot").exists()
    assert not PhraseChange.objects.exists()


def test_curators_of_another_protocol_get_404(ct_protocol, other_protocol, labelled):
    from reports.models import Role
    from tests.reports.factories import MembershipFactory

    stranger = MembershipFactory(protocol=other_protocol, role=Role.CURATOR).user
    body = {"label": "Hemorrhage", "add": ["clot"]}

    assert api(stranger).post(_url(ct_protocol, "phrase-changes"), body, format="json").status_code == 404
    assert api(stranger).post(_url(ct_protocol, "phrase-preview"), body, format="json").status_code == 404
    assert api(stranger).get(_url(ct_protocol, "phrases"), {"label": "Hemorrhage"}).status_code == 404
    assert api().post(_url(ct_protocol, "phrase-changes"), body, format="json").status_code == 401


def test_a_save_while_a_relabel_runs_is_a_409_and_saves_nothing(ct_protocol, curator, labelled):
    Job.objects.create(kind="relabel", protocol=ct_protocol, status=JobStatus.RUNNING)

    response = api(curator).post(_url(ct_protocol, "phrase-changes"), {"label": "Hemorrhage", "add": ["clot"]}, format="json")

    assert response.status_code == 409
    assert not Phrase.objects.filter(text="clot").exists()
    assert not PhraseChange.objects.exists()


def test_study_detail_carries_its_soft_labels_for_every_member(ct_protocol, radiologist, labelled):
    response = api(radiologist).get(f"/api/v1/studies/{labelled[1].study_id}/")

    assert response.status_code == 200
    soft = response.json()["soft_labels"]
    assert set(soft) == {"Hemorrhage", "Midline Shift"}
    assert soft["Hemorrhage"]["value"] == "positive"
    assert 0.0 <= soft["Hemorrhage"]["p"] <= 1.0
    assert api(radiologist).get(f"/api/v1/studies/{labelled[2].study_id}/").json()["soft_labels"] == {}
