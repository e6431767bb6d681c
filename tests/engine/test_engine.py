"""Behaviour of the soft-label engine, one test per rule family, plus the hard-case files."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from annotation.engine import (
    ENGINE_VERSION,
    Labeler,
    LabelSpec,
    Schema,
    SchemaError,
    load_builtin_schema,
    load_schema_yaml,
)
from annotation.engine.sections import split_sections
from annotation.engine.synthetic import generate_reports

DATA = Path(__file__).parent / "data"
CHEXPERT_NAMES = [
    "No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Lesion", "Lung Opacity", "Edema",
    "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion", "Pleural Other",
    "Fracture", "Support Devices",
]


@pytest.fixture(scope="module")
def chexpert() -> Labeler:
    return Labeler(load_builtin_schema("chexpert"))


@pytest.fixture(scope="module")
def head_ct() -> Labeler:
    return Labeler(load_schema_yaml(str(DATA / "head_ct_schema.yaml")))


def _values(res: dict) -> dict[str, str]:
    return {name: r.value for name, r in res.items()}


def _cases(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


def test_builtin_schema_has_the_14_chexpert_names() -> None:
    assert load_builtin_schema("chexpert").label_names() == CHEXPERT_NAMES


def test_unknown_builtin_schema_raises_key_error() -> None:
    with pytest.raises(KeyError):
        load_builtin_schema("nope")


def test_malformed_yaml_names_the_line() -> None:
    with pytest.raises(SchemaError, match=r"line \d+, column \d+: malformed YAML"):
        load_schema_yaml("name: x\nlabels:\n  - name: [unclosed\n")


def test_missing_phrases_key_is_named() -> None:
    with pytest.raises(SchemaError, match="phrases"):
        load_schema_yaml("name: x\nlabels:\n  - name: A\n")


def test_phrase_set_hash_is_stable_and_sensitive() -> None:
    a = Labeler(Schema("s", [LabelSpec("A", ["Foo ", "bar"])])).phrase_set_hash
    b = Labeler(Schema("s", [LabelSpec("A", ["foo", "bar", "FOO"])])).phrase_set_hash
    c = Labeler(Schema("s", [LabelSpec("A", ["bar", "baz"])])).phrase_set_hash
    reordered = Labeler(Schema("s", [LabelSpec("A", ["bar", "foo"])])).phrase_set_hash
    assert a == b != c
    assert reordered not in (a, c)  # order is priority (docs/ENGINE.md, "p")
    assert len(a) == 64
    assert ENGINE_VERSION


@pytest.mark.parametrize("case", _cases("hard_cases.jsonl"), ids=lambda c: c["rule"])
def test_chest_hard_case(chexpert: Labeler, case: dict) -> None:
    got = _values(chexpert.label(case["text"]))
    for label, expected in case["expected"].items():
        assert got.get(label) == expected, (label, got)


@pytest.mark.parametrize("case", _cases("head_ct_cases.jsonl"), ids=lambda c: c["rule"])
def test_head_ct_hard_case(head_ct: Labeler, case: dict) -> None:
    got = _values(head_ct.label(case["text"]))
    for label, expected in case["expected"].items():
        assert got.get(label) == expected, (label, got)


def test_evidence_offsets_index_the_input(chexpert: Labeler) -> None:
    text = "FINDINGS: Small left pleural effusions.\nIMPRESSION: No pneumothorax."
    res = chexpert.label(text)
    for result in res.values():
        for ev in result.evidence:
            assert text[ev.start : ev.end] == ev.text
    ev = res["Pneumothorax"].evidence[0]
    assert ev.modifiers == ["NEGATED_EXISTENCE"]
    assert ev.section == "impression"


def test_p_ordering_positive_uncertain_negative(chexpert: Labeler) -> None:
    pos = chexpert.label("Left pleural effusion.")["Pleural Effusion"].p
    two = chexpert.label("Left pleural effusion. Right pleural effusion.")["Pleural Effusion"].p
    unc = chexpert.label("Possible left pleural effusion.")["Pleural Effusion"].p
    neg = chexpert.label("No pleural effusion.")["Pleural Effusion"].p
    assert 0 <= neg < 0.5 < unc < pos < two <= 1
    likely = chexpert.label("Likely left pleural effusion.")["Pleural Effusion"].p
    assert unc < likely < pos


def test_precision_prior_is_used() -> None:
    schema = Schema("s", [LabelSpec("A", ["foo bar"], precision={"foo bar": 0.6})])
    assert Labeler(schema).label("There is foo bar.")["A"].p == 0.6


def test_fuzzy_match_gets_a_lower_prior(chexpert: Labeler) -> None:
    exact = chexpert.label("Right pneumothorax.")["Pneumothorax"].p
    fuzzy = chexpert.label("Right pnuemothorax.")["Pneumothorax"].p
    assert fuzzy < exact


def test_to_json_shape(chexpert: Labeler) -> None:
    out = chexpert.label("No pneumothorax.")["Pneumothorax"].to_json()
    assert set(out) == {"value", "p", "evidence"}
    assert set(out["evidence"][0]) >= {"start", "end", "text", "phrase", "modifiers"}
    json.dumps(out)


def test_label_many_equals_label(chexpert: Labeler) -> None:
    texts = generate_reports(50, seed=3)
    many = chexpert.label_many(texts)
    assert [_values(r) for r in many] == [_values(chexpert.label(t)) for t in texts]


def test_labeler_pickles(chexpert: Labeler) -> None:
    clone = pickle.loads(pickle.dumps(chexpert))
    assert clone.phrase_set_hash == chexpert.phrase_set_hash
    assert _values(clone.label("No effusion.")) == _values(chexpert.label("No effusion."))


def test_custom_schema_gets_inflections_and_negation() -> None:
    schema = load_schema_yaml("name: t\nlabels:\n  - name: Bleed\n    phrases: [hemorrhage]\n")
    labeler = Labeler(schema)
    assert _values(labeler.label("Hemorrhages in both lobes.")) == {"Bleed": "positive"}
    assert _values(labeler.label("No hemorrhagic transformation.")) == {"Bleed": "negative"}


def test_sections_headed_inline_and_headerless() -> None:
    text = "INDICATION: cough. FINDINGS: clear.\nIMPRESSION: normal."
    assert [s.name for s in split_sections(text)] == ["indication", "findings", "impression"]
    assert [s.name for s in split_sections("Lungs are clear.")] == ["findings"]
    head = split_sections("REASON FOR EXAM: sob\nCOMPARISON: none")
    assert [s.name for s in head] == ["indication", "comparison"]


def test_synthetic_reports_are_deterministic_and_varied() -> None:
    a, b = generate_reports(200, seed=1), generate_reports(200, seed=1)
    assert a == b
    assert len(set(a)) > 150
    assert all("FINDINGS:" in t and "IMPRESSION:" in t for t in a)
