"""Read-only questions about a compiled Labeler, for callers that reason about what it can match.

The phrase preview (annotation/selectors/phrase_preview.py) decides which reports two labelers can
label differently without running either over every report. That needs to know what each labeler
compiled: its patterns, its precision priors, the NORM it gives a word, the words it treats as
exact, its spelling corrector's targets and the tokenizer's special cases. These functions answer
those questions with plain Python values, so the labeler's internals can change behind them.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the labeler loads spaCy: imported where it is used, not with this module
    from annotation.engine.labeler import Labeler

# The spelling corrector looks only at runs of this many ASCII letters or more (tokens.py).
MISSPELLING_MIN_LETTERS = 5
_SPELL_RE = re.compile(rf"[a-z]{{{MISSPELLING_MIN_LETTERS},}}")
_ALNUM_RE = re.compile(r"[a-z0-9]+")
# spaCy's attribute ids for NORM and ORTH, which tokenizer exceptions may use as keys.
_NORM_KEYS = ("NORM", 67, "ORTH", 65)

Entry = tuple[str, str, str]  # (kind, label, phrase) as the labeler compiled it


def pattern_entries(labeler: Labeler) -> frozenset[Entry]:
    """Every (kind, label, phrase) pattern the labeler matches, but ConText triggers and sentence ends.

    Mentions, attribute anchors, uncertain phrases, exclusions, switched-off terms, organ-heading
    terms, No Finding blockers: the schema's and everything the lexicon added for every label.
    """
    from annotation.engine.labeler import KIND_SENT, KIND_TRIGGER

    return frozenset(info for info in labeler._key_info.values() if info[0] not in (KIND_TRIGGER, KIND_SENT))


def priors(labeler: Labeler) -> Mapping[tuple[str, str], float]:
    """The measured precision priors the labeler was given, by (label, phrase)."""
    return dict(labeler._precision)


def phrase_tokens(labeler: Labeler, phrase: str) -> list[tuple[str, str]]:
    """(lower-case form, NORM) of each token the labeler's tokenizer makes of ``phrase``."""
    return [(token.lower_, token.norm_) for token in labeler._nlp.make_doc(phrase)]


def word_norm(labeler: Labeler, word: str) -> str:
    """The NORM the labeler gives a lower-case word: its spelling correction, else its lexeme's."""
    if _SPELL_RE.fullmatch(word):
        corrected = labeler._speller.correct(word)
        if corrected is not None:
            return corrected
    return labeler._nlp.vocab[word].norm_


def exact_forms(labeler: Labeler) -> frozenset[str]:
    """Lower-case words the labeler reads as written: phrase words and their inflections."""
    return frozenset(labeler._exact_forms)


def speller_targets(labeler: Labeler) -> Mapping[str, str]:
    """The words a misspelling may be corrected to, each with the NORM it then gets."""
    return dict(labeler._speller._targets)


def speller_known(labeler: Labeler) -> frozenset[str]:
    """Words the spelling corrector never treats as misspellings."""
    return frozenset(labeler._speller.known)


def misspelling_initials(words: set[str] | frozenset[str]) -> frozenset[str]:
    """First letters a misspelling of one of ``words`` can have (a correction keeps the first letter)."""
    return frozenset(w[0] for w in words if w and w[0].isalpha())


def tokenizer_exceptions(labeler: Labeler) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(text, the lower-case NORMs and forms of its pieces) of each tokenizer special case.

    A special case can split inside a run of letters ("isn't" -> "is", "n't" with NORM "not"),
    so a word can reach a pattern under a spelling no letter run shows.
    """
    for orth, pieces in getattr(labeler._nlp.tokenizer, "rules", {}).items():
        forms: list[str] = []
        for piece in pieces:
            for key in _NORM_KEYS:
                value = str(piece.get(key, "") or "").lower()
                if value:
                    forms.append(value)
        yield orth, tuple(forms)


def alnum_runs(text: str) -> list[str]:
    """The runs of lower-case ASCII letters and digits in ``text`` (pattern words as the preview reads them)."""
    return _ALNUM_RE.findall(text)
