"""The relabel job page after "Save and relabel": the change, the way back, and what it changed."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from annotation.apps import RELABEL_JOB
from annotation.job_summaries import revision_text
from annotation.models import Label, PhraseChange
from reports.models import Job
from tests.annotation.curation.conftest import relabel_as_job, snapshot

pytestmark = pytest.mark.django_db

BLEED = "FINDINGS: Acute subdural bleed. No midline shift."
HEMATOMA = "FINDINGS: Small hematoma. Another hematoma on the right. No hemorrhage."
CLOT = "FINDINGS: Clot in the left frontal lobe."


@pytest.fixture
def phrases_url(ct_protocol, make_reports) -> str:
    make_reports(ct_protocol, BLEED, HEMATOMA, CLOT)
    relabel_as_job(ct_protocol)
    label = Label.objects.get(schema=ct_protocol.label_schema, name="Hemorrhage")
    return reverse("annotation:phrase-table", kwargs={"protocol_id": ct_protocol.pk, "label_id": label.pk})


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _save_url(phrases_url: str) -> str:
    return f"{phrases_url}save/"  # annotation:phrase-save sits under the phrase page


def _changed(before: dict, after: dict) -> int:
    return sum(before.get(key) != after.get(key) for key in before.keys() | after.keys())


def test_the_job_page_names_the_change_links_back_and_counts_once_done(ct_protocol, curator, phrases_url):
    client = _client(curator)
    saved = client.post(_save_url(phrases_url), {"add": "clot", "disable": ["bleed"], "reason": "clots are bleeds"})
    change = PhraseChange.objects.get()
    assert saved["Location"] == reverse("reports:job-detail", args=[change.job_id])

    queued = client.get(saved["Location"])
    body = queued.content.decode()
    assert f"Phrase change {change.pk} on Hemorrhage: added “clot”; disabled “bleed”." in body
    assert f'href="{phrases_url}"' in body
    assert f'href="{phrases_url}#history"' in body
    assert "Soft labels changed" not in body  # nothing to count before the job has run
    assert "subdural" not in body  # phrase texts only, never report text

    before = snapshot(ct_protocol)
    relabel_as_job(ct_protocol, job=change.job)
    changed = _changed(before, snapshot(ct_protocol))
    assert changed >= 2  # "bleed" no longer fires, "clot" now does

    done = client.get(saved["Location"])
    assert dict(done.context["summary"].counts) == {"Soft labels changed": changed, "Reports read": 3}
    polled = client.get(saved["Location"], headers={"HX-Request": "true"}).content.decode()
    assert "Soft labels changed" in polled  # the last poll shows it without a reload
    assert f"<td>{changed}</td>" in polled


def test_a_revert_says_which_change_it_reverts(ct_protocol, curator, phrases_url):
    client = _client(curator)
    client.post(_save_url(phrases_url), {"add": "clot"})
    change = PhraseChange.objects.get()
    relabel_as_job(ct_protocol, job=change.job)
    reverted = client.post(reverse("annotation:phrase-revert", kwargs={"protocol_id": ct_protocol.pk, "change_id": change.pk}))

    body = client.get(reverted["Location"]).content.decode()
    revert = PhraseChange.objects.get(revert_of=change)
    assert f"Revert {revert.pk} of change {change.pk} on Hemorrhage: removed “clot”." in body


def test_a_relabel_without_a_phrase_change_has_no_links_but_its_counts(ct_protocol, curator, make_reports):
    make_reports(ct_protocol, HEMATOMA)
    job = Job.objects.create(kind=RELABEL_JOB, protocol=ct_protocol)
    before = snapshot(ct_protocol)
    relabel_as_job(ct_protocol, job=job)
    changed = _changed(before, snapshot(ct_protocol))

    response = _client(curator).get(reverse("reports:job-detail", args=[job.pk]))
    assert response.context["summary"].links == ()
    assert changed > 0
    assert dict(response.context["summary"].counts)["Soft labels changed"] == changed


def test_revisions_read_as_words():
    before = {"text": "bleed", "kind": "mention", "enabled": True, "order": 2}
    assert revision_text(before, {**before, "order": 0}) == "moved “bleed” from priority 2 to 0"
    assert revision_text(before, {**before, "text": "bleeding"}) == "renamed “bleed” to “bleeding”"
    assert revision_text(before, {**before, "enabled": False}) == "disabled “bleed”"
    # Disabling a phrase the engine infers stores it as a new, disabled row.
    assert revision_text(None, {**before, "enabled": False}) == "disabled “bleed”"
    assert revision_text(None, before) == "added “bleed”"
    assert revision_text(before, None) == "removed “bleed”"
