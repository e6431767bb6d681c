"""The Labeler: schema in, soft labels out.

Compiled once per schema (tokenizer, one PhraseMatcher for targets / exclusions / No Finding
blockers, the ConText regex, spelling corrector); then each report costs one spaCy tokenization,
one C-level match, and Python work only around the few matches it contains.
"""
from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from typing import Any

from annotation.engine.aggregate import (
    ATTRIBUTE_PRIOR,
    EXACT_PRIOR,
    FUZZY_PRIOR,
    Evidence,
    LabelResult,
    Mention,
    aggregate,
    no_finding_result,
)
from annotation.engine.context import ContextRules, default_rules
from annotation.engine.lexicon import expansions
from annotation.engine.schema import Schema
from annotation.engine.sections import ignored_sections, split_sections
from annotation.engine.tokens import (  # spaCy without torch: see spacy_import.py
    IDX,
    PhraseMatcher,
    SpellingCorrector,
    casings,
    inflections,
    known_words,
    make_nlp,
)
from annotation.engine.version import ENGINE_VERSION  # noqa: F401  (re-exported)

# A line break inside a sentence (next line starts lower-case) is wrapping, not a boundary.
_WRAP_RE = re.compile(r"\n(?=[ \t]*[a-z])")
_ALPHA_RE = re.compile(r"[a-z]+")
_SEGMENT_CACHE_SIZE = 200_000
# Segment boundaries: line breaks, and whitespace after "." / "!" (not after "vs." / "Dr.").
_SEGMENT_RE = re.compile(r"\n+|(?<![Vv]s\.)(?<!Dr\.)(?<=[.!])[ \t]+")

KIND_PHRASE = "P"
KIND_ATTRIBUTE = "A"
KIND_UNCERTAIN = "U"
KIND_EXCLUSION = "X"
KIND_BLOCKER = "B"
KIND_TRIGGER = "T"
KIND_SENT = "S"
# Tokens that end a sentence. Line breaks are whitespace tokens; "vs." / "Dr." stay one token.
_SENT_TOKENS = (".", "!", "\n", "\n\n", "\n\n\n", " \n", "\n ", "\n  ", " \n\n", "\n\n ", "\r\n")
_BLOCKER_LABEL = "\x00no-finding-blocker"


class Labeler:
    """Label report texts with one schema. Cheap to rebuild; pickles as its schema."""

    def __init__(self, schema: Schema, rules: ContextRules | None = None) -> None:
        self.schema = schema
        self.rules = rules or default_rules()
        self.phrase_set_hash = schema.phrase_set_hash()
        self._label_order = {name: i for i, name in enumerate(schema.label_names())}
        self._ignored = ignored_sections()
        self._build()

    def __reduce__(self) -> tuple[Any, ...]:
        return (Labeler, (self.schema,))

    # -- compile -----------------------------------------------------------------------------
    def _build(self) -> None:
        nlp = make_nlp()
        self._nlp = nlp
        self._tokenizer = nlp.tokenizer
        vocab = nlp.vocab
        entries: list[tuple[str, str, str]] = []
        self._precision: dict[tuple[str, str], float] = {}
        for spec in self.schema.labels:
            for phrase in spec.phrases:
                entries.append((KIND_PHRASE, spec.name, phrase))
            for phrase in spec.attributes:
                entries.append((KIND_ATTRIBUTE, spec.name, phrase))
            for phrase in spec.uncertain:
                entries.append((KIND_UNCERTAIN, spec.name, phrase))
            for phrase in spec.exclusions:
                entries.append((KIND_EXCLUSION, spec.name, phrase))
            for phrase, value in (spec.precision or {}).items():
                self._precision[(spec.name, phrase)] = value
        # General radiology lexicon: abbreviations, synonyms, signs, anchors, exclusions.
        lexicon_kind = {"phrase": KIND_PHRASE, "attribute": KIND_ATTRIBUTE, "exclusion": KIND_EXCLUSION}
        for kind, label, phrase in expansions(self.schema):
            entries.append((lexicon_kind[kind], label, phrase))
        if self.schema.no_finding is not None:
            for phrase in self.schema.no_finding.blockers:
                entries.append((KIND_BLOCKER, _BLOCKER_LABEL, phrase))

        words: set[str] = set()
        for _kind, _label, phrase in entries:
            words.update(t.lower_ for t in nlp.make_doc(phrase) if t.is_alpha)
        norm_of: dict[str, str] = {}
        for word in sorted(words):
            for variant in sorted(inflections(word)):
                if variant not in words and variant not in norm_of:
                    norm_of[variant] = word
        for variant, word in norm_of.items():
            for form in casings(variant):
                vocab[form].norm_ = word
        self._exact_forms = frozenset(words) | frozenset(norm_of)
        self._segment_cache: dict[str, Any] = {}
        nf = self.schema.no_finding
        self._nf_ignore = frozenset([*nf.ignore, nf.label]) if nf is not None else frozenset()

        matcher = PhraseMatcher(vocab, attr="NORM")
        self._key_info: dict[int, tuple[str, str, str]] = {}
        for kind, label, phrase in entries:
            key = f"{kind}\x1f{label}\x1f{phrase}"
            key_id = vocab.strings.add(key)
            if key_id in self._key_info:
                continue
            self._key_info[key_id] = (kind, label, phrase)
            matcher.add(key, [nlp.make_doc(phrase)])
        self._trigger_rules: dict[int, tuple[Any, ...]] = {}
        for literal, rules in self.rules.by_literal.items():
            key = f"{KIND_TRIGGER}\x1f{literal}"
            pattern = nlp.make_doc(literal)
            if not len(pattern):
                continue
            key_id = vocab.strings.add(key)
            self._key_info[key_id] = (KIND_TRIGGER, "", literal)
            self._trigger_rules[key_id] = rules
            matcher.add(key, [pattern])
        sent_key = vocab.strings.add(KIND_SENT)
        self._key_info[sent_key] = (KIND_SENT, "", "")
        sent_patterns = []
        for tok in _SENT_TOKENS:
            doc = nlp.make_doc(tok)
            if len(doc) == 1:
                sent_patterns.append(doc)
        matcher.add(KIND_SENT, sent_patterns)
        self._sent_key = sent_key
        self._matcher = matcher
        targets = {w: w for w in words} | norm_of
        self._speller = SpellingCorrector(targets, known_words() | self.rules.words)

    # -- public API --------------------------------------------------------------------------
    def label(self, text: str) -> dict[str, LabelResult]:
        """Return {label name: LabelResult} for one report; labels not mentioned are absent."""
        return self._label_text(self._prepare(text))

    def label_many(self, texts: Iterable[str], batch_size: int = 512) -> list[dict[str, LabelResult]]:
        """Label several reports (``batch_size`` is kept for callers; segments are cached instead)."""
        return list(self.iter_label(texts, batch_size=batch_size))

    def iter_label(self, texts: Iterable[str], batch_size: int = 512) -> Iterator[dict[str, LabelResult]]:
        for text in texts:
            yield self._label_text(self._prepare(text))

    # -- internals ---------------------------------------------------------------------------
    @staticmethod
    def _prepare(text: str) -> str:
        """Unwrap wrapped lines (same length: offsets hold)."""
        if "\n" in text:
            text = _WRAP_RE.sub(" ", text)
        return text

    def _label_text(self, text: str) -> dict[str, LabelResult]:
        """Label one prepared report from its sentence segments.

        Radiologists reuse sentences verbatim ("No pneumothorax.", "The lungs are clear."), and
        every ConText decision stays inside a sentence, so the whole analysis of a segment
        (tokens, matches, decisions) is memoised by its text: only unseen sentences reach spaCy.
        Segments never cross a section boundary; ignored sections are not analysed at all.
        """
        ignored = self._ignored
        cache = self._segment_cache
        by_label: dict[str, list[Mention]] = {}
        blocked = False
        for section in split_sections(text):
            if section.name in ignored:
                continue
            sec_name = section.name
            pos = section.start
            stop = section.end
            for sep in _SEGMENT_RE.finditer(text, pos, stop):
                blocked |= self._add_segment(text, pos, sep.start(), sec_name, cache, by_label)
                pos = sep.end()
            if pos < stop:
                blocked |= self._add_segment(text, pos, stop, sec_name, cache, by_label)
        results: dict[str, LabelResult] = {}
        order = self._label_order
        for label in sorted(by_label, key=order.__getitem__):
            results[label] = aggregate(by_label[label])
        nf = self.schema.no_finding
        if nf is not None and not blocked and text.strip():
            ignore = self._nf_ignore
            if not any(r.value != "negative" for name, r in results.items() if name not in ignore):
                others = [r.p for name, r in results.items() if name not in ignore]
                results[nf.label] = no_finding_result(others)
                results = {k: results[k] for k in sorted(results, key=order.__getitem__)}
        return results

    def _add_segment(
        self, text: str, a: int, b: int, section: str, cache: dict[str, Any], by_label: dict[str, list[Mention]]
    ) -> bool:
        """Add the mentions of text[a:b] to ``by_label``; return True if a No Finding blocker fired."""
        segment = text[a:b]
        entry = cache.get(segment)
        if entry is None:
            entry = self._analyse(segment)
            if len(cache) >= _SEGMENT_CACHE_SIZE:
                cache.clear()
            cache[segment] = entry
        items, blocked = entry
        for label, value, prior, probable, rs, re_, surface, phrase, mods in items:
            evidence = Evidence(a + rs, a + re_, surface, phrase, list(mods), section)
            mention = Mention(label, value, prior, probable, evidence)
            found = by_label.get(label)
            if found is None:
                by_label[label] = [mention]
            else:
                found.append(mention)
        return blocked

    def _analyse(self, segment: str) -> tuple[tuple[tuple[Any, ...], ...], bool]:
        """Tokens, matches and ConText decisions of one segment (offsets relative to it)."""
        if not segment.strip():
            return (), False
        vocab = self._nlp.vocab
        for raw, norm in self._speller.scan(segment):
            for form in {raw, *casings(raw.lower())}:
                vocab[form].norm_ = norm
        doc = self._tokenizer(segment)
        matches = self._matcher(doc)
        if not matches:
            return (), False
        return self._mentions(segment, doc, matches)

    def _mentions(
        self, text: str, doc: Any, matches: list[tuple[int, int, int]]
    ) -> tuple[tuple[tuple[Any, ...], ...], bool]:
        """Split matches into targets / exclusions / triggers / sentence ends, then decide each.

        ``text`` is one segment (inside one section). Returns (items, blocked), each item
        (label, value, prior, probable, start, end, surface, phrase, modifiers).
        """
        key_info = self._key_info
        trigger_rules = self._trigger_rules
        sent_key = self._sent_key
        per_label: dict[str, list[tuple[int, int, str, str]]] = {}
        exclusions: dict[str, list[tuple[int, int]]] = {}
        found_triggers: list[tuple[int, int, tuple[Any, ...]]] = []
        sent_ends: list[int] = []
        for key, s, e in matches:
            if key == sent_key:
                sent_ends.append(s)
                continue
            rules = trigger_rules.get(key)
            if rules is not None:
                found_triggers.append((s, e, rules))
                continue
            kind, label, phrase = key_info[key]
            if kind == KIND_EXCLUSION:
                exclusions.setdefault(label, []).append((s, e))
            else:
                per_label.setdefault(label, []).append((s, e, kind, phrase))
        if not per_label:
            return (), False
        # Longest non-overlapping match per label; a match touching an exclusion is dropped.
        targets: list[tuple[int, int, str, str, str]] = []
        for label, items in per_label.items():
            items.sort(key=lambda it: (it[0], it[0] - it[1]))
            excl = exclusions.get(label, ())
            last_end = -1
            for s, e, kind, phrase in items:
                if s < last_end:
                    continue
                if excl and any(xs < e and xe > s for xs, xe in excl):
                    continue
                targets.append((s, e, label, kind, phrase))
                last_end = e
        targets.sort()
        triggers = self.rules.select(found_triggers)
        trig_starts = [t.start for t in triggers]
        sent_ends.sort()
        rules = self.rules
        precision = self._precision
        exact_forms = self._exact_forms
        n_tokens = len(doc)
        starts = doc.to_array(IDX).tolist()
        text_len = len(text)

        def end_char(e: int) -> int:
            """End offset of token e-1: the next token's start minus the whitespace between."""
            ce = starts[e] if e < n_tokens else text_len
            while text[ce - 1].isspace():
                ce -= 1
            return ce

        def has_comma(a: int, b: int) -> bool:
            return a < b and text.find(",", starts[a], starts[b]) != -1

        findings = [(s, e) for s, e, _, kind, _ in targets if kind in (KIND_PHRASE, KIND_UNCERTAIN)]

        def finding_between(a: int, b: int) -> bool:
            return any(a <= fs and fe <= b for fs, fe in findings)

        descriptive = rules.descriptive
        out: list[tuple[Any, ...]] = []
        blocked = False
        for s, e, label, kind, phrase in targets:
            i = bisect.bisect_left(sent_ends, s)
            sent_start = sent_ends[i - 1] + 1 if i > 0 else 0
            sent_end = sent_ends[i] if i < len(sent_ends) else n_tokens
            lo = bisect.bisect_left(trig_starts, sent_start)
            hi = bisect.bisect_left(trig_starts, sent_end)
            decision = rules.decide(
                s, e, triggers[lo:hi], kind == KIND_ATTRIBUTE, kind == KIND_UNCERTAIN, has_comma,
                phrase in descriptive, finding_between,
            )
            if decision.value is None:
                continue
            if kind == KIND_BLOCKER:
                if decision.value != "negative":
                    blocked = True
                continue
            cs = starts[s]
            ce = end_char(e)
            surface = text[cs:ce]
            prior = precision.get((label, phrase)) if precision else None
            if prior is None:
                if kind == KIND_ATTRIBUTE:
                    prior = ATTRIBUTE_PRIOR
                else:
                    exact = all(w in exact_forms for w in _ALPHA_RE.findall(surface.lower()))
                    prior = EXACT_PRIOR if exact else FUZZY_PRIOR
            out.append((label, decision.value, prior, decision.probable, cs, ce, surface, phrase, decision.modifiers))
        return tuple(out), blocked


def results_to_json(results: dict[str, LabelResult]) -> dict[str, Any]:
    """The "labels" object of the softlabel output contract."""
    return {name: res.to_json() for name, res in results.items()}
