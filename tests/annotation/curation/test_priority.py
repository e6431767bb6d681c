"""Phrase priority decides p: a reorder is a phrase-set change, previewed exactly, saved as a relabel."""
from __future__ import annotations

import random

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from annotation.models import Label, Phrase, PhraseChange, SoftLabel
from annotation.selectors.phrase_preview import phrase_preview
from annotation.services.phrases import (
    PhraseEdit,
    PhraseEditInvalid,
    engine_schema_after,
    phrase_change_save,
    phrase_edit_plan,
)
from annotation.services.schemas import schema_import_yaml, schema_to_engine
from annotation.tasks import relabel_protocol_task
from reports.models import Job, JobStatus
from tests.annotation.curation.conftest import make_corpus, relabel_as_job, snapshot

pytestmark = pytest.mark.django_db

PRIORITY = """\
name: priority-curation
labels:
  - name: Effusion
    phrases: [pleural effusion, fluid]
    precision: {pleural effusion: 0.95, fluid: 0.6}
  - name: Pneumothorax
    phrases: [pneumothorax]
"""

BOTH = "FINDINGS: Small left pleural effusion. Fluid in the minor fissure."
EFFUSION = "FINDINGS: Moderate pleural effusion."
FLUID = "FINDINGS: Fluid in the fissure."
TWICE = "FINDINGS: Pleural effusion on the left. Pleural effusion on the right."
NEGATED = "FINDINGS: No pleural effusion. Fluid in the fissure."
NORMAL = "FINDINGS: Lungs are clear. No pneumothorax."


@pytest.fixture
def labelled(protocol, make_reports):
    protocol.label_schema = schema_import_yaml(text_or_path=PRIORITY)
    protocol.save(update_fields=["label_schema"])
    reports = make_reports(protocol, BOTH, EFFUSION, FLUID, TWICE, NEGATED, NORMAL)
    relabel_as_job(protocol)
    return reports


def _p(report) -> float:
    return SoftLabel.objects.get(report=report, label__name="Effusion").p


def _effusion_p(protocol) -> dict[int, float]:
    return {study: row[1] for (study, label), row in snapshot(protocol).items() if label == "Effusion"}


def test_the_first_phrase_sets_p_and_a_reorder_changes_only_reports_with_both(protocol, curator, labelled):
    # Hand computation. Before: "pleural effusion" (0.95) ranks first. BOTH: 0.95 (not the
    # noisy-OR 1 - 0.05 * 0.4 = 0.98); TWICE: the same phrase twice, 1 - 0.05 ** 2 = 0.9975;
    # NEGATED: only the positive "fluid" competes, 0.6.
    both, effusion, fluid, twice, negated, _normal = labelled
    assert [_p(r) for r in (both, effusion, fluid, twice, negated)] == [0.95, 0.95, 0.6, 0.9975, 0.6]
    label = Label.objects.get(schema=protocol.label_schema, name="Effusion")
    fluid_phrase = Phrase.objects.get(label=label, text="fluid")
    plan = phrase_edit_plan(protocol=protocol, label=label, edit=PhraseEdit(order=(fluid_phrase.pk,)))
    old_schema = schema_to_engine(protocol.label_schema)

    preview = phrase_preview(protocol=protocol, old_schema=old_schema, new_schema=engine_schema_after(protocol=protocol, plan=plan))

    assert preview.hash_before != preview.hash_after
    assert preview.studies == [both.study_id]
    assert preview.transitions() == {"positive->positive": 1}
    [change] = preview.changes
    assert (change.before[1], change.after[1]) == (0.95, 0.6)
    # Only reports where both phrases whose order flipped appear were read (BOTH, NEGATED).
    assert preview.candidates == 2

    before = snapshot(protocol)
    saved = phrase_change_save(protocol=protocol, plan=plan, actor=curator, preview=preview.summary())
    relabel_as_job(protocol, saved.job)
    after = snapshot(protocol)

    assert sorted({k[0] for k in before.keys() | after.keys() if before.get(k) != after.get(k)}) == preview.studies
    # After: "fluid" (0.6) ranks first. BOTH: 0.6; the others keep theirs.
    assert [_p(r) for r in (both, effusion, fluid, twice, negated)] == [0.6, 0.95, 0.6, 0.9975, 0.6]
    assert (saved.hash_before, saved.hash_after) == (preview.hash_before, preview.hash_after)
    assert [r.after["order"] for r in saved.revisions.all() if r.phrase_id == fluid_phrase.pk] == [0]


def test_a_reorder_on_the_page_is_a_change_with_history_and_a_relabel(protocol, curator, labelled):
    label = Label.objects.get(schema=protocol.label_schema, name="Effusion")
    pleural, fluid = Phrase.objects.get(label=label, text="pleural effusion"), Phrase.objects.get(label=label, text="fluid")
    client = Client()
    client.force_login(curator)
    kwargs = {"protocol_id": protocol.pk, "label_id": label.pk}
    body = {f"priority_{pleural.pk}": "1", f"priority_{fluid.pk}": "0", "reason": "fluid is the surer phrase here"}

    preview = client.post(reverse("annotation:phrase-preview", kwargs=kwargs), body)
    assert preview.status_code == 200
    assert preview.context["preview"].studies == [labelled[0].study_id]

    saved = client.post(reverse("annotation:phrase-save", kwargs=kwargs), body)

    change = PhraseChange.objects.get()
    assert saved.status_code == 302
    assert change.hash_before != change.hash_after
    assert change.job.kind == "relabel"
    assert {r.phrase_id: (r.before["order"], r.after["order"]) for r in change.revisions.all()} == {
        fluid.pk: (1, 0), pleural.pk: (0, 1)
    }
    relabel_as_job(protocol, change.job)
    assert _effusion_p(protocol)[labelled[0].study_id] == 0.6
    history = client.get(reverse("annotation:phrase-table", kwargs=kwargs)).content.decode()
    assert "priority 1 → 0" in history


def test_the_api_previews_and_saves_a_reorder_by_text(protocol, curator, labelled):
    client = APIClient()
    client.force_authenticate(curator)
    body = {"label": "Effusion", "order": ["Fluid"]}

    preview = client.post(f"/api/v1/protocols/{protocol.pk}/phrase-preview/", body, format="json")

    assert preview.status_code == 200
    data = preview.json()
    assert data["studies"] == [labelled[0].study_id]
    assert data["transitions"] == {"positive->positive": 1}
    assert data["phrase_set_hash_before"] != data["phrase_set_hash_after"]

    before = snapshot(protocol)
    saved = client.post(f"/api/v1/protocols/{protocol.pk}/phrase-changes/", body, format="json")
    assert saved.status_code == 202
    relabel_protocol_task(saved.json()["job"])
    assert Job.objects.get(pk=saved.json()["job"]).status == JobStatus.SUCCEEDED
    after = snapshot(protocol)
    assert sorted({k[0] for k in before.keys() | after.keys() if before.get(k) != after.get(k)}) == data["studies"]


def test_an_unknown_phrase_in_the_order_is_a_400_naming_it_and_add_disable_still_work(protocol, curator, labelled):
    client = APIClient()
    client.force_authenticate(curator)
    url = f"/api/v1/protocols/{protocol.pk}/phrase-preview/"

    unknown = client.post(url, {"label": "Effusion", "order": ["fluid", "hydrothorax"]}, format="json")
    unchanged = client.post(url, {"label": "Effusion", "order": ["pleural effusion"]}, format="json")
    plain = client.post(url, {"label": "Effusion", "add": ["effusion"], "disable": ["fluid"]}, format="json")

    assert unknown.status_code == 400
    assert unknown.json()["unknown"] == ["hydrothorax"]
    assert unchanged.status_code == 400  # already first: the edit changes nothing
    assert plain.status_code == 200


def test_order_by_id_and_by_text_together_is_refused(protocol, labelled):
    label = Label.objects.get(schema=protocol.label_schema, name="Effusion")
    fluid = Phrase.objects.get(label=label, text="fluid")

    with pytest.raises(PhraseEditInvalid, match="not both"):
        phrase_edit_plan(protocol=protocol, label=label, edit=PhraseEdit(order=(fluid.pk,), order_texts=("fluid",)))


def test_the_phrase_set_hash_changes_with_the_order_and_back(protocol, labelled):
    label = Label.objects.get(schema=protocol.label_schema, name="Effusion")
    pleural = Phrase.objects.get(label=label, text="pleural effusion")
    before = schema_to_engine(protocol.label_schema).phrase_set_hash()

    Phrase.objects.filter(pk=pleural.pk).update(order=5)  # now after "fluid" (order 1)
    reordered = schema_to_engine(protocol.label_schema).phrase_set_hash()
    Phrase.objects.filter(pk=pleural.pk).update(order=pleural.order)

    assert reordered != before
    assert schema_to_engine(protocol.label_schema).phrase_set_hash() == before


def test_preview_equals_relabel_over_random_reorders_with_measured_precisions(chest_protocol, curator):
    rng = random.Random(88)
    make_corpus(chest_protocol, 240, seed=88)
    schema = chest_protocol.label_schema
    # Distinct precisions, so whichever phrase ranks first shows in p.
    for phrase in Phrase.objects.filter(label__schema=schema):
        phrase.precision = round(rng.uniform(0.4, 0.99), 2)
        phrase.save(update_fields=["precision"])
    relabel_as_job(chest_protocol)
    labels = [label for label in schema.labels.all() if label.phrases.count() > 1]
    moved = 0
    for step in range(8):
        label = rng.choice(labels)
        ids = list(label.phrases.values_list("pk", flat=True))
        rng.shuffle(ids)
        try:
            plan = phrase_edit_plan(protocol=chest_protocol, label=label, edit=PhraseEdit(order=tuple(ids)))
        except PhraseEditInvalid:  # the shuffle kept the order
            continue
        preview = phrase_preview(
            protocol=chest_protocol, old_schema=schema_to_engine(schema),
            new_schema=engine_schema_after(protocol=chest_protocol, plan=plan),
        )
        before = snapshot(chest_protocol)
        change = phrase_change_save(protocol=chest_protocol, plan=plan, actor=curator, preview=preview.summary())
        relabel_as_job(chest_protocol, change.job)
        after = snapshot(chest_protocol)
        studies = sorted({k[0] for k in before.keys() | after.keys() if before.get(k) != after.get(k)})

        assert preview.studies == studies, f"step {step}"
        assert set(preview.transitions()) <= {"positive->positive", "negative->negative", "uncertain->uncertain"}
        assert preview.candidates < preview.reports
        moved += bool(studies)
    assert moved >= 3
