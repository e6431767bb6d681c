"""An exact, cheap test that a sentence segment cannot produce a mention.

Most of the labelling time on text the segment cache has not seen is spaCy tokenising segments
that hold no finding at all ("Degenerative changes of the thoracic spine.", "Findings discussed
with Dr. X at 10:15."). A segment yields a mention only if the PhraseMatcher finds a target-like
pattern (a phrase, attribute anchor, uncertain phrase, No Finding blocker or any kind added
later) in it; ConText triggers, sentence ends and exclusions alone never yield anything. Every
such pattern needs ALL its tokens, so it is enough to look for ONE token per pattern: the
longest alphabetic one ("effusion" for "pleural effusion", "ventricles" for "the ventricles").

The matcher compares lexeme NORMs, so a text token reaches a chosen norm ``n`` only as

* its lower-case form, when that is ``n`` (spaCy's default NORM is ``str.lower`` for letters),
* an inflected / British form whose lexeme was given the NORM ``n`` at compile time (read back
  from the vocab, so whatever the compile adds is seen),
* a misspelling that the SpellingCorrector maps onto ``n`` (decided per word, the corrector's
  own deterministic rule, cached),
* a tokenizer special case that sets its own NORM or splits inside a run of letters ("cannot"
  -> "can" + "not"): those few special cases are looked for as plain substrings.

Letter tokens never start or end inside a run of ASCII letters except through special cases
(spaCy's prefix, suffix and infix rules split only at non-letters), so for an ASCII segment
"some maximal run of letters, lower-cased, is a chosen form" is a superset test. Segments with
any non-ASCII character always take the full path. The pattern set is read from the compiled
PhraseMatcher itself, so phrases added by new schema features are covered without a list here.
Exactness is checked by tests/engine/test_prefilter.py (output with and without the prefilter
byte-identical on generated, held-out and hard-case reports).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from typing import Any

_RUN_RE = re.compile(r"[a-z]+")
_MISSPELLING_MIN = 5  # the SpellingCorrector looks only at words of >= 5 letters
_VERDICT_CACHE_SIZE = 500_000


class SegmentPrefilter:
    """``may_match(segment)`` is False only when the segment cannot produce any mention."""

    __slots__ = ("_correct", "_forms", "_known", "_norms", "_special", "_verdicts", "always")

    def __init__(
        self,
        *,
        chosen_norms: Collection[str],
        forms: Collection[str],
        substrings: Iterable[str],
        known: Collection[str],
        correct: Callable[[str], str | None],
        always: bool = False,
    ) -> None:
        self._norms = frozenset(chosen_norms)
        self._forms = frozenset(forms) | self._norms
        # Special cases match case-sensitively; looking for them lower-cased in the lower-cased
        # segment is a superset, and most are casings of one another ("Nothin", "nothin").
        lowered = {sub.lower() for sub in substrings}
        self._special = tuple(sorted(sub for sub in lowered if not any(o != sub and o in sub for o in lowered)))
        self._known = known
        self._correct = correct
        self._verdicts: dict[str, bool] = {}
        # True when some pattern has no letter token: the test cannot be exact, so never skip.
        self.always = always

    def may_match(self, segment: str) -> bool:
        if self.always or not segment.isascii():
            return True
        lower = segment.lower()
        runs = _RUN_RE.findall(lower)
        # first: it decides most segments that pass (and stops at the first form found)
        if not self._forms.isdisjoint(runs):
            return True
        for sub in self._special:
            if sub in lower:
                return True
        known = self._known
        verdicts = self._verdicts
        for run in set(runs):
            if len(run) < _MISSPELLING_MIN or run in known:
                continue
            verdict = verdicts.get(run)
            if verdict is None:
                verdict = self._correct(run) in self._norms
                if len(verdicts) >= _VERDICT_CACHE_SIZE:
                    verdicts.clear()
                verdicts[run] = verdict
            if verdict:
                return True
        return False


def build_prefilter(
    *,
    nlp: Any,
    matcher: Any,
    key_kinds: dict[int, str],
    inert_kinds: Collection[str],
    known: Collection[str],
    correct: Callable[[str], str | None],
) -> SegmentPrefilter:
    """Build the prefilter from a compiled PhraseMatcher (NORM patterns) and its vocab.

    ``key_kinds``: matcher key id -> kind; keys of ``inert_kinds`` (triggers, sentence ends,
    exclusions) cannot yield a mention alone and are left out; a key of unknown kind counts.
    ``known`` / ``correct``: the SpellingCorrector's known words and its correction function.
    """
    vocab = nlp.vocab
    strings = vocab.strings
    # PhraseMatcher keeps its patterns as {key string: {tuple of attribute hashes}}; its pickling
    # tuple is the only public way to read them back.
    patterns: dict[str, set[tuple[int, ...]]] = matcher.__reduce__()[1][1]
    alphas: list[list[str]] = []
    always = False
    for key, docs in patterns.items():
        if key_kinds.get(strings.add(key)) in inert_kinds:
            continue
        for doc in docs:
            alpha = [w for w in (strings[h] for h in doc) if w.isascii() and w.isalpha() and w == w.lower()]
            if alpha:
                alphas.append(alpha)
            else:
                always = True  # no letter token to look for: never skip
    chosen = _hitting_set(alphas)
    # Lexemes whose NORM was set to a chosen norm (inflections, casings) at compile time.
    forms = {lex.lower_ for lex in vocab if lex.norm_ in chosen}
    substrings: list[str] = []
    for orth in nlp.tokenizer.rules:
        doc = nlp.make_doc(orth)
        for tok in doc:
            text = tok.text
            letters = text.isascii() and text.isalpha()
            misspelt = letters and len(text) >= _MISSPELLING_MIN and text.lower() not in known
            split_inside = letters and text.lower() not in set(_RUN_RE.findall(orth.lower()))
            if tok.norm_ in chosen or misspelt or (split_inside and text.lower() in forms):
                substrings.append(orth)
                break
    return SegmentPrefilter(
        chosen_norms=chosen, forms=forms, substrings=substrings, known=known, correct=correct, always=always
    )


def _hitting_set(patterns: list[list[str]]) -> set[str]:
    """Choose one word per pattern, preferring words that other patterns need anyway.

    A one-word pattern forces its word; a longer pattern reuses a word already chosen, else takes
    its word shared by the fewest patterns ("edema" rather than "pulmonary"), longest on ties:
    generic words ("chest", "lung", "the") would make nearly every segment a candidate.
    """
    shared: dict[str, int] = {}
    for words in patterns:
        for word in set(words):
            shared[word] = shared.get(word, 0) + 1
    chosen = {words[0] for words in patterns if len(words) == 1}
    for words in sorted(patterns, key=lambda ws: (len(ws), ws)):
        if chosen.isdisjoint(words):
            chosen.add(min(words, key=lambda w: (shared[w], -len(w), w)))
    return chosen
