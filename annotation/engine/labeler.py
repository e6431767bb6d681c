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
from annotation.engine.lexicon import active_inferred_terms
from annotation.engine.lexicon import organs as organ_table
from annotation.engine.lines import LineWriter
from annotation.engine.prefilter import build_prefilter
from annotation.engine.priority import phrase_ranks
from annotation.engine.schema import Schema
from annotation.engine.sections import ignored_sections, split_sections
from annotation.engine.tokens import (  # spaCy without torch: see spacy_import.py
    PhraseMatcher,
    SpellingCorrector,
    TokenStarts,
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
_SURFACE_CACHE_SIZE = 50_000
# Segment boundaries: line breaks, and whitespace after "." / "!" (not after "vs." / "Dr.").
_SEGMENT_RE = re.compile(r"\n+|(?<![Vv]s\.)(?<!Dr\.)(?<=[.!])[ \t]+")
# The same separators, kept by re.split (segments at even indexes, separators at odd ones), and
# written to start with a character set, which lets the regex engine skip ahead to the next
# whitespace character instead of trying the look-behinds at every position (3x faster).
_SEGMENT_SPLIT_RE = re.compile(r"([\n \t](?:(?<=\n)\n*|(?<=[.!][ \t])(?<![Vv]s\.[ \t])(?<!Dr\.[ \t])[ \t]*))")

KIND_PHRASE = "P"
KIND_ATTRIBUTE = "A"
KIND_UNCERTAIN = "U"
KIND_EXCLUSION = "X"
KIND_DISABLED = "D"  # a term a curator switched off: a match inside it does not count
KIND_HEADED = "H"  # "lesion" of "hepatic lesion": counts only under a heading naming the organ
KIND_ORGAN = "O"  # an organ word; at the start of a sentence it makes the sentence about that organ
KIND_EXCLUSION_HEAD = "XH"  # "fracture" of the exclusion "fracture of the rib"
KIND_EXCLUSION_TAIL = "XT"  # "rib" of the exclusion "fracture of the rib"
# "fracture of the rib" also excludes "fracture of the right first rib": up to this many words
# between "of" and the exclusion's last noun.
_EXCLUSION_GAP = 4
_OF_RE = re.compile(r"^(?P<head>.+?) of (?:(?:the|a|an) )?(?P<tail>.+)$")
# A sentence is about an organ named among its first tokens ("The left kidney contains a cyst.").
_SUBJECT_TOKENS = 3
KIND_BLOCKER = "B"
KIND_TRIGGER = "T"
KIND_SENT = "S"
# Tokens that end a sentence. Line breaks are whitespace tokens; "vs." / "Dr." stay one token.
_SENT_TOKENS = (".", "!", "\n", "\n\n", "\n\n\n", " \n", "\n ", "\n  ", " \n\n", "\n\n ", "\r\n")
_BLOCKER_LABEL = "\x00no-finding-blocker"
# Unseen segments of a report are tokenised as one text joined by this: a whitespace token that
# is no tokenizer special case ("\n" is one, and a special case stops spaCy caching the rest).
_JOIN = "\n\n"
_JOIN_LEN = len(_JOIN)
# A segment's cache entry: (mention items, a No Finding blocker fired, the items as JSON pieces).
_EMPTY_ENTRY: tuple[tuple[tuple[Any, ...], ...], bool, tuple[Any, ...]] = ((), False, ())


class Labeler:
    """Label report texts with one schema. Cheap to rebuild; pickles as its schema."""

    def __init__(self, schema: Schema, rules: ContextRules | None = None, *, prefilter: bool = True) -> None:
        """``prefilter=False`` analyses every segment (the exactness tests compare both)."""
        self.schema = schema
        self.rules = rules or default_rules()
        self.phrase_set_hash = schema.phrase_set_hash()
        # label -> phrase -> rank: the best-ranked matching phrase sets p (priority.py)
        self.ranks = phrase_ranks(schema)
        self._label_order = {name: i for i, name in enumerate(schema.label_names())}
        self._ignored = ignored_sections()
        self._build()
        nf = schema.no_finding
        self._writer = LineWriter(
            label_order=self._label_order, ranks=self.ranks,
            no_finding_label=nf.label if nf is not None else None, no_finding_ignore=self._nf_ignore,
        )
        # Built from the finished matcher, so every kind of pattern the compile adds is covered.
        self._prefilter = (
            build_prefilter(
                nlp=self._nlp, matcher=self._matcher, key_kinds={k: v[0] for k, v in self._key_info.items()},
                # kinds that never yield a mention alone (organ words, exclusion parts, switched-off terms too)
                inert_kinds=(KIND_TRIGGER, KIND_SENT, KIND_EXCLUSION, KIND_DISABLED, KIND_ORGAN,
                             KIND_EXCLUSION_HEAD, KIND_EXCLUSION_TAIL),
                known=self._speller.known,
                correct=self._speller.correct,
            )
            if prefilter
            else None
        )

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
            # A switched-off mention reaches us as an exclusion AND as disabled: it stops only the
            # matches inside it ("bleed"), not longer phrases containing it ("hemorrhage" stays).
            disabled = set(spec.disabled)
            for phrase in spec.exclusions:
                entries.append((KIND_DISABLED if phrase in disabled else KIND_EXCLUSION, spec.name, phrase))
            for phrase, value in (spec.precision or {}).items():
                self._precision[(spec.name, phrase)] = value
        # General radiology lexicon: abbreviations, synonyms, signs, anchors, exclusions, and
        # organ-heading remainders; terms a curator disabled are not compiled.
        lexicon_kind = {"phrase": KIND_PHRASE, "attribute": KIND_ATTRIBUTE, "exclusion": KIND_EXCLUSION}
        headed: list[tuple[str, str, str, frozenset[str]]] = []
        for term in active_inferred_terms(self.schema):
            if term.kind == "headed":
                headed.append((term.label, term.text, term.from_phrase, frozenset(term.organs)))
            else:
                entries.append((lexicon_kind[term.kind], term.label, term.text))
        # "X of the Y" exclusions also cover "X of the left Y": head and tail matched apart.
        for kind, label, phrase in list(entries):
            if kind == KIND_EXCLUSION:
                m = _OF_RE.match(phrase)
                if m is not None:
                    entries.append((KIND_EXCLUSION_HEAD, label, m.group("head")))
                    entries.append((KIND_EXCLUSION_TAIL, label, m.group("tail")))
        if self.schema.no_finding is not None:
            for phrase in self.schema.no_finding.blockers:
                entries.append((KIND_BLOCKER, _BLOCKER_LABEL, phrase))

        words: set[str] = set()
        for _kind, _label, phrase in entries:
            words.update(t.lower_ for t in nlp.make_doc(phrase) if t.is_alpha)
        norm_of: dict[str, str] = {}
        # Phrase words that are inflections of each other ("lesion" in one phrase, "lesions" in
        # another) share one NORM, so each phrase matches both forms.
        canonical: dict[str, str] = {}
        for word in sorted(words):
            for variant in sorted(inflections(word)):  # sorted: the same roots in every process
                if variant in words:
                    root = min(canonical.get(word, word), canonical.get(variant, variant))
                    for w in (word, variant):
                        canonical[w] = root
        for word in sorted(words):
            for variant in sorted(inflections(word)):
                if variant not in words and variant not in norm_of:
                    norm_of[variant] = canonical.get(word, word)
        for word, root in canonical.items():
            if word != root:
                norm_of[word] = root
        for variant, word in norm_of.items():
            for form in casings(variant):
                vocab[form].norm_ = word
        self._exact_forms = frozenset(words) | frozenset(norm_of)
        self._procedure_phrases = frozenset(p for _k, _l, p in entries if self.rules.is_procedure(p))
        self._segment_cache: dict[str, Any] = {}
        # matched surface -> exact or fuzzy prior: the same few spellings match again and again
        self._surface_priors: dict[str, float] = {}
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
        self._headed_organs: dict[int, frozenset[str]] = {}
        for label, text, from_phrase, organs in headed:
            key = f"{KIND_HEADED}\x1f{label}\x1f{text}\x1f{','.join(sorted(organs))}"
            key_id = vocab.strings.add(key)
            if key_id in self._key_info:
                continue
            self._key_info[key_id] = (KIND_HEADED, label, from_phrase)
            self._headed_organs[key_id] = organs
            matcher.add(key, [nlp.make_doc(text)])
        if headed:
            for word, organs in organ_table().words.items():
                key = f"{KIND_ORGAN}\x1f{word}"
                key_id = vocab.strings.add(key)
                self._key_info[key_id] = (KIND_ORGAN, "", word)
                self._headed_organs[key_id] = organs
                matcher.add(key, [nlp.make_doc(word)])
        self._trigger_rules: dict[int, tuple[Any, ...]] = {}
        for literal, rules in self.rules.by_literal.items():
            key = f"{KIND_TRIGGER}\x1f{literal}"
            pattern = nlp.make_doc(literal)
            if not len(pattern):
                continue
            key_id = vocab.strings.add(key)
            self._key_info[key_id] = (KIND_TRIGGER, "", literal)
            self._trigger_rules[key_id] = self.rules.trigger_info(rules)
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
        # key -> (label, kind, phrase) of the targets that need no other match to count
        self._plain_targets = {
            key_id: (label, kind, phrase)
            for key_id, (kind, label, phrase) in self._key_info.items()
            if kind in (KIND_PHRASE, KIND_ATTRIBUTE, KIND_UNCERTAIN, KIND_BLOCKER)
        }
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

    def iter_lines(self, texts: Iterable[str]) -> Iterator[str]:
        """Yield each report's "labels" object as JSON text: the same text as ``json.dumps(
        results_to_json(label(text)), ensure_ascii=False)``, joined from cached pieces (lines.py)."""
        writer_line = self._writer.line
        no_finding = self.schema.no_finding is not None
        for text in texts:
            text = self._prepare(text)
            segments, blocked = self._segment_entries(text)
            yield writer_line(segments, no_finding and not blocked and bool(text.strip()))

    # -- internals ---------------------------------------------------------------------------
    @staticmethod
    def _prepare(text: str) -> str:
        """Unwrap wrapped lines (same length: offsets hold)."""
        if "\n" in text:
            text = _WRAP_RE.sub(" ", text)
        return text

    def _label_text(self, text: str) -> dict[str, LabelResult]:
        """Label one prepared report from its sentence segments (``_segment_entries``)."""
        segments, blocked = self._segment_entries(text)
        by_label: dict[str, list[Mention]] = {}
        for a, sec_name, (items, _blocked, _pieces) in segments:
            for label, value, prior, probable, rs, re_, surface, phrase, mods in items:
                mention = Mention(label, value, prior, probable, Evidence(a + rs, a + re_, surface, phrase, list(mods), sec_name))
                found = by_label.get(label)
                if found is None:
                    by_label[label] = [mention]
                else:
                    found.append(mention)
        results: dict[str, LabelResult] = {}
        order = self._label_order
        for label in sorted(by_label, key=order.__getitem__):
            results[label] = aggregate(by_label[label], self.ranks.get(label))
        nf = self.schema.no_finding
        if nf is not None and not blocked and text.strip():
            ignore = self._nf_ignore
            if not any(r.value != "negative" for name, r in results.items() if name not in ignore):
                others = [r.p for name, r in results.items() if name not in ignore]
                results[nf.label] = no_finding_result(others)
                results = {k: results[k] for k in sorted(results, key=order.__getitem__)}
        return results

    def _segment_entries(self, text: str) -> tuple[list[tuple[int, str, Any]], bool]:
        """(start, section name, cache entry) of the segments with mentions, and whether a No
        Finding blocker fired, for one prepared report.

        Radiologists reuse sentences verbatim ("No pneumothorax.", "The lungs are clear."), and
        every ConText decision stays inside a sentence, so the whole analysis of a segment
        (tokens, matches, decisions) is memoised by its text: only unseen sentences reach spaCy,
        and those of one report reach it together (one tokenizer and one matcher call, see
        ``_analyse_missing``). Segments never cross a section boundary; ignored sections are
        not analysed at all.
        """
        ignored = self._ignored
        cache = self._segment_cache
        cache_get = cache.get
        headed = bool(self._headed_organs)
        # (start, section name, cache key, cached entry or None) of each segment that may hold a
        # mention, in text order (a cached segment without mentions or blocker is left out)
        segs: list[tuple[int, str, Any, Any]] = []
        missing: dict[Any, tuple[str, frozenset[str] | None]] = {}
        split = _SEGMENT_SPLIT_RE.split
        for section in split_sections(text):
            sec_name = section.name
            if sec_name in ignored:
                continue
            organs = section.organs if headed else None
            a = section.start
            # segment, separator, segment, ...: each segment's offset from the lengths before it
            parts = split(text[a : section.end])
            last = len(parts) - 1
            for i in range(0, last + 1, 2):
                segment = parts[i]
                if segment:  # an empty segment holds nothing
                    key: Any = (organs, segment) if organs else segment
                    entry = cache_get(key)
                    if entry is None:
                        if key not in missing:
                            missing[key] = (segment, organs)
                        segs.append((a, sec_name, key, None))
                    elif entry[0] or entry[1]:
                        segs.append((a, sec_name, key, entry))
                    a += len(segment)
                if i < last:
                    a += len(parts[i + 1])
        fresh = self._analyse_missing(missing) if missing else None
        out: list[tuple[int, str, Any]] = []
        blocked = False
        for a, sec_name, key, entry in segs:
            if entry is None:
                entry = fresh[key]  # type: ignore[index]
            if entry[1]:
                blocked = True
            if entry[0]:
                out.append((a, sec_name, entry))
        return out, blocked

    def _analyse_missing(self, missing: dict[Any, tuple[str, frozenset[str] | None]]) -> dict[Any, Any]:
        """Analyse the segments of one report the cache lacks; store and return {key: entry}.

        The segments that may hold a mention are tokenised and matched together: joined by
        ``_JOIN`` (a whitespace token of its own between segments that neither start nor end with
        whitespace, so each segment's tokens are exactly those it gets alone), one tokenizer
        call, one matcher call, matches crossing a separator dropped. Segments with whitespace
        at an edge take the one-segment path. Same entries as ``_analyse`` on each segment.
        """
        cache = self._segment_cache
        prefilter = self._prefilter
        fresh: dict[Any, Any] = {}
        joint: list[tuple[Any, str, frozenset[str] | None]] = []
        for key, (segment, organs) in missing.items():
            if not segment.strip() or (prefilter is not None and not prefilter.may_match(segment)):
                fresh[key] = _EMPTY_ENTRY
                continue
            if segment[0].isspace() or segment[-1].isspace():
                fresh[key] = self._analyse(segment, organs)
                continue
            joint.append((key, segment, organs))
        if len(joint) == 1:
            key, segment, organs = joint[0]
            self._learn_misspellings(segment)
            doc = self._tokenizer(segment)
            matches = self._matcher(doc)
            fresh[key] = self._mentions(segment, doc, matches, organs) if matches else _EMPTY_ENTRY
        elif joint:
            joined = _JOIN.join([seg for _k, seg, _o in joint])
            # One scan for all: the separator ends words as the segments' own edges do.
            self._learn_misspellings(joined)
            doc = self._tokenizer(joined)
            matches = self._matcher(doc)
            # Each separator is one whitespace token, and a sentence-end match: find them there.
            sep_chars: set[int] = set()
            char = 0
            for _k, seg, _o in joint[:-1]:
                char += len(seg)
                sep_chars.add(char)
                char += _JOIN_LEN
            sent_key = self._sent_key
            seps = sorted(s for key_id, s, _e in matches if key_id == sent_key and doc[s].idx in sep_chars)
            if len(seps) != len(sep_chars) or len(set(seps)) != len(seps):  # never seen: be safe
                for key, seg, organs in joint:
                    fresh[key] = self._analyse(seg, organs)
                joint = []
                seps = []
                matches = []
            seg_t0 = [0, *(t + 1 for t in seps)]
            seg_t1 = [*seps, len(doc)]
            per_seg: list[list[tuple[int, int, int]]] = [[] for _ in joint]
            bisect_right = bisect.bisect_right
            # Matches come by start token: move to the next segment only when one starts past it.
            t0, t1, found_in = 0, seg_t1[0] if seg_t1 else 0, per_seg[0] if per_seg else []
            for key_id, s, e in matches:
                if s >= t1:
                    i = bisect_right(seg_t0, s) - 1
                    t0, t1, found_in = seg_t0[i], seg_t1[i], per_seg[i]
                if s < t1 and e <= t1:
                    found_in.append((key_id, s - t0, e - t0))
            for i, (key, seg, organs) in enumerate(joint):
                found = per_seg[i]
                if found:
                    t0 = seg_t0[i]
                    fresh[key] = self._mentions(seg, doc, found, organs, doc[t0].idx, t0, seg_t1[i] - t0)
                else:
                    fresh[key] = _EMPTY_ENTRY
        for key, entry in fresh.items():
            if len(cache) >= _SEGMENT_CACHE_SIZE:
                cache.clear()
            cache[key] = entry
        return fresh

    def _learn_misspellings(self, segment: str) -> None:
        """Give the misspellings first seen in ``segment`` the NORM of the word they stand for."""
        vocab = self._nlp.vocab
        for raw, norm in self._speller.scan(segment):
            for form in {raw, *casings(raw.lower())}:
                vocab[form].norm_ = norm

    def _add_segment(
        self,
        text: str,
        a: int,
        b: int,
        section: str,
        cache: dict[Any, Any],
        by_label: dict[str, list[Mention]],
        organs: frozenset[str] | None = None,
    ) -> bool:
        """Add the mentions of text[a:b] to ``by_label``; return True if a No Finding blocker fired.

        ``organs``: the organs named by the section's heading; organ-heading terms ("lesion" for
        "hepatic lesion") count only there, so such segments are cached under (organs, text).
        (One segment at a time; ``_label_text`` does the same for a whole report.)
        """
        segment = text[a:b]
        key: Any = (organs, segment) if organs else segment
        entry = cache.get(key)
        if entry is None:
            entry = self._analyse(segment, organs)
            if len(cache) >= _SEGMENT_CACHE_SIZE:
                cache.clear()
            cache[key] = entry
        items, blocked, _pieces = entry
        for label, value, prior, probable, rs, re_, surface, phrase, mods in items:
            evidence = Evidence(a + rs, a + re_, surface, phrase, list(mods), section)
            mention = Mention(label, value, prior, probable, evidence)
            found = by_label.get(label)
            if found is None:
                by_label[label] = [mention]
            else:
                found.append(mention)
        return blocked

    def _analyse(
        self, segment: str, organs: frozenset[str] | None = None
    ) -> tuple[tuple[tuple[Any, ...], ...], bool, tuple[Any, ...]]:
        """Tokens, matches and ConText decisions of one segment (offsets relative to it)."""
        if not segment.strip():
            return _EMPTY_ENTRY
        if self._prefilter is not None and not self._prefilter.may_match(segment):
            return _EMPTY_ENTRY  # no pattern can match: skip spaCy (exact, see prefilter.py)
        self._learn_misspellings(segment)
        doc = self._tokenizer(segment)
        matches = self._matcher(doc)
        if not matches:
            return _EMPTY_ENTRY
        return self._mentions(segment, doc, matches, organs)

    def _mentions(
        self,
        text: str,
        doc: Any,
        matches: list[tuple[int, int, int]],
        organs: frozenset[str] | None = None,
        base: int = 0,
        t0: int = 0,
        n_tokens: int | None = None,
    ) -> tuple[tuple[tuple[Any, ...], ...], bool, tuple[Any, ...]]:
        """Split matches into targets / exclusions / triggers / sentence ends, then decide each.

        ``text`` is one segment (inside one section); ``doc`` its tokens, or a longer Doc in which
        the segment is the ``n_tokens`` tokens from token ``t0`` and the characters from ``base``
        (a Span would cost ~2 us to make); token indexes of ``matches`` are relative to ``t0``. Returns the cache entry (items, blocked,
        pieces): each item (label, value, prior, probable, start, end, surface, phrase,
        modifiers), and the items pre-encoded for the line writer (lines.py)."""
        if n_tokens is None:
            n_tokens = len(doc)
        key_info = self._key_info
        trigger_rules = self._trigger_rules
        plain_targets = self._plain_targets
        sent_key = self._sent_key
        per_label: dict[str, list[tuple[int, int, str, str]]] = {}
        exclusions: dict[str, list[tuple[int, int]]] = {}
        disabled: dict[str, list[tuple[int, int]]] = {}
        headed_organs = self._headed_organs
        headed: list[tuple[int, int, str, str, frozenset[str]]] = []
        organ_starts: list[tuple[int, frozenset[str]]] = []
        excl_heads: list[tuple[int, int, str]] = []
        excl_tails: list[tuple[int, int, str]] = []
        found_triggers: list[tuple[int, int, tuple[Any, bool]]] = []
        sent_ends: list[int] = []
        for key, s, e in matches:
            if key == sent_key:
                sent_ends.append(s)
                continue
            rules = trigger_rules.get(key)
            if rules is not None:
                found_triggers.append((s, e, rules))
                continue
            plain = plain_targets.get(key)
            if plain is not None:
                label, kind, phrase = plain
                found = per_label.get(label)
                if found is None:
                    per_label[label] = [(s, e, kind, phrase)]
                else:
                    found.append((s, e, kind, phrase))
                continue
            kind, label, phrase = key_info[key]
            if kind == KIND_EXCLUSION:
                exclusions.setdefault(label, []).append((s, e))
            elif kind == KIND_DISABLED:
                disabled.setdefault(label, []).append((s, e))
            elif kind == KIND_HEADED:
                if organs and headed_organs[key] & organs:
                    per_label.setdefault(label, []).append((s, e, KIND_PHRASE, phrase))
                else:
                    headed.append((s, e, label, phrase, headed_organs[key]))
            elif kind == KIND_ORGAN:
                organ_starts.append((s, headed_organs[key]))
            elif kind == KIND_EXCLUSION_HEAD:
                excl_heads.append((s, e, label))
            elif kind == KIND_EXCLUSION_TAIL:
                excl_tails.append((s, e, label))
            else:
                per_label.setdefault(label, []).append((s, e, kind, phrase))
        if excl_heads and excl_tails:
            for hs, he, label in excl_heads:
                if he >= n_tokens or doc[t0 + he].lower_ != "of":
                    continue
                for ts, te, tail_label in excl_tails:
                    if tail_label == label and he < ts <= he + 2 + _EXCLUSION_GAP and not any(
                        t.is_punct or t.is_space for t in doc[t0 + he : t0 + ts]
                    ):
                        exclusions.setdefault(label, []).append((hs, te))
        if headed and organ_starts:
            # Not under a heading of the organ: count where the sentence starts with it.
            ends = sorted(sent_ends)
            for s, e, label, phrase, need in headed:
                i = bisect.bisect_left(ends, s)
                first = ends[i - 1] + 1 if i > 0 else 0
                for j in range(first, min(first + 6, s)):  # after a header ("FINDINGS: The liver ...")
                    if doc[t0 + j].text == ":":
                        first = j + 1
                if any(first <= os_ < first + _SUBJECT_TOKENS and os_ < s and need & names for os_, names in organ_starts):
                    per_label.setdefault(label, []).append((s, e, KIND_PHRASE, phrase))
        if not per_label:
            return _EMPTY_ENTRY
        # Longest non-overlapping match per label; a match touching an exclusion is dropped.
        targets: list[tuple[int, int, str, str, str]] = []
        for label, items in per_label.items():
            off = disabled.get(label)
            if off:  # a match inside a term a curator switched off
                items = [it for it in items if not any(ds <= it[0] and it[1] <= de for ds, de in off)]
            if len(items) > 1:
                items.sort(key=_leftmost_longest)
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
        surface_priors = self._surface_priors
        starts = TokenStarts(doc, base, t0)  # offsets read on demand (to_array costs more than a few reads)
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
        procedures = self._procedure_phrases
        out: list[tuple[Any, ...]] = []
        # (sentence, label, is attribute) of each item of ``out``
        where: list[tuple[int, str, bool]] = []
        blocked = False
        bisect_left = bisect.bisect_left
        for s, e, label, kind, phrase in targets:
            i = bisect_left(sent_ends, s)
            sent_start = sent_ends[i - 1] + 1 if i > 0 else 0
            sent_end = sent_ends[i] if i < len(sent_ends) else n_tokens
            lo = bisect_left(trig_starts, sent_start)
            hi = bisect_left(trig_starts, sent_end)
            decision = rules.decide(
                s, e, triggers[lo:hi], kind == KIND_ATTRIBUTE, kind == KIND_UNCERTAIN, has_comma,
                phrase in descriptive, finding_between, phrase in procedures,
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
                    prior = surface_priors.get(surface)
                    if prior is None:
                        exact = exact_forms.issuperset(_ALPHA_RE.findall(surface.lower()))
                        prior = EXACT_PRIOR if exact else FUZZY_PRIOR
                        if len(surface_priors) < _SURFACE_CACHE_SIZE:
                            surface_priors[surface] = prior
            out.append((label, decision.value, prior, decision.probable, cs, ce, surface, phrase, decision.modifiers))
            where.append((i, label, kind == KIND_ATTRIBUTE))
        if any(attr for _, _, attr in where):
            # An anchor speaks for its label only when the sentence does not name the finding
            # itself: "ventricles are mildly prominent, ... rather than hydrocephalus" is about
            # hydrocephalus, negated, not about prominent ventricles.
            named = {(i, label) for i, label, attr in where if not attr}
            out = [item for item, (i, label, attr) in zip(out, where, strict=True) if not (attr and (i, label) in named)]
        if not out:
            return ((), True, ()) if blocked else _EMPTY_ENTRY
        items = tuple(out)
        return items, blocked, self._writer.pieces(items)


def _leftmost_longest(item: tuple[Any, ...]) -> tuple[int, int]:
    """Sort key of (start, end, ...) matches: by start, the longest first."""
    return (item[0], item[0] - item[1])


def results_to_json(results: dict[str, LabelResult]) -> dict[str, Any]:
    """The "labels" object of the softlabel output contract."""
    return {name: res.to_json() for name, res in results.items()}

