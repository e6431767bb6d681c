"""The batch line writer (lines.py) writes the same bytes as json.dumps of the LabelResult objects."""
from __future__ import annotations

import json

import pytest

from annotation.engine import Labeler, LabelSpec, Schema, results_to_json
from annotation.engine.batch import label_json_lines
from annotation.engine.schema import NoFindingRule
from tests.engine.test_joint_tokenize import EDGES
from tests.engine.test_prefilter import _corpus, _schemas

# Labels whose names and phrases need JSON escaping, a No Finding label with phrases of its own,
# repeated mentions of several phrases (the rank rule), negative / uncertain combinations.
ODD = Schema(
    name="odd",
    labels=[
        LabelSpec(name='Effusion "quoted" \\ ü', phrases=["pleural effusion", "effusion", "fluid"]),
        LabelSpec(name="No Finding", phrases=["normal study"]),
        LabelSpec(name="Edema", phrases=["edema"], uncertain=["vascular congestion"]),
    ],
    no_finding=NoFindingRule(label="No Finding", blockers=["abnormal"]),
)
ODD_TEXTS = [
    "Normal study. No effusion. Possible fluid. Pleural effusion. Effusion again.",
    "Normal study. No edema. No pleural effusion, no fluid, no effusion.",
    "Possible edema, likely vascular congestion. Edema may be present. Abnormal.",
    "Ĕffusion \"quoted\" text: small effusión, fluid\u2028and edema.\tNormal study.",
    "",
    "  ",
]


def _object_lines(labeler: Labeler, texts: list[str]) -> list[str]:
    return [json.dumps(results_to_json(r), ensure_ascii=False) for r in labeler.iter_label(texts)]


@pytest.mark.parametrize("schema_name", sorted(_schemas()))
def test_lines_match_the_label_result_objects(schema_name: str) -> None:
    texts = EDGES + _corpus()
    if schema_name != "chexpert":
        texts = texts[:300]
    schema = _schemas()[schema_name]
    # one Labeler each, so each path fills its own segment cache (cold, then warm in reverse)
    lines, objects = Labeler(schema), Labeler(schema)
    for batch in (texts, texts[::-1]):
        assert list(lines.iter_lines(batch)) == _object_lines(objects, batch)


def test_lines_escape_names_and_aggregate_as_the_objects_do() -> None:
    lines, objects = Labeler(ODD), Labeler(ODD)

    got = list(lines.iter_lines(ODD_TEXTS))

    assert got == _object_lines(objects, ODD_TEXTS)
    first = json.loads(got[0])
    # several phrases of one label: the best-ranked one among the positive mentions sets p
    assert first['Effusion "quoted" \\ ü']["value"] == "positive"
    assert len(first['Effusion "quoted" \\ ü']["evidence"]) == 4
    assert json.loads(got[1])["No Finding"]["evidence"] == []  # replaced by the rule's result
    assert got[4] == "{}"


def test_the_batch_path_writes_the_lines() -> None:
    schema = _schemas()["chexpert"]
    texts = EDGES + _corpus()[:200]

    assert list(label_json_lines(schema, texts)) == _object_lines(Labeler(schema), texts)
