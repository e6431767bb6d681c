from __future__ import annotations

import pytest

from annotation.engine import Labeler
from annotation.models import PhraseKind
from annotation.services.schemas import (
    labeler_for_schema,
    schema_import_yaml,
    schema_sync_builtin,
    schema_to_engine,
)
from tests.annotation.factories import LabelFactory, LabelSchemaFactory, PhraseFactory

pytestmark = pytest.mark.django_db


def test_it_passes_enabled_phrases_by_kind_disabled_ones_as_exclusions_and_precision_as_prior():
    label = LabelFactory(name="Bleed", schema=LabelSchemaFactory(name="ct-head"))
    PhraseFactory(label=label, text="hemorrhage", precision=0.8)
    PhraseFactory(label=label, text="bleed", enabled=False)
    PhraseFactory(label=label, text="bleeding diathesis", kind=PhraseKind.EXCLUSION)

    engine = schema_to_engine(label.schema)

    [spec] = engine.labels
    assert (spec.name, spec.phrases, spec.exclusions, spec.precision) == (
        "Bleed", ["hemorrhage"], ["bleeding diathesis", "bleed"], {"hemorrhage": 0.8}
    )


def test_disabling_a_phrase_changes_the_hash_and_what_is_found():
    schema = schema_import_yaml(text_or_path="name: ct-head\nlabels:\n  - name: Bleed\n    phrases: [hemorrhage, bleed]\n")
    before = schema_to_engine(schema)
    text = "FINDINGS: Small bleed in the left frontal lobe."
    assert "Bleed" in Labeler(before).label(text)

    schema.labels.get().phrases.filter(text="bleed").update(enabled=False)
    after = schema_to_engine(schema)

    assert after.phrase_set_hash() != before.phrase_set_hash()
    assert "Bleed" not in Labeler(after).label(text)


def test_a_user_named_label_gets_negation_uncertainty_inflection_and_typos():
    schema = schema_import_yaml(text_or_path="name: ct-head\nlabels:\n  - name: Midline Shift\n    phrases: [midline shift]\n")
    labeler = labeler_for_schema(schema_to_engine(schema))

    texts = [
        "FINDINGS: There is midline shift.",
        "FINDINGS: There is no midline shift.",
        "FINDINGS: Possible midline shift.",
        "FINDINGS: Midline shifts are seen.",
        "FINDINGS: There is midlne shift.",
    ]
    values = [result.get("Midline Shift").value if "Midline Shift" in result else None for result in labeler.label_many(texts)]

    assert values == ["positive", "negative", "uncertain", "positive", "positive"]


def test_the_builtin_schema_keeps_its_shipped_rules_and_matches_the_file_hash():
    from annotation.engine import load_builtin_schema

    schema = schema_sync_builtin()

    assert schema_to_engine(schema).phrase_set_hash() == load_builtin_schema("chexpert").phrase_set_hash()


def test_compiled_labelers_are_reused_for_the_same_phrase_set():
    schema = schema_import_yaml(text_or_path="name: ct-head\nlabels:\n  - name: Bleed\n    phrases: [hemorrhage]\n")

    assert labeler_for_schema(schema_to_engine(schema)) is labeler_for_schema(schema_to_engine(schema))
