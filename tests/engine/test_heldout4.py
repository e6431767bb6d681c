"""Round 4 held-out sets: four custom schemas for body parts and modalities the project had never
seen (abdominal CT with organ headings, MRI brain, spine, musculoskeletal radiographs), written with
their gold BEFORE the engine was run on them. Scored once before the 1.3.0 changes (docs/ENGINE.md);
the floors below guard the figures after them. The gold is never edited to suit the engine: the
remaining disagreements are listed in docs/ENGINE.md."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from annotation.engine import Labeler, load_schema_yaml

DATA = Path(__file__).parent / "data"
_spec = importlib.util.spec_from_file_location("evaluate_engine", DATA.parents[2] / "scripts" / "evaluate_engine.py")
evaluate_engine = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(evaluate_engine)

# (cases, schema, weighted F1 floor, mention F1 floor); 1.2.0 scored 0.787 / 0.794 / 0.944 / 0.889.
SETS = [
    ("heldout4_abd_ct.jsonl", "heldout4_abd_ct_schema.yaml", 0.97, 0.97),
    ("heldout4_mri_brain.jsonl", "heldout4_mri_brain_schema.yaml", 0.9, 0.92),
    ("heldout4_spine.jsonl", "heldout4_spine_schema.yaml", 0.95, 0.97),
    ("heldout4_msk_xray.jsonl", "heldout4_msk_xray_schema.yaml", 0.95, 0.97),
]


@pytest.mark.parametrize(("cases", "schema_name", "weighted", "mention"), SETS)
def test_round4_heldout_set_keeps_its_accuracy(cases: str, schema_name: str, weighted: float, mention: float) -> None:
    schema = load_schema_yaml(str(DATA / schema_name))
    scores = evaluate_engine.score_heldout(DATA / cases, Labeler(schema), schema.label_names())
    assert scores["weighted_f1"] >= weighted, scores["errors"]
    assert scores["mention_f1"] >= mention, scores["errors"]
