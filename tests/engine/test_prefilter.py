"""The segment prefilter is exact: labels are byte-identical with and without it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotation.engine import Labeler, load_builtin_schema, load_schema_yaml, results_to_json
from annotation.engine.prefilter import SegmentPrefilter
from annotation.engine.schema import Schema
from annotation.engine.synthetic import generate_distinct_reports, generate_reports

DATA = Path(__file__).parent / "data"

# Texts aimed at the prefilter's edges: misspellings, casings, inflections, special cases of the
# tokenizer, non-ASCII letters, organ headings, segments with only triggers or exclusions.
TRICKY = [
    "Small left pleural efusion. Pnuemothorax is not seen.",
    "EFFUSIONS BILATERALLY. Effusions. eFFusions.",
    "Atelectatic changes. Oedema. Haemorrhage in the right lobe.",
    "We cannot exclude pneumonia. Can't exclude consolidation. Pneumonia can't be excluded.",
    "Small effusión on the left. Ｅffusion. Cardiomégaly.",
    "\u212aidney cyst. Naïve lungs.",
    "No evidence of. Possible. Likely, versus, or.",
    "Plate-like atelectasis. Mass effect on the ventricle. Kerley B lines.",
    "LIVER: 2 cm lesion in segment 4. KIDNEYS: Cyst in the left kidney. BOWEL: Wall thickening.",
    "Degenerative changes of the thoracic spine at T7-T8. Findings discussed with Dr. Kim at 10:15.",
    "Lines/tubes: ETT 4 cm above the carina. Lungs: clear. Pleura: no effusion. Heart and mediastinum: normal.",
    "heart size is top normal. the ventricles are not dilated. gray-white differentiation is preserved.",
    "Infusion port in place. Diffusion restriction in the left frontal lobe. Injection of contrast.",
    "Hemithorax is clear. Hemothorax on the right. Sclerotic lesion of L2 .",
    "",
    "   \n  ",
    "IMPRESSION: 1. 2. 3.",
]


def _schemas() -> dict[str, Schema]:
    schemas = {"chexpert": load_builtin_schema("chexpert")}
    for path in sorted(DATA.glob("*schema.yaml")):
        schemas[path.stem] = load_schema_yaml(str(path))
    return schemas


def _texts_of(path: Path) -> list[str]:
    return [json.loads(line)["text"] for line in path.read_text().splitlines() if line.strip()]


def _corpus() -> list[str]:
    texts = TRICKY + generate_distinct_reports(300, seed=5) + generate_reports(100, seed=5)
    for path in sorted(DATA.glob("*.jsonl")):
        texts += _texts_of(path)
    return texts


def _label_lines(labeler: Labeler, texts: list[str]) -> list[str]:
    return [json.dumps(results_to_json(r), ensure_ascii=False) for r in labeler.iter_label(texts)]


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return _corpus()


@pytest.fixture(scope="module")
def chexpert_prefilter() -> SegmentPrefilter:
    prefilter = Labeler(load_builtin_schema("chexpert"))._prefilter
    assert prefilter is not None
    return prefilter


@pytest.mark.parametrize("schema_name", sorted(_schemas()))
def test_output_is_identical_with_and_without_prefilter(schema_name: str, corpus: list[str]) -> None:
    schema = _schemas()[schema_name]
    if schema_name != "chexpert":  # custom schemas: their own held-out reports, the edge cases, a few more
        corpus = corpus[: len(TRICKY) + 100] + corpus[len(TRICKY) + 400 :]
    with_prefilter = Labeler(schema)
    without = Labeler(schema, prefilter=False)
    assert with_prefilter._prefilter is not None
    assert not with_prefilter._prefilter.always
    assert _label_lines(with_prefilter, corpus) == _label_lines(without, corpus)


def test_prefilter_only_skips_segments_that_yield_nothing(
    corpus: list[str], chexpert_prefilter: SegmentPrefilter
) -> None:
    """Per segment: whenever the prefilter says "no candidate", the full analysis finds nothing."""
    labeler = Labeler(load_builtin_schema("chexpert"), prefilter=False)
    prefilter = chexpert_prefilter
    segments = {s.strip() for text in corpus for s in text.replace("\n", ". ").split(". ")}
    skipped = [s for s in segments if s and not prefilter.may_match(s)]
    assert len(skipped) > 50  # it does skip something
    for segment in skipped:
        assert labeler._analyse(segment)[:2] == ((), False), segment  # no mention, no blocker


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ("Disc space narrowing at L4-L5 and T2-3.", False),
        ("Surgical clips in the epigastrium.", False),
        ("Findings discussed with Dr. Kim at 10:15 on 3/4/2025.", False),
        ("Small left pleural effusion.", True),
        ("Small left pleural efusion.", True),  # misspelling of a phrase word
        ("EFFUSIONS.", True),  # inflection, upper case
        ("Small effusión.", True),  # non-ASCII: always the full path
    ],
)
def test_prefilter_decisions(segment: str, expected: bool, chexpert_prefilter: SegmentPrefilter) -> None:
    assert chexpert_prefilter.may_match(segment) is expected
