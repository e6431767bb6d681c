"""ConText-style negation / uncertainty / resolution for one mention.

Triggers are data (annotation/data/context_rules.yaml). The Labeler adds every trigger literal
to the same spaCy PhraseMatcher as the target phrases, so triggers, targets and sentence ends
come out of ONE C-level pass over the tokens; the scope logic below then looks at a handful of
triggers per mention (token distances, terminators, precedence) without per-token Python.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from annotation.engine.schema import load_data_yaml

NEGATED = "NEGATED_EXISTENCE"
RESOLVED = "RESOLVED"
POSSIBLE = "POSSIBLE_EXISTENCE"
PROBABLE = "PROBABLE_EXISTENCE"
HISTORICAL = "HISTORICAL"
HYPOTHETICAL = "HYPOTHETICAL"
PERSISTENT = "PERSISTENT"
QUALIFIER = "POSITIVE_QUALIFIER"
PSEUDO = "PSEUDO"
TERMINATE = "TERMINATE"

FORWARD = "FORWARD"
BACKWARD = "BACKWARD"
BIDIRECTIONAL = "BIDIRECTIONAL"

_CATEGORIES = {NEGATED, RESOLVED, POSSIBLE, PROBABLE, HISTORICAL, HYPOTHETICAL, PERSISTENT, QUALIFIER, PSEUDO, TERMINATE}
_DIRECTIONS = {FORWARD, BACKWARD, BIDIRECTIONAL}


@dataclass(frozen=True)
class Rule:
    literal: str
    category: str
    direction: str
    window: int
    attr_only: bool = False
    weak: bool = False
    # "status post X": X itself (a prosthesis, a fusion, the resected organ's absence) is the
    # current state; only what the procedure treated is history. Such rules spare procedure phrases.
    spares_procedures: bool = False


class Trigger:
    """A selected trigger: tokens [start, end) and its rules. Built for every sentence with a
    finding, so a plain slotted class (a frozen dataclass costs twice as much to create)."""

    __slots__ = ("end", "rules", "start", "terminates")

    def __init__(self, start: int, end: int, rules: tuple[Rule, ...], terminates: bool) -> None:
        self.start = start
        self.end = end
        self.rules = rules
        self.terminates = terminates


@dataclass(frozen=True)
class Decision:
    """What the triggers say about one mention: value (None = not a mention of this study)."""

    value: str | None
    modifiers: tuple[str, ...]
    probable: bool = False


_DECISIONS: dict[tuple[str | None, tuple[str, ...], bool], Decision] = {}


def _decision(value: str | None, modifiers: tuple[str, ...], probable: bool = False) -> Decision:
    """The one (immutable) Decision for these fields: a few kinds, decided for every mention."""
    key = (value, modifiers, probable)
    found = _DECISIONS.get(key)
    if found is None:
        found = _DECISIONS[key] = Decision(value, modifiers, probable)
    return found


def _norm_literal(text: str) -> str:
    return " ".join(text.lower().split())


class ContextRules:
    """Compiled trigger rules plus the scope / precedence logic."""

    def __init__(self, data: dict) -> None:
        windows = data.get("windows", {})
        by_literal: dict[str, list[Rule]] = {}
        for category, by_direction in data["rules"].items():
            if category not in _CATEGORIES:
                raise ValueError(f"context rules: unknown category {category!r}")
            for direction, entries in by_direction.items():
                if direction not in _DIRECTIONS:
                    raise ValueError(f"context rules: unknown direction {direction!r} in {category}")
                for entry in entries:
                    if isinstance(entry, dict):
                        literal = _norm_literal(str(entry["literal"]))
                        rule = Rule(
                            literal,
                            category,
                            direction,
                            int(entry.get("window", windows.get(direction, 8))),
                            bool(entry.get("attr_only", False)),
                            bool(entry.get("weak", False)),
                            bool(entry.get("spares_procedures", False)),
                        )
                    else:
                        literal = _norm_literal(str(entry))
                        rule = Rule(literal, category, direction, int(windows.get(direction, 8)))
                    rules = by_literal.setdefault(literal, [])
                    if rule not in rules:
                        rules.append(rule)
        # Procedures (data: "procedures"): "<procedure> for X" puts X in the procedure's history
        # ("cholecystectomy for cholecystitis", "craniotomy for tumor resection").
        self.procedures: frozenset[str] = frozenset(_norm_literal(str(p)) for p in data.get("procedures", ()))
        for procedure in sorted(self.procedures):
            for joiner in ("for", "of"):
                literal = f"{procedure} {joiner}"
                rule = Rule(literal, HISTORICAL, FORWARD, int(data.get("procedure_window", 8)), spares_procedures=True)
                rules = by_literal.setdefault(literal, [])
                if rule not in rules:
                    rules.append(rule)
        self.by_literal: dict[str, tuple[Rule, ...]] = {k: tuple(v) for k, v in by_literal.items()}
        self.descriptive: frozenset[str] = frozenset(
            _norm_literal(str(p)) for p in data.get("descriptive_phrases", ())
        )
        self._procedure_words = frozenset(
            w for p in [*self.procedures, *data.get("procedure_results", ())] for w in str(p).lower().split()
        )
        self.words: frozenset[str] = frozenset(
            w for lit in self.by_literal for w in "".join(c if c.isalpha() else " " for c in lit).split()
        )

    def is_procedure(self, phrase: str) -> bool:
        """Whether a target phrase names a procedure or its hardware ("arthroplasty", "orif")."""
        return any(w in self._procedure_words for w in phrase.split())

    @staticmethod
    def trigger_info(rules: tuple[Rule, ...]) -> tuple[tuple[Rule, ...], bool]:
        """What ``select`` needs of a literal's rules, worked out once per literal: the rules,
        and whether the literal terminates scopes."""
        return rules, any(r.category == TERMINATE for r in rules)

    @staticmethod
    def select(found: list[tuple[int, int, tuple[tuple[Rule, ...], bool]]]) -> list[Trigger]:
        """Keep leftmost-longest non-overlapping triggers ("cannot be excluded" hides "not").

        ``found``: (start, end, ``trigger_info(rules)``) of each trigger match.
        """
        if len(found) > 1:
            found.sort(key=_leftmost_longest)
        out: list[Trigger] = []
        last_end = -1
        for start, end, (rules, terminates) in found:
            if start < last_end:
                continue
            out.append(Trigger(start, end, rules, terminates))
            last_end = end
        return out

    def decide(
        self,
        start: int,
        end: int,
        triggers: list[Trigger],
        is_attribute: bool,
        is_uncertain_phrase: bool,
        has_comma: Any,
        descriptive: bool = False,
        finding_between: Any = None,
        procedure: bool = False,
    ) -> Decision:
        """Apply the triggers of the mention's sentence to the mention, tokens [start, end).

        ``has_comma(a, b)`` tells whether a comma lies between tokens a and b.
        ``descriptive``: the mention names an appearance ("opacity"), not a diagnosis; a weak hedge
        ("or", "versus") after a comma then offers causes of it ("opacities, atelectasis versus
        infiltrate"), not alternatives to it.
        ``finding_between(a, b)``: whether another finding phrase lies in tokens [a, b); an attribute
        anchor does not take a trigger that sits beyond another finding ("Heart and mediastinum:
        mild cardiomegaly, unchanged": "unchanged" is about the cardiomegaly).
        """
        hits: list[tuple[int, Rule, Trigger]] = []
        if triggers:
            terms: list[Trigger] | None = None  # the terminators, listed when a distance is needed
            for trig in triggers:
                if trig.start < end and trig.end > start:
                    # A trigger that begins before the mention and runs into it ("no acute" +
                    # "acute infarct") still precedes it; one inside it is the phrase itself
                    # ("no cardiomegaly"); one that starts inside and runs on follows it.
                    if trig.start < start:
                        gap_a, gap_b, side = start, start, FORWARD
                    elif trig.end > end:
                        gap_a, gap_b, side = end, end, BACKWARD
                    else:
                        continue
                elif trig.end <= start:
                    gap_a, gap_b, side = trig.end, start, FORWARD
                else:
                    gap_a, gap_b, side = end, trig.start, BACKWARD
                dist = -1
                for rule in trig.rules:
                    if rule.category in (TERMINATE, PSEUDO):
                        continue
                    if rule.direction != BIDIRECTIONAL and rule.direction != side:
                        continue
                    if rule.attr_only and not is_attribute:
                        continue
                    if rule.spares_procedures and procedure:
                        continue
                    if rule.weak and descriptive and side == BACKWARD and has_comma(gap_a, gap_b):
                        continue
                    if dist < 0:
                        dist = gap_b - gap_a  # tokens strictly between trigger and mention
                        if terms is None:
                            terms = [t for t in triggers if t.terminates]
                        # Two reasons to block, kept apart so each reads on its own.
                        if any(t is not trig and t.start >= gap_a and t.end <= gap_b for t in terms):  # noqa: SIM114
                            dist = 10_000
                        elif is_attribute and finding_between is not None and finding_between(gap_a, gap_b):
                            dist = 10_000
                    if dist <= rule.window:
                        hits.append((dist, rule, trig))
        return self._resolve(start, hits, is_attribute, is_uncertain_phrase, has_comma)

    @staticmethod
    def _resolve(
        start: int,
        hits: list[tuple[int, Rule, Trigger]],
        is_attribute: bool,
        is_uncertain_phrase: bool,
        has_comma: Any,
    ) -> Decision:
        """Precedence: hypothetical/historical drop the mention; negation vs hedge by distance."""
        neg = unc = None
        categories: set[str] = set()
        for hit in hits:
            cat = hit[1].category
            categories.add(cat)
            if cat in (NEGATED, RESOLVED):
                if neg is None or hit[0] < neg[0]:
                    neg = hit
            elif cat in (POSSIBLE, PROBABLE) and (unc is None or (unc[1].weak and not hit[1].weak) or (
                hit[0] < unc[0] and unc[1].weak == hit[1].weak
            )):
                unc = hit
        if HYPOTHETICAL in categories or HISTORICAL in categories:
            return _decision(None, tuple(sorted(categories & {HYPOTHETICAL, HISTORICAL})))
        persistent = (PERSISTENT,) if PERSISTENT in categories else ()
        if neg is not None and unc is not None:
            n_trig, u_trig = neg[2], unc[2]
            hedge_inside_negation = (
                n_trig.end <= u_trig.start
                and u_trig.end <= start
                and not has_comma(n_trig.end, u_trig.start)
            )
            if unc[1].weak or hedge_inside_negation or neg[0] <= unc[0]:
                unc = None
            else:
                neg = None
        if neg is not None:
            cat = neg[1].category
            mods = (NEGATED,) if cat == NEGATED else (RESOLVED,)
            return _decision("negative", mods)
        if unc is not None:
            if unc[1].category == PROBABLE:
                return _decision("uncertain", (POSSIBLE, PROBABLE), probable=True)
            return _decision("uncertain", (POSSIBLE,))
        if is_attribute:
            if persistent:
                return _decision("uncertain", (POSSIBLE, PERSISTENT))
            if QUALIFIER in categories:
                return _decision("positive", ())
            return _decision(None, ())
        if is_uncertain_phrase:
            return _decision("uncertain", (POSSIBLE,) + persistent)
        return _decision("positive", persistent)


def _leftmost_longest(found: tuple[int, int, Any]) -> tuple[int, int]:
    return (found[0], found[0] - found[1])


@lru_cache(maxsize=1)
def default_rules() -> ContextRules:
    return ContextRules(load_data_yaml("context_rules.yaml"))
