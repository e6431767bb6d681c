"""General radiology knowledge that widens a schema's phrases (annotation/data/lexicon.yaml).

Users write phrases only ("hemorrhage", "subdural", "mass effect"); radiologists write "SAH",
"sulcal effacement", "the ventricles are normal in size". The lexicon adds abbreviations,
synonyms, implied signs, attribute anchors and exclusions to each label from the phrases it
already has, so a custom schema gets the same coverage as the curated built-in one.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from annotation.engine.schema import Schema, load_data_yaml, normalise_phrase


@dataclass(frozen=True)
class Lexicon:
    abbreviations: dict[str, tuple[str, ...]]
    synonyms: tuple[frozenset[str], ...]
    implies: dict[str, tuple[str, ...]]
    attributes: dict[str, tuple[str, ...]]
    exclusions: dict[str, tuple[str, ...]]
    name_exclusions: dict[str, tuple[str, ...]]


def _norm_list(values: object) -> tuple[str, ...]:
    return tuple(normalise_phrase(str(v)) for v in (values or []))


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    data = load_data_yaml("lexicon.yaml")
    return Lexicon(
        abbreviations={normalise_phrase(k): _norm_list(v) for k, v in data["abbreviations"].items()},
        synonyms=tuple(frozenset(_norm_list(g)) for g in data["synonyms"]),
        implies={normalise_phrase(k): _norm_list(v) for k, v in data["implies"].items()},
        attributes={normalise_phrase(k): _norm_list(v) for k, v in data["attributes"].items()},
        exclusions={normalise_phrase(k): _norm_list(v) for k, v in data["exclusions"].items()},
        name_exclusions={normalise_phrase(k): _norm_list(v) for k, v in data["name_exclusions"].items()},
    )


def _words(phrase: str) -> list[str]:
    return "".join(c if c.isalnum() else " " for c in phrase).split()


def _inside(phrase: str, expansion: str) -> bool:
    """Whole-word containment: "hemorrhage" is inside "subarachnoid hemorrhage"."""
    p, e = _words(phrase), _words(expansion)
    return bool(p) and any(e[i : i + len(p)] == p for i in range(len(e) - len(p) + 1))


def expansions(schema: Schema, lex: Lexicon | None = None) -> list[tuple[str, str, str]]:
    """Return extra (kind, label, phrase) entries, kind in "phrase" / "attribute" / "exclusion".

    A term that some label of the schema names itself is never added to another label.
    """
    lex = lex or lexicon()
    explicit: set[str] = set()
    for spec in schema.labels:
        explicit.update(spec.phrases)
        explicit.update(spec.attributes)
    out: list[tuple[str, str, str]] = []
    for spec in schema.labels:
        own = set(spec.phrases)
        if not own:
            continue
        widened = set(own)
        for group in lex.synonyms:
            if group & own:
                widened |= group
        for phrase in list(widened):
            widened.update(lex.implies.get(phrase, ()))
        for abbr, full_forms in lex.abbreviations.items():
            if any(_inside(p, full) for full in full_forms for p in widened):
                widened.add(abbr)
        for phrase in sorted(widened - explicit):
            out.append(("phrase", spec.name, phrase))
        has_attrs = set(spec.attributes)
        for phrase in sorted(widened):
            for anchor in lex.attributes.get(phrase, ()):
                if anchor not in explicit and anchor not in has_attrs:
                    has_attrs.add(anchor)
                    out.append(("attribute", spec.name, anchor))
        excluded = set(spec.exclusions)
        scoped = [t for w in _words(spec.name.lower()) for t in lex.name_exclusions.get(w, ())]
        for phrase in sorted(widened):
            for term in [*lex.exclusions.get(phrase, ()), *scoped]:
                if term not in widened and term not in excluded:
                    excluded.add(term)
                    out.append(("exclusion", spec.name, term))
    return out
