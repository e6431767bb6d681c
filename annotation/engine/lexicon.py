"""General radiology knowledge that widens a schema's phrases (annotation/data/lexicon.yaml).

Users write phrases only ("hemorrhage", "subdural", "mass effect"); radiologists write "SAH",
"sulcal effacement", "the ventricles are normal in size". The lexicon adds abbreviations,
synonyms, implied signs, attribute anchors and exclusions to each label from the phrases it
already has, so a custom schema gets the same coverage as the curated built-in one.

Every such inference is listed with its source by ``schema_inferred_phrases`` so that a curator
can see it and switch it off (``LabelSpec.disabled``); the Labeler compiles exactly the active ones.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from annotation.engine.context import default_rules
from annotation.engine.schema import Schema, load_data_yaml, normalise_phrase


@dataclass(frozen=True)
class Lexicon:
    abbreviations: dict[str, tuple[str, ...]]
    synonyms: tuple[frozenset[str], ...]
    implies: dict[str, tuple[str, ...]]
    attributes: dict[str, tuple[str, ...]]
    exclusions: dict[str, tuple[str, ...]]
    name_exclusions: dict[str, tuple[str, ...]]


# Where an inferred term comes from (the "source" of schema_inferred_phrases).
SOURCE_SYNONYM = "lexicon-synonym"
SOURCE_ABBREVIATION = "abbreviation"
SOURCE_IMPLIED = "implied-sign"
SOURCE_NORMAL = "normal-statement"
SOURCE_EXCLUSION = "lexicon-exclusion"
SOURCE_NAME_EXCLUSION = "label-name-exclusion"
SOURCE_ORGAN_HEADING = "organ-heading"
SOURCES = (
    SOURCE_SYNONYM, SOURCE_ABBREVIATION, SOURCE_IMPLIED, SOURCE_NORMAL, SOURCE_EXCLUSION,
    SOURCE_NAME_EXCLUSION, SOURCE_ORGAN_HEADING,
)


@dataclass(frozen=True)
class InferredTerm:
    """One term the engine adds to a label from words the schema's author did not write.

    ``kind``: "phrase" (a mention), "attribute" (an anchor that counts only with a qualifier:
    "the ventricles are normal in size"), "exclusion", or "headed" (a finding that matches alone
    only under a heading naming one of ``organs``: "lesion" under "LIVER:" for "hepatic lesion").
    """

    kind: str
    label: str
    text: str
    source: str
    from_phrase: str
    organs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Organs:
    words: dict[str, frozenset[str]]  # organ word (may be several words) -> organs it names
    joiners: frozenset[str]


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


@lru_cache(maxsize=1)
def organs() -> Organs:
    data = load_data_yaml("organs.yaml")
    words: dict[str, set[str]] = {}
    for organ, spec in data["organs"].items():
        for word in spec.get("words", ()):
            words.setdefault(normalise_phrase(str(word)), set()).add(str(organ))
    return Organs({w: frozenset(o) for w, o in words.items()}, frozenset(_norm_list(data.get("joiners"))))


def organ_remainders(phrase: str, table: Organs | None = None) -> list[tuple[str, tuple[str, ...]]]:
    """Split a phrase that joins an organ and a finding: "hepatic lesion" -> [("lesion", ("liver",))].

    The organ words (longest first, at the start or the end of the phrase) and the joiners next to
    them ("lesion of the liver") are dropped; a phrase that is only an organ, leaves only joiners,
    or has the organ word in its middle ("congestive heart failure") gives nothing.
    """
    table = table or organs()
    tokens = phrase.split()
    out: list[tuple[str, tuple[str, ...]]] = []
    for size in (3, 2, 1):
        for i in range(len(tokens) - size + 1):
            found = table.words.get(" ".join(tokens[i : i + size]))
            if found is None:
                continue
            before, after = tokens[:i], tokens[i + size :]
            while before and before[-1] in table.joiners:
                before.pop()
            while after and after[0] in table.joiners:
                after.pop(0)
            if before and after:
                continue  # "enlargement of the cardiac silhouette": the organ word qualifies another noun
            rest = before or after
            if any(w not in table.joiners and any(c.isalpha() for c in w) for w in rest):
                out.append((" ".join(rest), tuple(sorted(found))))
        if out:
            return out
    return out


@lru_cache(maxsize=8192)
def _words(phrase: str) -> tuple[str, ...]:
    # Cached: the abbreviation scan of inferred_terms asks again for the same few hundred phrases
    # (~20,000 calls per compile of chexpert, most of the pure-Python part of the compile).
    return tuple("".join(c if c.isalnum() else " " for c in phrase).split())


def _inside(phrase: str, expansion: str) -> bool:
    """Whole-word containment: "hemorrhage" is inside "subarachnoid hemorrhage"."""
    p, e = _words(phrase), _words(expansion)
    return bool(p) and any(e[i : i + len(p)] == p for i in range(len(e) - len(p) + 1))


def inferred_terms(schema: Schema, lex: Lexicon | None = None) -> list[InferredTerm]:
    """Every term the engine adds to the schema's labels, disabled ones included, in a stable order.

    A term that some label of the schema names itself is never added to another label.
    """
    lex = lex or lexicon()
    # A remainder that is itself a ConText trigger ("enlarged" of "enlarged heart") is a
    # qualifier, not a finding: it would be read as one under a HEART heading.
    triggers = default_rules().by_literal
    explicit: set[str] = set()
    for spec in schema.labels:
        explicit.update(spec.phrases)
        explicit.update(spec.attributes)
    out: list[InferredTerm] = []
    for spec in schema.labels:
        own = set(spec.phrases)
        if not own:
            continue
        # origin: widened term -> (source, the author's phrase it came from)
        origin: dict[str, tuple[str, str]] = {p: ("", p) for p in own}
        for group in lex.synonyms:
            roots = sorted(group & own)
            if roots:
                for term in sorted(group):
                    origin.setdefault(term, (SOURCE_SYNONYM, roots[0]))
        for phrase in sorted(origin):
            root = origin[phrase][1]
            for sign in lex.implies.get(phrase, ()):
                origin.setdefault(sign, (SOURCE_IMPLIED, root))
        for abbr, full_forms in lex.abbreviations.items():
            if abbr in origin:
                continue
            for p in sorted(origin):
                if any(_inside(p, full) for full in full_forms):
                    origin[abbr] = (SOURCE_ABBREVIATION, origin[p][1])
                    break
        widened = set(origin)
        for phrase in sorted(widened - explicit):
            source, root = origin[phrase]
            out.append(InferredTerm("phrase", spec.name, phrase, source, root))
        has_attrs = set(spec.attributes)
        for phrase in sorted(widened):
            for anchor in lex.attributes.get(phrase, ()):
                if anchor not in explicit and anchor not in has_attrs:
                    has_attrs.add(anchor)
                    out.append(InferredTerm("attribute", spec.name, anchor, SOURCE_NORMAL, origin[phrase][1]))
        excluded = set(spec.exclusions)
        for phrase in sorted(widened):
            for term in lex.exclusions.get(phrase, ()):
                if term not in widened and term not in excluded:
                    excluded.add(term)
                    out.append(InferredTerm("exclusion", spec.name, term, SOURCE_EXCLUSION, origin[phrase][1]))
        for word in _words(spec.name.lower()):
            for term in lex.name_exclusions.get(word, ()):
                if term not in widened and term not in excluded:
                    excluded.add(term)
                    out.append(InferredTerm("exclusion", spec.name, term, SOURCE_NAME_EXCLUSION, spec.name))
        seen: set[tuple[str, tuple[str, ...]]] = set()
        for phrase in sorted(widened):
            for rest, names in organ_remainders(phrase):
                if rest in widened or rest in triggers or (rest, names) in seen:
                    continue
                seen.add((rest, names))
                out.append(InferredTerm("headed", spec.name, rest, SOURCE_ORGAN_HEADING, phrase, names))
    return out


def active_inferred_terms(schema: Schema, lex: Lexicon | None = None) -> list[InferredTerm]:
    """The inferred terms the Labeler compiles: those the schema's ``disabled`` lists are left out."""
    disabled = {spec.name: set(spec.disabled) for spec in schema.labels if spec.disabled}
    return [t for t in inferred_terms(schema, lex) if t.text not in disabled.get(t.label, ())]


def expansions(schema: Schema, lex: Lexicon | None = None) -> list[tuple[str, str, str]]:
    """Return the active extra (kind, label, phrase) entries, kind "phrase" / "attribute" / "exclusion"."""
    return [(t.kind, t.label, t.text) for t in active_inferred_terms(schema, lex) if t.kind != "headed"]


def schema_inferred_phrases(schema: Schema) -> list[dict[str, Any]]:
    """List every mention the engine infers from words the author did not write, with its source.

    Stable contract (docs/ENGINE.md, used by the curation pages). One dict per (label, term), in
    label order then source order::

        {"label": "Intracranial Hemorrhage", "text": "sah", "kind": "phrase",
         "source": "abbreviation", "from_phrase": "hemorrhage", "organs": [], "enabled": True}

    ``kind``: "phrase" | "attribute" | "exclusion" | "headed"; ``source``: one of ``SOURCES``
    ("lexicon-synonym", "abbreviation", "implied-sign", "normal-statement", "lexicon-exclusion",
    "label-name-exclusion", "organ-heading"); ``organs``: for "headed", the organs whose heading
    makes ``text`` count. ``enabled`` is False when the label's ``disabled`` names ``text``:
    passing a term's text in ``LabelSpec.disabled`` switches it off (inflections are not listed).
    """
    order = {name: i for i, name in enumerate(schema.label_names())}
    disabled = {spec.name: set(spec.disabled) for spec in schema.labels}
    terms = sorted(inferred_terms(schema), key=lambda t: (order[t.label], SOURCES.index(t.source), t.text))
    return [
        {
            "label": t.label,
            "text": t.text,
            "kind": t.kind,
            "source": t.source,
            "from_phrase": t.from_phrase,
            "organs": list(t.organs),
            "enabled": t.text not in disabled.get(t.label, ()),
        }
        for t in terms
    ]
