"""The benchmark's reference pipeline: medspaCy with the same phrases (TargetMatcher + ConText).

Used by bench_softlabel only, to report the engine's speed ratio against the usual tool.
medspaCy is a test/bench dependency, imported lazily.
"""
from __future__ import annotations

import logging
from typing import Any

from annotation.engine.schema import Schema


def build_reference(schema: Schema) -> Any:
    """medspaCy's TargetMatcher (the schema phrases) + ConText after spaCy's rule-based sentencizer.

    That is the reference the issue names ("medspaCy TargetMatcher + ConText + spaCy's
    sentencizer"); medspaCy's default PyRuSH splitter is several times slower and would flatter
    the ratio.
    """
    import sys

    import medspacy
    from loguru import logger
    from medspacy.ner import TargetRule

    # PyRuSH logs every sentence at DEBUG through loguru; that would make the reference look slower.
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    logging.getLogger().setLevel(logging.WARNING)  # PyRuSH rule-compiler chatter at INFO

    nlp = medspacy.load(medspacy_enable=["medspacy_tokenizer", "medspacy_target_matcher", "medspacy_context"])
    nlp.add_pipe("sentencizer", first=True)
    matcher = nlp.get_pipe("medspacy_target_matcher")
    rules = [TargetRule(phrase, label.name) for label in schema.labels for phrase in label.phrases]
    matcher.add(rules)
    return nlp


def reference_label(nlp: Any, texts: list[str]) -> list[dict[str, str]]:
    """Label texts with the reference: positive unless negated / uncertain (possible) by ConText."""
    out: list[dict[str, str]] = []
    for doc in nlp.pipe(texts):
        labels: dict[str, str] = {}
        for ent in doc.ents:
            if ent._.is_negated:
                value = "negative"
            elif ent._.is_uncertain:
                value = "uncertain"
            else:
                value = "positive"
            prev = labels.get(ent.label_)
            rank = {"positive": 2, "uncertain": 1, "negative": 0}
            if prev is None or rank[value] > rank[prev]:
                labels[ent.label_] = value
        out.append(labels)
    return out
