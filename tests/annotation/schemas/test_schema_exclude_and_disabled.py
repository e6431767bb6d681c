from __future__ import annotations

import pytest

from annotation.engine import Labeler, schema_inferred_phrases
from annotation.models import Phrase, PhraseKind
from annotation.services.schemas import schema_import_yaml, schema_to_engine

pytestmark = pytest.mark.django_db

SKULL = """\
name: ct-head-exclude
labels:
  - name: Skull Fracture
    phrases: [fracture]
    exclude: [rib fracture, fracture of the femur]
  - name: Intracranial Hemorrhage
    phrases: [hemorrhage]
    exclude: [subgaleal hemorrhage]
"""


def test_it_imports_exclude_phrases_as_exclusions_and_the_engine_honours_them():
    schema = schema_import_yaml(text_or_path=SKULL)

    rows = set(Phrase.objects.filter(label__schema=schema).values_list("label__name", "text", "kind"))
    assert ("Skull Fracture", "rib fracture", PhraseKind.EXCLUSION) in rows
    assert ("Skull Fracture", "fracture of the femur", PhraseKind.EXCLUSION) in rows
    assert ("Intracranial Hemorrhage", "subgaleal hemorrhage", PhraseKind.EXCLUSION) in rows
    labeler = Labeler(schema_to_engine(schema))
    assert labeler.label("Right rib fracture. Large subgaleal hemorrhage.") == {}
    assert labeler.label("Occipital bone fracture.")["Skull Fracture"].value == "positive"


def test_a_disabled_phrase_row_switches_off_the_inferred_term_with_its_text():
    schema = schema_import_yaml(text_or_path=SKULL)
    text = "FINDINGS: Small SAH in the left sylvian fissure."
    assert Labeler(schema_to_engine(schema)).label(text)["Intracranial Hemorrhage"].value == "positive"
    label = schema.labels.get(name="Intracranial Hemorrhage")
    Phrase.objects.create(label=label, text="sah", kind=PhraseKind.MENTION, enabled=False)

    engine = schema_to_engine(schema)

    assert engine.labels[1].disabled == ["sah"]
    assert Labeler(engine).label(text) == {}
    sah = next(r for r in schema_inferred_phrases(engine) if r["text"] == "sah")
    assert (sah["source"], sah["enabled"]) == ("abbreviation", False)
    assert Labeler(engine).label("Subarachnoid hemorrhage.")["Intracranial Hemorrhage"].value == "positive"


def test_a_disabled_inferred_exclusion_stored_as_an_exclusion_row_lets_the_mention_count():
    schema = schema_import_yaml(text_or_path="name: ct-mass\nlabels:\n  - name: Mass\n    phrases: [mass]\n")
    text = "FINDINGS: Mild mass effect."
    assert Labeler(schema_to_engine(schema)).label(text) == {}
    Phrase.objects.create(label=schema.labels.get(), text="mass effect", kind=PhraseKind.EXCLUSION, enabled=False)

    assert Labeler(schema_to_engine(schema)).label(text)["Mass"].value == "positive"
