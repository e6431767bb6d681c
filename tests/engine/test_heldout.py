"""Held-out report sets (written without reading the rules) and the radiology lexicon."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from annotation.engine import Labeler, load_builtin_schema, load_schema_yaml
from annotation.engine.lexicon import expansions
from annotation.engine.schema import schema_from_dict

DATA = Path(__file__).parent / "data"
_spec = importlib.util.spec_from_file_location("evaluate_engine", DATA.parents[2] / "scripts" / "evaluate_engine.py")
evaluate_engine = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(evaluate_engine)

SETS = [
    ("heldout_chest.jsonl", "chexpert"),
    ("heldout2_chest.jsonl", "chexpert"),
    ("heldout_head_ct.jsonl", "heldout_head_ct_schema.yaml"),
    ("heldout2_head_ct.jsonl", "heldout2_head_ct_schema.yaml"),
    # round 3: a second author (different templates, structured "Lungs: / Pleura:" reports)
    ("heldout3_chest.jsonl", "chexpert"),
    ("heldout3_head_ct.jsonl", "heldout3_head_ct_schema.yaml"),
]


@pytest.mark.parametrize(("cases", "schema_name"), SETS)
def test_heldout_set_meets_accuracy_targets(cases: str, schema_name: str) -> None:
    schema = load_builtin_schema("chexpert") if schema_name == "chexpert" else load_schema_yaml(str(DATA / schema_name))
    names = schema.label_names()
    scores = evaluate_engine.score_heldout(DATA / cases, Labeler(schema), names)
    assert scores["weighted_f1"] >= 0.95, scores["errors"]
    assert scores["mention_f1"] >= 0.95, scores["errors"]
    assert scores["uncertain_f1"] >= 0.9, scores["errors"]


def _schema(labels: dict[str, list[str]]) -> Labeler:
    return Labeler(schema_from_dict({"name": "t", "labels": [{"name": k, "phrases": v} for k, v in labels.items()]}))


def test_abbreviation_follows_a_phrase_inside_its_expansion() -> None:
    labeler = _schema({"Bleed": ["hemorrhage"], "Shift": ["midline shift"]})
    assert labeler.label("Small SAH in the left sylvian fissure.")["Bleed"].value == "positive"
    assert labeler.label("No IVH.")["Bleed"].value == "negative"
    assert "Bleed" not in labeler.label("Small PTX.")


def test_term_named_by_another_label_is_not_borrowed() -> None:
    schema = schema_from_dict({"name": "t", "labels": [
        {"name": "Mass Effect", "phrases": ["mass effect"]},
        {"name": "Herniation", "phrases": ["herniation"]},
    ]})
    added = {(label, phrase) for _kind, label, phrase in expansions(schema)}
    assert ("Mass Effect", "herniation") not in added
    assert ("Mass Effect", "effacement") in added


def test_mass_is_not_mass_effect_and_scalp_hematoma_is_not_intracranial() -> None:
    labeler = _schema({"Mass": ["mass"], "Intracranial Hemorrhage": ["hematoma"]})
    res = labeler.label("Mild mass effect on the left lateral ventricle. Left frontal scalp hematoma.")
    assert res == {}


def test_ventricles_and_gray_white_anchors_need_a_qualifier() -> None:
    labeler = _schema({"Hydrocephalus": ["hydrocephalus"], "Infarct": ["infarct"]})
    assert labeler.label("The ventricles are normal in size.")["Hydrocephalus"].value == "negative"
    assert labeler.label("The ventricles are dilated.")["Hydrocephalus"].value == "positive"
    assert labeler.label("Gray-white differentiation is preserved.")["Infarct"].value == "negative"
    assert labeler.label("The ventricles were reviewed.") == {}


def test_exam_title_section_counts_as_the_current_study() -> None:
    chexpert = Labeler(load_builtin_schema("chexpert"))
    res = chexpert.label("PORTABLE AP CHEST: Small left pneumothorax.\nTECHNIQUE: Pneumothorax protocol.")
    assert res["Pneumothorax"].value == "positive"
    assert len(res["Pneumothorax"].evidence) == 1


def test_resolution_after_an_adverb_and_device_removal_after_the_device() -> None:
    chexpert = Labeler(load_builtin_schema("chexpert"))
    assert chexpert.label("Trace left pleural effusion has also resolved.")["Pleural Effusion"].value == "negative"
    assert chexpert.label("The effusion has since resolved.")["Pleural Effusion"].value == "negative"
    res = chexpert.label("Right pneumothorax has resolved following chest tube removal.")
    assert res["Support Devices"].value == "negative"
    assert chexpert.label("Chest tube in place.")["Support Devices"].value == "positive"


def test_weak_hedge_after_a_comma_offers_causes_of_a_descriptive_finding() -> None:
    chexpert = Labeler(load_builtin_schema("chexpert"))
    res = chexpert.label("Mild bibasilar opacities, atelectasis versus early infiltrate.")
    assert res["Lung Opacity"].value == "positive"
    assert res["Atelectasis"].value == "uncertain"
    assert chexpert.label("Opacity or effusion at the left base.")["Lung Opacity"].value == "uncertain"
    assert chexpert.label("Atelectasis, pneumonia or aspiration.")["Atelectasis"].value == "uncertain"


def test_attribute_anchor_does_not_take_a_trigger_beyond_another_finding() -> None:
    chexpert = Labeler(load_builtin_schema("chexpert"))
    res = chexpert.label("Heart and mediastinum: Mild cardiomegaly, unchanged.")
    assert "Enlarged Cardiomediastinum" not in res
    assert res["Cardiomegaly"].value == "positive"
    assert chexpert.label("Heart size and mediastinum are normal.")["Enlarged Cardiomediastinum"].value == "negative"
