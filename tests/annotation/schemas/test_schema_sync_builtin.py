from __future__ import annotations

import pytest

from annotation.engine import load_builtin_schema
from annotation.models import Label, LabelSchema, Phrase, PhraseKind
from annotation.services.schemas import PALETTE, schema_for_protocol, schema_sync_builtin

pytestmark = pytest.mark.django_db

CHEXPERT_LABELS = [
    "No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Lesion", "Lung Opacity", "Edema",
    "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion", "Pleural Other",
    "Fracture", "Support Devices",
]


def test_it_stores_the_14_chexpert_labels_in_order_with_distinct_colours():
    schema = schema_sync_builtin()

    labels = list(schema.labels.order_by("order"))
    assert schema.builtin is True
    assert [label.name for label in labels] == CHEXPERT_LABELS
    colours = [label.color for label in labels]
    assert len(set(colours)) == 14
    assert set(colours) <= set(PALETTE)


def test_it_stores_mentions_and_exclusions_of_the_shipped_file():
    schema = schema_sync_builtin()
    shipped = {spec.name: spec for spec in load_builtin_schema("chexpert").labels}

    effusion = schema.labels.get(name="Pleural Effusion")
    mentions = set(effusion.phrases.filter(kind=PhraseKind.MENTION).values_list("text", flat=True))
    exclusions = set(effusion.phrases.filter(kind=PhraseKind.EXCLUSION).values_list("text", flat=True))
    assert mentions == set(shipped["Pleural Effusion"].phrases)
    assert exclusions == set(shipped["Pleural Effusion"].exclusions)


def test_running_it_twice_changes_nothing():
    schema_sync_builtin()
    counts = (LabelSchema.objects.count(), Label.objects.count(), Phrase.objects.count())

    again = schema_sync_builtin()

    assert (LabelSchema.objects.count(), Label.objects.count(), Phrase.objects.count()) == counts
    assert again.builtin is True


def test_it_keeps_a_curators_disabled_phrase_disabled_and_restores_a_deleted_one():
    schema = schema_sync_builtin()
    effusion = schema.labels.get(name="Pleural Effusion")
    effusion.phrases.filter(text="effusion", kind=PhraseKind.MENTION).update(enabled=False)
    effusion.phrases.filter(text="hydrothorax").delete()

    schema_sync_builtin()

    assert effusion.phrases.get(text="effusion", kind=PhraseKind.MENTION).enabled is False
    assert effusion.phrases.filter(text="hydrothorax", enabled=True).exists()


def test_a_protocol_without_a_schema_gets_the_builtin_chexpert(protocol):
    assert not LabelSchema.objects.exists()

    schema = schema_for_protocol(protocol)

    assert (schema.name, schema.builtin) == ("chexpert", True)
    assert schema_for_protocol(protocol).pk == schema.pk


def test_a_protocol_with_a_schema_gets_its_own(protocol):
    from tests.annotation.factories import LabelSchemaFactory

    own = LabelSchemaFactory(name="ct-head")
    protocol.label_schema = own
    protocol.save()

    assert schema_for_protocol(protocol) == own
    assert not LabelSchema.objects.filter(name="chexpert").exists()
