"""Phrase priority: the rank of every phrase a mention can cite, per label (lower = first).

When several phrases of a label match one report, the best-ranked one decides p (aggregate.py).
The order is the schema's, i.e. the curator's (`Phrase.order` through `schema_to_engine`):

1. the label's phrases in order, each followed at once by the terms the lexicon infers from it
   (synonyms, abbreviations and implied signs alphabetically, then normal-statement anchors:
   `active_inferred_terms` order), so an inferred term moves with the phrase it came from;
2. then the attribute anchors, then the always-uncertain phrases (built-in schema), in order,
   each followed by its inferred terms likewise;
3. last, inferred terms whose origin is none of these (a synonym's own inference), and phrases
   cited only through an organ heading ("failure" under HEART: cites "heart failure", which
   is normally ranked already).

Every rank is distinct within a label, so ties happen only between mentions of one phrase.
"""
from __future__ import annotations

from annotation.engine.lexicon import active_inferred_terms
from annotation.engine.schema import Schema

Ranks = dict[str, dict[str, int]]  # label -> phrase (as Evidence.phrase cites it) -> rank


def phrase_ranks(schema: Schema) -> Ranks:
    """Rank every phrase that a mention of each label can cite (see the module docstring)."""
    terms = active_inferred_terms(schema)
    inferred: dict[tuple[str, str], list[str]] = {}
    headed: dict[str, list[str]] = {}
    for term in terms:
        if term.kind == "headed":  # its mention cites the phrase it came from
            headed.setdefault(term.label, []).append(term.from_phrase)
        elif term.kind != "exclusion":  # an exclusion never yields a mention
            inferred.setdefault((term.label, term.from_phrase), []).append(term.text)
    out: Ranks = {}
    for spec in schema.labels:
        ranks = out.setdefault(spec.name, {})
        for phrase in (*spec.phrases, *spec.attributes, *spec.uncertain):
            ranks.setdefault(phrase, len(ranks))
            for text in inferred.pop((spec.name, phrase), ()):
                ranks.setdefault(text, len(ranks))
    for (label, _origin), texts in inferred.items():
        ranks = out.setdefault(label, {})
        for text in texts:
            ranks.setdefault(text, len(ranks))
    for label, cited in headed.items():
        ranks = out.setdefault(label, {})
        for phrase in cited:
            ranks.setdefault(phrase, len(ranks))
    return out


# Past this many pair patterns, one pattern per phrase: a looser filter, but a shorter query.
_PAIR_LIMIT = 400


def reordered_texts(old_schema: Schema, old: Ranks, new_schema: Schema, new: Ranks) -> set[tuple[str, str]]:
    """(label, text) patterns: a report where none matches keeps its p under the new ranks.

    A report's p moves only when its deciding phrase does: the old one A and the new one B both
    match it (with the label's value) and now rank the other way round. A phrase that only one
    schema ranks yields mentions under that schema alone, so its reports already differ by a
    changed pattern; the rest is pairs of phrases ranked by both whose order flipped. Each pair
    gives one text holding the words of both (every word of a pattern must be in a report), per
    way each can match: the phrase itself or an organ-heading remainder that cites it
    ("failure" for "heart failure"). Too many pairs: each phrase of them alone (a superset).
    """
    pairs: set[tuple[str, str, str]] = set()
    for label in old.keys() & new.keys():
        a, b = old[label], new[label]
        if a == b:
            continue
        common = sorted((p for p in a if p in b), key=a.__getitem__)
        for i, first in enumerate(common):
            for later in common[i + 1:]:
                if b[later] < b[first]:
                    pairs.add((label, first, later))
    if not pairs:
        return set()
    cites: dict[tuple[str, str], set[str]] = {}
    for label, first, later in pairs:
        for phrase in (first, later):
            cites.setdefault((label, phrase), {phrase})
    for schema in (old_schema, new_schema):
        for term in active_inferred_terms(schema):
            if term.kind == "headed" and (term.label, term.from_phrase) in cites:
                cites[(term.label, term.from_phrase)].add(term.text)
    joint = {
        (label, f"{x} {y}")
        for label, first, later in pairs
        for x in cites[(label, first)]
        for y in cites[(label, later)]
    }
    if len(joint) <= _PAIR_LIMIT:
        return joint
    return {(label, text) for (label, _phrase), texts in cites.items() for text in texts}
