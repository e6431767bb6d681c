"""The benchmark's mostly-distinct synthetic reports."""
from __future__ import annotations

import re
from collections import Counter

from annotation.engine.sections import ignored_sections, split_sections
from annotation.engine.synthetic import generate_distinct_reports

_SEGMENT_RE = re.compile(r"\n+|(?<![Vv]s\.)(?<!Dr\.)(?<=[.!])[ \t]+")


def test_distinct_reports_are_deterministic_per_seed() -> None:
    assert generate_distinct_reports(20, seed=3) == generate_distinct_reports(20, seed=3)
    assert generate_distinct_reports(20, seed=3) != generate_distinct_reports(20, seed=4)


def test_most_sentences_of_distinct_reports_occur_once() -> None:
    ignored = ignored_sections()
    sentences = [
        s
        for text in generate_distinct_reports(2000, seed=1)
        for sec in split_sections(text)
        if sec.name not in ignored
        for s in _SEGMENT_RE.split(text[sec.start : sec.end])
        if len(s.split()) >= 3
    ]
    counts = Counter(sentences)
    once = sum(1 for s in sentences if counts[s] == 1)
    assert once / len(sentences) > 0.6
    # and they read like reports: no slot left unfilled
    assert not any("{" in s or "}" in s for s in sentences)
