"""Unseen segments of a report are tokenised together: labels are those of one segment at a time."""
from __future__ import annotations

import json
from typing import Any

import pytest

from annotation.engine import Labeler, results_to_json
from annotation.engine.labeler import (
    _SEGMENT_RE,
    LabelResult,
    aggregate,
    no_finding_result,
    split_sections,
)
from tests.engine.test_prefilter import _corpus, _schemas

# Segment edges with whitespace (one-segment path), tabs, "\r", repeated sentences in one report,
# misspellings first seen in a later segment, sentences split only by "." and a space.
EDGES = [
    "Foo.\n  Small effusion.\n\tNo pneumothorax. \r\nMild edema.\r\nNo effusion.",
    "No effusion. No effusion. No effusion.\nNo effusion.",
    "Lungs are clear.  Heart is normal.\t\tSmall efusion. Small efusion. pnuemothorax.",
    "Dr. Smith vs. Dr. Jones. effusion vs. atelectasis! Pneumonia?  Edema.",
    "FINDINGS: LIVER: lesion. KIDNEYS:  cyst.\n\nIMPRESSION:\n1. Lesion.\n2. No cyst.",
    "a\u2028b effusion.\x0bPneumothorax.\x1cEdema. \u3000 Consolidation.",
]


class _OneSegmentAtATime(Labeler):
    """The labelling loop before reports were tokenised at once: ``_add_segment`` per segment."""

    def _label_text(self, text: str) -> dict[str, LabelResult]:
        cache = self._segment_cache
        by_label: dict[str, list[Any]] = {}
        blocked = False
        for section in split_sections(text):
            if section.name in self._ignored:
                continue
            organs = section.organs if self._headed_organs else None
            pos = section.start
            for sep in _SEGMENT_RE.finditer(text, pos, section.end):
                blocked |= self._add_segment(text, pos, sep.start(), section.name, cache, by_label, organs)
                pos = sep.end()
            if pos < section.end:
                blocked |= self._add_segment(text, pos, section.end, section.name, cache, by_label, organs)
        order = self._label_order
        results = {label: aggregate(by_label[label], self.ranks.get(label)) for label in sorted(by_label, key=order.__getitem__)}
        nf = self.schema.no_finding
        if nf is not None and not blocked and text.strip():
            ignore = self._nf_ignore
            if not any(r.value != "negative" for name, r in results.items() if name not in ignore):
                results[nf.label] = no_finding_result([r.p for name, r in results.items() if name not in ignore])
                results = {k: results[k] for k in sorted(results, key=order.__getitem__)}
        return results


def _lines(labeler: Labeler, texts: list[str]) -> list[str]:
    return [json.dumps(results_to_json(r), ensure_ascii=False) for r in labeler.iter_label(texts)]


@pytest.mark.parametrize("schema_name", sorted(_schemas()))
@pytest.mark.parametrize("prefilter", [True, False])
def test_joint_tokenisation_changes_nothing(schema_name: str, prefilter: bool) -> None:
    texts = EDGES + _corpus()
    if schema_name != "chexpert":
        texts = texts[:200]
    schema = _schemas()[schema_name]
    joint = Labeler(schema, prefilter=prefilter)
    alone = _OneSegmentAtATime(schema, prefilter=prefilter)
    assert _lines(joint, texts) == _lines(alone, texts)
    # warm caches: the same again, in reverse order
    assert _lines(joint, texts[::-1]) == _lines(alone, texts[::-1])

