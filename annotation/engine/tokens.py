"""Tokenizer, inflections and misspellings.

Everything here works through spaCy lexeme NORMs: the PhraseMatcher matches on NORM, and an
inflected form ("effusions", "atelectatic", "oedema") or a misspelling ("efusion") gets the NORM of
the phrase word. Lexeme attributes live in the vocab, so the cost is paid once per distinct word,
not per token, and the C matcher does the rest.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from annotation.engine.schema import data_text, load_data_yaml
from annotation.engine.spacy_import import import_spacy

spacy = import_spacy()  # without torch: see spacy_import.py

from spacy.attrs import (  # noqa: E402, F401  (IDX: labeler.py)
    IDX,
    IS_ALPHA,
    IS_PUNCT,
    IS_SPACE,
    LOWER,
    NORM,
)
from spacy.lang.en.stop_words import STOP_WORDS  # noqa: E402
from spacy.language import Language  # noqa: E402
from spacy.matcher import PhraseMatcher  # noqa: E402, F401  (re-exported to labeler.py)
from spacy.tokens import Doc  # noqa: E402

_WORD_RE = re.compile(r"[A-Za-z]{5,}")
_ALPHA_RE = re.compile(r"[a-z]+")


# The lexeme attributes the engine reads (matcher NORM, ConText and compile: lower-case form,
# letters, punctuation, whitespace; the phrase preview: NORM and lower-case form).
LEXEME_ATTRS_READ = frozenset({LOWER, NORM, IS_ALPHA, IS_PUNCT, IS_SPACE})


def make_nlp() -> Language:
    """A blank English pipeline: tokenizer only, no model download.

    spaCy computes ~23 attributes in Python for every new word it meets (shape, prefix, suffix,
    like_num, like_url, is_stop, ...); on text full of dates and measurements that was ~4% of
    the labelling. Words created after this keep only the attributes in LEXEME_ATTRS_READ; the
    others read as 0 / False. Tokenization never reads lexeme attributes, so tokens are the same.
    """
    nlp = spacy.blank("en")
    getters = nlp.vocab.lex_attr_getters
    nlp.vocab.lex_attr_getters = {attr: get for attr, get in getters.items() if attr in LEXEME_ATTRS_READ}
    return nlp


@dataclass(frozen=True)
class InflectionRules:
    suffix: tuple[tuple[str, str], ...]
    prefix: tuple[tuple[str, str], ...]
    never: frozenset[str]


@lru_cache(maxsize=1)
def inflection_rules() -> InflectionRules:
    data = load_data_yaml("inflections.yaml")
    return InflectionRules(
        suffix=tuple((str(a), str(b)) for a, b in data["suffix"]),
        prefix=tuple((str(a), str(b)) for a, b in data["prefix"]),
        never=frozenset(data["never"]),
    )


def inflections(word: str, rules: InflectionRules | None = None) -> set[str]:
    """Return inflected / derived / British forms of ``word`` (lower case), without ``word``."""
    rules = rules or inflection_rules()
    out: set[str] = set()
    if len(word) < 4 or not word.isalpha():
        return out
    for base_end, variant_end in rules.suffix:
        if word.endswith(base_end):
            stem = word[: len(word) - len(base_end)] if base_end else word
            if len(stem) >= 3:
                out.add(stem + variant_end)
    for form in list(out) + [word]:
        for base_start, variant_start in rules.prefix:
            if form.startswith(base_start):
                out.add(variant_start + form[len(base_start) :])
    out.discard(word)
    return {w for w in out if w not in rules.never}


@lru_cache(maxsize=1)
def known_words() -> frozenset[str]:
    """Words that are never treated as misspellings (see annotation/data/known_words.txt)."""
    words: set[str] = set(STOP_WORDS)
    for line in data_text("known_words.txt").splitlines():
        if not line.startswith("#"):
            words.update(w.lower() for w in line.split())
    return frozenset(words)


class TokenStarts:
    """``starts[i]``: the character offset of token i, read on demand.

    A segment's analysis needs the offsets of a few tokens only (match edges, comma checks);
    ``doc.to_array(IDX).tolist()`` builds a NumPy array for all of them (~20 us a segment).

    ``doc`` may hold a segment inside a longer text: token ``i`` of the segment is token
    ``t0 + i`` of ``doc``, and ``base`` (the character offset where the segment starts in
    ``doc``'s text) makes the offsets relative to the segment's own text.
    """

    __slots__ = ("_base", "_doc", "_t0")

    def __init__(self, doc: Doc, base: int = 0, t0: int = 0) -> None:
        self._doc = doc
        self._base = base
        self._t0 = t0

    def __getitem__(self, i: int) -> int:
        return self._doc[self._t0 + i].idx - self._base


def casings(word: str) -> tuple[str, ...]:
    """The spellings whose lexemes must share a NORM: each casing is its own lexeme in spaCy."""
    return (word, word.upper(), word.capitalize())


class SpellingCorrector:
    """Map unknown words onto phrase words within a small edit distance.

    Only words of >= 5 letters that are not known (phrase words and their forms, ConText trigger
    words, stop words, known_words.txt) are tried; the first letter must agree and the distance
    is at most 1 edit (2 for >= 9 letters, transpositions count as one), which keeps near-homonyms
    such as infusion / effusion apart. Results are cached per word.
    """

    def __init__(self, targets: dict[str, str], known: Iterable[str]) -> None:
        # targets: surface form (a phrase word or one of its inflections) -> NORM to give.
        self._targets = {w: n for w, n in targets.items() if len(w) >= 5}
        self._by_initial: dict[str, list[str]] = {}
        for w in sorted(self._targets):
            self._by_initial.setdefault(w[0], []).append(w)
        self._known = frozenset(known) | frozenset(targets)
        self._seen: set[str] = set()
        self.corrections: dict[str, str] = {}

    @property
    def known(self) -> frozenset[str]:
        """Words never treated as misspellings (phrase words and their forms included)."""
        return self._known

    def correct(self, word: str) -> str | None:
        """Return the NORM for a misspelt lower-case ``word``, or None."""
        if word in self._known or word in self.corrections:
            return self.corrections.get(word)
        candidates = self._by_initial.get(word[0])
        if not candidates:
            return None
        limit = 1 if len(word) < 9 else 2
        best = process.extractOne(
            word, candidates, scorer=DamerauLevenshtein.distance, score_cutoff=limit
        )
        if best is None:
            return None
        choice, distance, _ = best
        # A plural / suffix difference alone is an inflection we do not know, not a misspelling
        # ("massive" vs "mass" never gets here: length limits), keep only true typos.
        if distance == 0:
            return None
        norm = self._targets[choice]
        self.corrections[word] = norm
        return norm

    def scan(self, text: str) -> list[tuple[str, str]]:
        """Return (surface form, norm) for new misspellings in ``text`` (each form reported once)."""
        found: list[tuple[str, str]] = []
        for raw in set(_WORD_RE.findall(text)) - self._seen:
            self._seen.add(raw)
            norm = self.correct(raw.lower())
            if norm is not None:
                found.append((raw, norm))
        return found
