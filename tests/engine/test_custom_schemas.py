"""Custom schemas that say what their authors mean (engine 1.3.0): exclusions, inferred terms that a
curator can switch off, organ headings, and ConText's hypothetical / historical categories."""
from __future__ import annotations

from pathlib import Path

import pytest

from annotation.engine import Labeler, SchemaError, load_builtin_schema, schema_inferred_phrases
from annotation.engine.lexicon import SOURCES, organ_remainders
from annotation.engine.schema import LabelSpec, Schema, schema_from_dict
from annotation.engine.sections import split_sections

DATA = Path(__file__).parent / "data"


def _schema(labels: list[dict]) -> Schema:
    return schema_from_dict({"name": "t", "labels": labels})


def _labeler(labels: dict[str, list[str]], **extra: dict[str, list[str]]) -> Labeler:
    specs = [{"name": name, "phrases": phrases} for name, phrases in labels.items()]
    for spec in specs:
        for key, per_label in extra.items():
            if spec["name"] in per_label:
                spec[key] = per_label[spec["name"]]
    return Labeler(_schema(specs))


def _values(labeler: Labeler, text: str) -> dict[str, str]:
    return {name: result.value for name, result in labeler.label(text).items()}


@pytest.fixture(scope="module")
def abdomen() -> Labeler:
    return _labeler(
        {
            "Liver Lesion": ["hepatic lesion", "liver lesion"],
            "Renal Cyst": ["renal cyst"],
            "Nephrolithiasis": ["kidney stone"],
            "Splenic Injury": ["splenic laceration"],
            "Pneumonia": ["pneumonia"],
            "Atelectasis": ["atelectasis"],
            "Appendicitis": ["appendicitis"],
            "Cholecystitis": ["cholecystitis"],
            "Infarct": ["infarct"],
            "Hardware": ["arthroplasty"],
            "Fracture": ["fracture"],
        }
    )


# -- exclude: ---------------------------------------------------------------------------------


def test_yaml_exclude_key_is_read_and_merged_with_exclusions() -> None:
    schema = schema_from_dict(
        {"name": "t", "labels": [{"name": "Skull Fracture", "phrases": ["fracture"],
                                  "exclude": ["rib fracture"], "exclusions": ["fracture of the femur"]}]}
    )
    assert schema.labels[0].exclusions == ["rib fracture", "fracture of the femur"]


def test_a_schema_with_only_phrases_still_works_and_unknown_keys_are_named() -> None:
    labeler = _labeler({"Skull Fracture": ["skull fracture"]})
    assert _values(labeler, "Nondisplaced skull fracture.") == {"Skull Fracture": "positive"}
    with pytest.raises(SchemaError, match="excludes"):
        schema_from_dict({"name": "t", "labels": [{"name": "A", "phrases": ["a"], "excludes": ["b"]}]})


def test_a_mention_covered_by_an_exclude_phrase_does_not_count() -> None:
    labeler = _labeler({"Skull Fracture": ["fracture"]}, exclude={"Skull Fracture": ["rib fracture", "fracture of the femur"]})
    assert _values(labeler, "Acute left rib fractures.") == {}
    assert _values(labeler, "Fracture of the femur.") == {}
    assert _values(labeler, "Rib fracture. Occipital bone fracture.") == {"Skull Fracture": "positive"}


def test_an_of_the_exclusion_also_covers_words_between_of_and_its_noun() -> None:
    labeler = _labeler({"Skull Fracture": ["fracture"]}, exclude={"Skull Fracture": ["fracture of the femur"]})
    assert _values(labeler, "Fracture of the proximal left femur.") == {}
    assert _values(labeler, "Fracture of the left parietal bone, femur intact.") == {"Skull Fracture": "positive"}


def test_bleeding_outside_the_skull_is_not_intracranial() -> None:
    labeler = _labeler({"Intracranial Hemorrhage": ["hemorrhage", "hematoma"]},
                       exclude={"Intracranial Hemorrhage": ["scalp hematoma", "subgaleal hemorrhage"]})
    assert _values(labeler, "Large subgaleal hemorrhage. Left frontal scalp hematoma.") == {}
    assert _values(labeler, "Small subdural hematoma.") == {"Intracranial Hemorrhage": "positive"}


# -- inferred terms, listed with their source and switchable --------------------------------------


def test_inferred_phrases_are_listed_with_their_source_and_the_phrase_they_came_from() -> None:
    schema = _schema([
        {"name": "Intracranial Hemorrhage", "phrases": ["hemorrhage"]},
        {"name": "Hydrocephalus", "phrases": ["hydrocephalus"]},
        {"name": "Liver Lesion", "phrases": ["hepatic lesion"]},
        {"name": "Mass", "phrases": ["mass"]},
    ])
    rows = schema_inferred_phrases(schema)
    by_key = {(r["label"], r["text"]): r for r in rows}
    assert by_key[("Intracranial Hemorrhage", "sah")]["source"] == "abbreviation"
    assert by_key[("Intracranial Hemorrhage", "sah")]["from_phrase"] == "hemorrhage"
    assert by_key[("Intracranial Hemorrhage", "bleed")]["source"] == "lexicon-synonym"
    assert by_key[("Intracranial Hemorrhage", "scalp hematoma")]["source"] == "label-name-exclusion"
    assert by_key[("Hydrocephalus", "ventricles")]["source"] == "normal-statement"
    assert by_key[("Liver Lesion", "lesion")] | {} == {
        "label": "Liver Lesion", "text": "lesion", "kind": "headed", "source": "organ-heading",
        "from_phrase": "hepatic lesion", "organs": ["liver"], "enabled": True,
    }
    assert by_key[("Mass", "mass effect")]["kind"] == "exclusion"
    assert {r["source"] for r in rows} <= set(SOURCES)
    assert all(r["enabled"] for r in rows)
    assert rows == schema_inferred_phrases(schema)  # stable order


def test_disabling_an_inferred_phrase_stops_it_firing_and_marks_it_disabled() -> None:
    spec = LabelSpec(name="Bleed", phrases=["hemorrhage"])
    before = Labeler(Schema(name="t", labels=[spec]))
    assert _values(before, "Small SAH.") == {"Bleed": "positive"}
    off = Schema(name="t", labels=[LabelSpec(name="Bleed", phrases=["hemorrhage"], disabled=["sah"])])
    assert _values(Labeler(off), "Small SAH.") == {}
    assert _values(Labeler(off), "Small subarachnoid hemorrhage.") == {"Bleed": "positive"}
    row = next(r for r in schema_inferred_phrases(off) if r["text"] == "sah")
    assert row["enabled"] is False
    assert off.phrase_set_hash() != before.schema.phrase_set_hash()


def test_disabling_a_normal_statement_or_an_organ_heading_term_stops_it() -> None:
    on = Schema(name="t", labels=[LabelSpec(name="Hydrocephalus", phrases=["hydrocephalus"]),
                                  LabelSpec(name="Liver Lesion", phrases=["hepatic lesion"])])
    off = Schema(name="t", labels=[LabelSpec(name="Hydrocephalus", phrases=["hydrocephalus"], disabled=["ventricles"]),
                                   LabelSpec(name="Liver Lesion", phrases=["hepatic lesion"], disabled=["lesion"])])
    text = "The ventricles are normal in size.\nLIVER: 1 cm lesion in segment 7."
    assert _values(Labeler(on), text) == {"Hydrocephalus": "negative", "Liver Lesion": "positive"}
    assert _values(Labeler(off), text) == {}
    assert _values(Labeler(off), "LIVER: No hepatic lesion.") == {"Liver Lesion": "negative"}


def test_a_switched_off_mention_passed_as_exclusion_stops_only_matches_inside_it() -> None:
    schema = Schema(name="t", labels=[LabelSpec(
        name="Bleed", phrases=["subarachnoid hemorrhage"], exclusions=["hemorrhage"], disabled=["hemorrhage"],
    )])
    labeler = Labeler(schema)
    assert _values(labeler, "Small subarachnoid hemorrhage.") == {"Bleed": "positive"}


def test_a_disabled_inferred_exclusion_lets_the_mention_count_again() -> None:
    on = Schema(name="t", labels=[LabelSpec(name="Mass", phrases=["mass"])])
    off = Schema(name="t", labels=[LabelSpec(name="Mass", phrases=["mass"], disabled=["mass effect"])])
    assert _values(Labeler(on), "Mild mass effect.") == {}
    assert _values(Labeler(off), "Mild mass effect.") == {"Mass": "positive"}


# -- organ headings ------------------------------------------------------------------------------


def test_organ_phrases_split_into_the_finding_and_the_organ() -> None:
    assert organ_remainders("hepatic lesion") == [("lesion", ("liver",))]
    assert organ_remainders("lesion of the liver") == [("lesion", ("liver",))]
    assert organ_remainders("kidney stone") == [("stone", ("kidney",))]
    assert organ_remainders("congestive heart failure") == []  # organ word inside: not split
    assert organ_remainders("liver") == []


def test_organ_headings_are_findings_sections_that_carry_their_organ() -> None:
    text = "INDICATION: pain.\nLIVER: Normal.\nKidneys: Cyst.\nIMPRESSION: None."
    sections = split_sections(text)
    assert [(s.name, sorted(s.organs)) for s in sections] == [
        ("indication", []), ("findings", ["liver"]), ("findings", ["kidney"]), ("impression", []),
    ]


def test_a_finding_under_its_organ_heading_matches_the_organ_finding_phrase(abdomen: Labeler) -> None:
    res = abdomen.label("LIVER: 1.2 cm lesion in segment 7.")
    assert res["Liver Lesion"].value == "positive"
    assert res["Liver Lesion"].evidence[0].phrase == "hepatic lesion"
    assert _values(abdomen, "KIDNEYS: Simple cyst in the upper pole. No stones.") == {
        "Renal Cyst": "positive", "Nephrolithiasis": "negative",
    }
    assert _values(abdomen, "SPLEEN: Grade 2 laceration.") == {"Splenic Injury": "positive"}


def test_a_finding_under_another_organ_heading_does_not_match(abdomen: Labeler) -> None:
    assert _values(abdomen, "LIVER: No laceration.\nSPLEEN: Normal.") == {}
    assert _values(abdomen, "PANCREAS: 2 cm cystic lesion.") == {}
    assert _values(abdomen, "FINDINGS: 2 cm lesion.") == {}


def test_a_sentence_that_starts_with_the_organ_is_about_it(abdomen: Labeler) -> None:
    assert _values(abdomen, "FINDINGS: The liver is normal in size without focal lesion.") == {"Liver Lesion": "negative"}
    assert _values(abdomen, "The left kidney contains a 1 cm simple cyst.") == {"Renal Cyst": "positive"}
    assert _values(abdomen, "Cyst in the pancreas abutting the left kidney.") == {}


def test_a_qualifier_left_by_an_organ_phrase_is_not_a_finding() -> None:
    chexpert = Labeler(load_builtin_schema("chexpert"))
    assert chexpert.label("The heart is not significantly enlarged.")["Cardiomegaly"].value == "negative"
    rows = schema_inferred_phrases(load_builtin_schema("chexpert"))
    assert not any(r["kind"] == "headed" and r["text"] in ("enlarged", "enlargement") for r in rows)


# -- ConText: hypothetical, historical, alternatives ---------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Recommend CT to exclude appendicitis.",
        "Follow-up to assess for appendicitis in 6 weeks.",
        "Ultrasound is more sensitive for detection of appendicitis and could be obtained.",
        "MRI is more sensitive for detection of small infarcts.",
        "CT is insensitive for early infarct.",
    ],
)
def test_a_finding_named_in_a_recommendation_or_a_sensitivity_statement_is_not_present(abdomen: Labeler, text: str) -> None:
    assert _values(abdomen, text) == {}


def test_a_recommendation_does_not_hide_a_finding_stated_before_it(abdomen: Labeler) -> None:
    assert _values(abdomen, "Findings concerning for appendicitis. Recommend CT to exclude appendicitis.") == {
        "Appendicitis": "uncertain",
    }


def test_what_a_procedure_treated_is_history_but_its_hardware_is_present(abdomen: Labeler) -> None:
    assert _values(abdomen, "Status post cholecystectomy for acute cholecystitis.") == {}
    assert _values(abdomen, "History of nephrectomy for renal cyst.") == {}
    assert _values(abdomen, "Status post right total hip arthroplasty.") == {"Hardware": "positive"}
    assert _values(abdomen, "Status post ORIF of an ankle fracture. No new fracture.") == {"Fracture": "negative"}
    # "status post X with Y": Y is the current state
    assert _values(abdomen, "Status post appendectomy with acute cholecystitis.") == {"Cholecystitis": "positive"}


def test_the_less_favoured_of_two_alternatives_is_negative(abdomen: Labeler) -> None:
    assert _values(abdomen, "Likely atelectasis rather than pneumonia.") == {
        "Atelectasis": "uncertain", "Pneumonia": "negative",
    }
    assert _values(abdomen, "Atelectasis is favored over pneumonia.") == {
        "Atelectasis": "uncertain", "Pneumonia": "negative",
    }
    assert _values(abdomen, "Pneumonia is less likely.") == {"Pneumonia": "negative"}


def test_a_negation_that_runs_into_the_phrase_still_negates_it() -> None:
    labeler = _labeler({"Acute Infarct": ["acute infarct"]})
    assert _values(labeler, "No acute infarct.") == {"Acute Infarct": "negative"}


def test_an_anchor_does_not_speak_when_the_sentence_names_the_finding() -> None:
    labeler = _labeler({"Hydrocephalus": ["hydrocephalus"]})
    text = "Ventricles are mildly prominent, likely related to volume loss rather than hydrocephalus."
    assert _values(labeler, text) == {"Hydrocephalus": "negative"}
    assert _values(labeler, "Ex vacuo dilatation of the right lateral ventricle.") == {}


def test_singular_and_plural_phrase_words_match_both_forms() -> None:
    labeler = _labeler({"Enhancing Lesion": ["enhancing lesion"], "Demyelination": ["demyelinating lesions"]})
    assert _values(labeler, "No enhancing lesions.") == {"Enhancing Lesion": "negative"}
    assert _values(labeler, "One demyelinating lesion.") == {"Demyelination": "positive"}


def test_an_indeterminate_nodule_is_a_nodule() -> None:
    labeler = _labeler({"Adrenal Nodule": ["adrenal nodule"]})
    assert _values(labeler, "Indeterminate 2 cm right adrenal nodule.") == {"Adrenal Nodule": "positive"}
