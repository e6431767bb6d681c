"""Result types and the per-label aggregation of several mentions.

Value: positive over uncertain over negative, as the CheXpert labeler aggregates. p: each mention
starts from its phrase's precision prior; negation pulls it towards 0, uncertainty towards 0.5.
Among the mentions that carry the label's value, only those of the best-ranked phrase (the
curator's priority, priority.py) set p: a trusted phrase is not diluted, nor a weak one
propped up, by another phrase matching in the same report. Repeated mentions of that one
phrase combine as before: positive as a noisy-OR (said twice is surer than once), uncertain by
the max, negative by a damped product. Every mention stays in the evidence.
All arithmetic is deterministic and rounded to 4 decimals.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

EXACT_PRIOR = 0.9
FUZZY_PRIOR = 0.7
ATTRIBUTE_PRIOR = 0.85
NEGATION_FACTOR = 0.3  # negated mention: p = (1 - prior) * 0.3  (0.03 for a 0.9 prior)
POSSIBLE_SHRINK = 0.2  # possible: p = 0.5 + (prior - 0.5) * 0.2  (0.58)
PROBABLE_SHRINK = 0.6  # likely / probable: p = 0.5 + (prior - 0.5) * 0.6  (0.74)
NO_FINDING_PRIOR = 0.9

_RANK = {"positive": 2, "uncertain": 1, "negative": 0}
T = TypeVar("T")


@dataclass(slots=True)
class Evidence:
    start: int
    end: int
    text: str
    phrase: str
    modifiers: list[str]
    section: str

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "phrase": self.phrase,
            "modifiers": list(self.modifiers),
            "section": self.section,
        }


@dataclass(slots=True)
class LabelResult:
    value: str
    p: float
    evidence: list[Evidence] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The softlabel contract shape: {"value", "p", "evidence": [...]}."""
        return {"value": self.value, "p": self.p, "evidence": [e.to_json() for e in self.evidence]}


@dataclass(slots=True)
class Mention:
    label: str
    value: str
    prior: float
    probable: bool
    evidence: Evidence


def mention_p(value: str, prior: float, probable: bool) -> float:
    if value == "positive":
        return prior
    if value == "negative":
        return (1.0 - prior) * NEGATION_FACTOR
    shrink = PROBABLE_SHRINK if probable else POSSIBLE_SHRINK
    return 0.5 + (prior - 0.5) * shrink


def aggregate(mentions: list[Mention], ranks: Mapping[str, int] | None = None) -> LabelResult:
    """Combine the mentions of one label (non-empty list, in text order).

    ``ranks``: the label's phrase -> rank (priority.phrase_ranks); p comes from the mentions of
    the best-ranked phrase among those carrying the value. A phrase it lacks ranks after every
    phrase it has. None: no priority, every mention of the value counts.
    """
    value = strongest_value(m.value for m in mentions)
    deciding = [m for m in mentions if m.value == value]
    if ranks is not None and len(deciding) > 1:
        deciding = best_ranked(deciding, [m.evidence.phrase for m in deciding], ranks)
    p_label = combine_p(value, [mention_p(m.value, m.prior, m.probable) for m in deciding])
    return LabelResult(value, p_label, [m.evidence for m in mentions])


def combine_p(value: str, ps: list[float]) -> float:
    """The label's p from the p of each deciding mention (all carrying ``value``), rounded.

    The one place of this arithmetic: the batch line writer (lines.py) calls it too, so its
    output stays byte-identical to ``aggregate``'s.
    """
    if value == "positive":
        miss = 1.0
        for p in ps:
            miss *= 1.0 - p
        p_label = 1.0 - miss
    elif value == "uncertain":
        p_label = max(ps)
    else:
        p_label = 1.0
        for p in ps:
            p_label *= p
        p_label = p_label ** (1.0 / (1.0 + 0.5 * (len(ps) - 1)))  # more negations, slightly lower
    p_label = min(max(p_label, 0.001), 0.999)
    return round(p_label, 4)


def strongest_value(values: Iterable[str]) -> str:
    """Positive over uncertain over negative."""
    return max(values, key=_RANK.__getitem__)


def best_ranked(items: list[T], phrases: list[str], ranks: Mapping[str, int]) -> list[T]:
    """The items whose phrase (``phrases[i]`` for ``items[i]``) has the lowest rank (all of them
    when they cite one phrase)."""
    first = phrases[0]
    if all(phrase == first for phrase in phrases):
        return items
    unranked = len(ranks)
    item_ranks = [ranks.get(phrase, unranked) for phrase in phrases]
    best = min(item_ranks)
    return [item for item, rank in zip(items, item_ranks, strict=True) if rank == best]


def no_finding_result(other_ps: list[float]) -> LabelResult:
    """No Finding: positive, p = 0.9 x P(none of the negated / absent findings is present)."""
    return LabelResult("positive", no_finding_p(other_ps), [])


def no_finding_p(other_ps: list[float]) -> float:
    """No Finding's p from the p of the other (negative) labels, rounded."""
    p = NO_FINDING_PRIOR
    for other in other_ps:
        p *= 1.0 - other
    return round(min(max(p, 0.5), 0.999), 4)
