"""A report's softlabel output line, joined from JSON pieces cached with each segment.

The batch path (the ``softlabel`` command, the benchmark) needs each report's "labels" object
as JSON text. Building Evidence / Mention / LabelResult objects, then their dicts, then
``json.dumps`` cost ~20% of labelling text the segment cache has mostly not seen. Instead each
cached segment also carries its mentions pre-encoded (text, phrase and modifiers as JSON, offsets
relative to the segment, the mention's p and the label's p when the mention is alone), and a
report's line is joined from them with its absolute offsets. The text is byte-identical to
``json.dumps(results_to_json(labeler.label(text)), ensure_ascii=False)``
(tests/engine/test_lines.py); the public API keeps returning LabelResult objects.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from json.encoder import encode_basestring  # json.dumps(ensure_ascii=False)'s own str encoder
from typing import Any

from annotation.engine.aggregate import (
    best_ranked,
    combine_p,
    mention_p,
    no_finding_p,
    strongest_value,
)

# (label, value, mention p, the label's p if this mention is its only one, phrase,
#  start and end relative to the segment, the evidence JSON from ', "text": ' to '"section": ')
Piece = tuple[str, str, float, float, str, int, int, str]


class LineWriter:
    """One schema's tables for joining lines: label order and keys, phrase ranks, No Finding."""

    def __init__(
        self,
        *,
        label_order: Mapping[str, int],
        ranks: Mapping[str, Mapping[str, int]],
        no_finding_label: str | None,
        no_finding_ignore: frozenset[str],
    ) -> None:
        self._order = label_order
        self._ranks = ranks
        self._keys = {name: encode_basestring(name) + ": " for name in label_order}
        self._values: dict[str, str] = {}
        self._no_finding = no_finding_label
        self._nf_ignore = no_finding_ignore
        # small sets (sections, phrases, modifier lists): encoded once each
        self._sections: dict[str, str] = {}
        self._phrases: dict[str, str] = {}
        self._modifiers: dict[tuple[str, ...], str] = {}
        # (value, prior, probable) -> (mention p, the label's p when it is the only mention): a
        # few dozen kinds of mention, so worked out once each
        self._ps: dict[tuple[str, float, bool], tuple[float, float]] = {}

    def pieces(self, items: tuple[tuple[Any, ...], ...]) -> tuple[Piece, ...]:
        """Pre-encode a segment's mention items (``Labeler._mentions``) for ``line``."""
        phrases, modifiers, ps = self._phrases, self._modifiers, self._ps
        out: list[Piece] = []
        for label, value, prior, probable, rs, re_, surface, phrase, mods in items:
            phrase_json = phrases.get(phrase)
            if phrase_json is None:
                phrase_json = phrases[phrase] = encode_basestring(phrase)
            mods_json = modifiers.get(mods)
            if mods_json is None:
                mods_json = modifiers[mods] = json.dumps(list(mods), ensure_ascii=False)
            tail = f', "text": {encode_basestring(surface)}, "phrase": {phrase_json}, "modifiers": {mods_json}, "section": '
            kind = (value, prior, probable)
            found = ps.get(kind)
            if found is None:
                p = mention_p(value, prior, probable)
                found = ps[kind] = (p, combine_p(value, [p]))
            out.append((label, value, found[0], found[1], phrase, rs, re_, tail))
        return tuple(out)

    def line(self, segments: list[tuple[int, str, Any]], no_finding: bool) -> str:
        """The "labels" JSON of one report.

        ``segments``: (start, section name, cache entry) of the segments with mentions, in text
        order, entry[2] being their pieces; ``no_finding``: whether No Finding may be added (no
        blocker fired and the text is not blank).
        """
        sections = self._sections
        by_label: dict[str, list[tuple[Piece, str]]] = {}
        for a, section, entry in segments:
            close = sections.get(section)
            if close is None:
                close = sections[section] = encode_basestring(section) + "}"
            for piece in entry[2]:
                evidence = f'{{"start": {a + piece[5]}, "end": {a + piece[6]}{piece[7]}{close}'
                found = by_label.get(piece[0])
                if found is None:
                    by_label[piece[0]] = [(piece, evidence)]
                else:
                    found.append((piece, evidence))
        order = self._order
        labels: list[tuple[str, str, float, str]] = []  # (label, value, p, evidence JSON)
        for label in sorted(by_label, key=order.__getitem__):
            found = by_label[label]
            if len(found) == 1:  # the common case: p was worked out with the segment
                piece, evidence = found[0]
                labels.append((label, piece[1], piece[3], evidence))
                continue
            value = strongest_value([piece[1] for piece, _ in found])
            deciding = [piece for piece, _ in found if piece[1] == value]
            ranks = self._ranks.get(label)
            if ranks is not None and len(deciding) > 1:
                deciding = best_ranked(deciding, [piece[4] for piece in deciding], ranks)
            p = combine_p(value, [piece[2] for piece in deciding])
            labels.append((label, value, p, ", ".join([evidence for _, evidence in found])))
        nf = self._no_finding
        if nf is not None and no_finding:
            ignore = self._nf_ignore
            if not any(value != "negative" for label, value, _p, _e in labels if label not in ignore):
                p = no_finding_p([p for label, _v, p, _e in labels if label not in ignore])
                # it replaces a mention-based No Finding (as the LabelResult path does)
                labels = [item for item in labels if item[0] != nf]
                labels.append((nf, "positive", p, ""))
                labels.sort(key=lambda item: order[item[0]])
        if not labels:
            return "{}"
        keys, values = self._keys, self._values
        parts = []
        for label, value, p, evidence in labels:
            value_json = values.get(value)
            if value_json is None:
                value_json = values[value] = encode_basestring(value)
            parts.append(f'{keys[label]}{{"value": {value_json}, "p": {p!r}, "evidence": [{evidence}]}}')
        return "{" + ", ".join(parts) + "}"
