"""The preview predicts exactly the soft labels the relabel then changes, over random phrase edits."""
from __future__ import annotations

import random
from collections import Counter

import pytest

from annotation.models import Label, Phrase, PhraseChange, PhraseKind
from annotation.selectors.phrase_preview import phrase_preview
from annotation.selectors.phrases import DISABLEABLE_SOURCES, label_inferred_phrases
from annotation.services.phrases import (
    PhraseEdit,
    PhraseEditConflict,
    PhraseEditInvalid,
    engine_schema_after,
    phrase_change_save,
    phrase_edit_plan,
    phrase_revert_plan,
)
from annotation.services.schemas import schema_for_protocol, schema_to_engine
from tests.annotation.curation.conftest import make_corpus, relabel_as_job, snapshot

pytestmark = pytest.mark.django_db

ADDS = [
    "effusions", "collapse", "opacity", "airspace opacity", "nodule", "mass", "fracture", "vascular congestion",
    "cardiac silhouette", "enlarged", "clear", "atelectatic", "pneumothoraces", "consolidaton", "pleural",
    "heart size", "infiltrate", "edematous", "lung", "rib fracture", "density", "congestion", "oedema",
]


def _diff(before: dict, after: dict) -> tuple[set[int], Counter]:
    studies: set[int] = set()
    transitions: Counter = Counter()
    for key in before.keys() | after.keys():
        old, new = before.get(key), after.get(key)
        if old != new:
            studies.add(key[0])
            transitions[f"{old[0] if old else 'absent'}->{new[0] if new else 'absent'}"] += 1
    return studies, transitions


def _random_edit(rng: random.Random, label: Label, engine_schema) -> PhraseEdit:
    mentions = list(Phrase.objects.filter(label=label, kind=PhraseKind.MENTION))
    enabled = [p.text for p in mentions if p.enabled]
    disabled = [p.text for p in mentions if not p.enabled]
    inferred = [t for t, s in label_inferred_phrases(engine_schema, label.name).items() if s in DISABLEABLE_SOURCES]
    kind = rng.choice(["add", "add", "disable", "disable_inferred", "enable", "rename", "add_disable", "reorder"])
    if kind == "add":
        return PhraseEdit(add=(rng.choice(ADDS),))
    if kind == "disable" and enabled:
        return PhraseEdit(disable=(rng.choice(enabled),))
    if kind == "disable_inferred" and inferred:
        return PhraseEdit(disable=(rng.choice(inferred),))
    if kind == "enable" and disabled:
        return PhraseEdit(enable=(rng.choice(disabled),))
    if kind == "rename" and mentions:
        return PhraseEdit(rename=((rng.choice(mentions).pk, rng.choice(ADDS)),))
    if kind == "reorder" and len(mentions) > 1:
        ids = [p.pk for p in mentions]
        rng.shuffle(ids)
        return PhraseEdit(order=tuple(ids))
    adds = tuple(rng.sample(ADDS, k=2))
    return PhraseEdit(add=adds, disable=(rng.choice(enabled),) if enabled else ())


def test_preview_equals_relabel_over_random_edits(chest_protocol, curator):
    rng = random.Random(8)
    reports = make_corpus(chest_protocol, 360, seed=8)
    relabel_as_job(chest_protocol)
    schema = schema_for_protocol(chest_protocol)
    labels = list(schema.labels.all())
    checked = nonzero = 0
    for step in range(22):
        if step == 7:
            # A report edited since the last relabel is stale: the relabel rewrites it whatever
            # the edit, so the preview must list it too.
            report = reports[3]
            report.text = "FINDINGS: Large right pneumothorax. Small effusion."
            report.save()
        label = rng.choice(labels)
        current = schema_to_engine(schema)
        reverts = list(PhraseChange.objects.filter(reverted_by__isnull=True, label__schema=schema))
        try:
            if step % 6 == 5 and reverts:
                plan = phrase_revert_plan(change=rng.choice(reverts))
            else:
                plan = phrase_edit_plan(protocol=chest_protocol, label=label, edit=_random_edit(rng, label, current))
        except (PhraseEditInvalid, PhraseEditConflict):
            continue
        preview = phrase_preview(
            protocol=chest_protocol, old_schema=current, new_schema=engine_schema_after(protocol=chest_protocol, plan=plan)
        )
        before = snapshot(chest_protocol)
        change = phrase_change_save(protocol=chest_protocol, plan=plan, actor=curator, preview=preview.summary())
        relabel_as_job(chest_protocol, change.job)
        studies, transitions = _diff(before, snapshot(chest_protocol))

        assert preview.studies == sorted(studies), f"step {step}: {plan.revisions}"
        assert preview.transitions() == dict(transitions), f"step {step}"
        assert preview.candidates <= preview.reports
        checked += 1
        nonzero += bool(studies)
    assert checked >= 15
    assert nonzero >= 8
