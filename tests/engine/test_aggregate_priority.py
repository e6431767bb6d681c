"""Phrase priority decides p: the best-ranked phrase among the mentions carrying the label's value."""
from __future__ import annotations

from annotation.engine import Labeler, LabelSpec, Schema
from annotation.engine.aggregate import Evidence, Mention, aggregate
from annotation.engine.priority import phrase_ranks, reordered_texts


def _m(value: str, phrase: str, prior: float, probable: bool = False, start: int = 0) -> Mention:
    return Mention("L", value, prior, probable, Evidence(start, start + len(phrase), phrase, phrase, [], "findings"))


RANKS = {"pleural effusion": 0, "effusion": 1, "fluid": 2}


def test_the_best_ranked_phrase_sets_p_not_the_noisy_or_of_all() -> None:
    mentions = [_m("positive", "effusion", 0.6, start=0), _m("positive", "pleural effusion", 0.95, start=20)]

    result = aggregate(mentions, RANKS)

    # "pleural effusion" ranks first: p = its prior, 0.95; the noisy-OR of both would be
    # 1 - 0.4 * 0.05 = 0.98. Both mentions stay in the evidence, in text order.
    assert result.p == 0.95
    assert aggregate(mentions).p == 0.98
    assert [e.phrase for e in result.evidence] == ["effusion", "pleural effusion"]


def test_a_reorder_makes_the_other_phrase_decide() -> None:
    mentions = [_m("positive", "effusion", 0.6), _m("positive", "pleural effusion", 0.95, start=20)]

    assert aggregate(mentions, {"effusion": 0, "pleural effusion": 1}).p == 0.6


def test_repeated_mentions_of_the_deciding_phrase_combine_as_a_noisy_or() -> None:
    mentions = [
        _m("positive", "effusion", 0.6),
        _m("positive", "fluid", 0.99, start=10),
        _m("positive", "effusion", 0.7, start=20),  # a misspelt "efusion": fuzzy prior
    ]

    # effusion (rank 1) beats fluid (rank 2): 1 - (1 - 0.6) * (1 - 0.7) = 1 - 0.12 = 0.88
    assert aggregate(mentions, RANKS).p == 0.88


def test_only_mentions_carrying_the_value_compete() -> None:
    # "no pleural effusion" (negated, rank 0) and "effusion" (positive, rank 1): the value is
    # positive, so the positive mention sets p although a better-ranked phrase is negated.
    mentions = [_m("negative", "pleural effusion", 0.9), _m("positive", "effusion", 0.8, start=30)]

    result = aggregate(mentions, RANKS)

    assert (result.value, result.p) == ("positive", 0.8)


def test_uncertain_and_negative_take_the_best_ranked_phrase() -> None:
    # possible: 0.5 + (prior - 0.5) * 0.2; probable: 0.5 + (prior - 0.5) * 0.6
    hedged = [_m("uncertain", "fluid", 0.9, probable=True), _m("uncertain", "effusion", 0.6, start=10)]
    # effusion ranks first: 0.5 + 0.1 * 0.2 = 0.52 (the max of all would be fluid's 0.74)
    assert aggregate(hedged, RANKS).p == 0.52
    assert aggregate(hedged).p == 0.74

    negated = [_m("negative", "effusion", 0.9), _m("negative", "pleural effusion", 0.8, start=10)]
    # pleural effusion ranks first: (1 - 0.8) * 0.3 = 0.06
    assert aggregate(negated, RANKS).p == 0.06
    twice = [*negated, _m("negative", "pleural effusion", 0.8, start=30)]
    # two negations of it: (0.06 * 0.06) ** (1 / 1.5) = 0.0036 ** 0.6667 = 0.02349
    assert aggregate(twice, RANKS).p == 0.0235


def test_a_phrase_without_a_rank_comes_last() -> None:
    mentions = [_m("positive", "unlisted", 0.99), _m("positive", "fluid", 0.5, start=10)]

    assert aggregate(mentions, RANKS).p == 0.5


def test_inferred_terms_rank_right_after_their_phrase() -> None:
    schema = Schema("ct", [LabelSpec("Bleed", ["hematoma", "hemorrhage"]), LabelSpec("Heart", ["cardiomegaly", "heart failure"])])

    ranks = phrase_ranks(schema)

    # The lexicon's abbreviations of "hematoma" (edh, iph, sdh) follow it, then "hemorrhage" and
    # what it brings (synonyms, abbreviations, implied signs), alphabetically within each phrase.
    assert list(ranks["Bleed"]) == [
        "hematoma", "edh", "iph", "sdh",
        "hemorrhage", "bleed", "bleeding", "hemorrhaging", "ich", "ivh",
        "microbleed", "microbleeds", "microhemorrhage", "microhemorrhages", "sah",
    ]
    assert list(ranks["Bleed"].values()) == list(range(15))
    # "failure" under a HEART: heading cites "heart failure": no rank of its own
    assert ranks["Heart"] == {"cardiomegaly": 0, "heart failure": 1, "chf": 2}


def test_labeler_takes_p_from_the_first_phrase_and_follows_a_reorder() -> None:
    text = "FINDINGS: Small pleural effusion. Fluid in the fissure."
    first = Schema("s", [LabelSpec("Effusion", ["pleural effusion", "fluid"], precision={"pleural effusion": 0.95, "fluid": 0.5})])
    second = Schema("s", [LabelSpec("Effusion", ["fluid", "pleural effusion"], precision={"pleural effusion": 0.95, "fluid": 0.5})])

    a, b = Labeler(first).label(text)["Effusion"], Labeler(second).label(text)["Effusion"]

    assert (a.value, a.p) == ("positive", 0.95)
    assert (b.value, b.p) == ("positive", 0.5)
    assert [e.to_json() for e in a.evidence] == [e.to_json() for e in b.evidence]
    assert first.phrase_set_hash() != second.phrase_set_hash()


def test_reordered_texts_pair_only_phrases_whose_order_flipped() -> None:
    old = Schema("s", [LabelSpec("A", ["a1", "a2", "a3", "a4"]), LabelSpec("B", ["b1", "b2"])])
    new = Schema("s", [LabelSpec("A", ["a1", "a3", "a2", "a4"]), LabelSpec("B", ["b1", "b2"])])

    # one pattern holding the words of both: only a report with both can change p
    assert reordered_texts(old, phrase_ranks(old), new, phrase_ranks(new)) == {("A", "a2 a3")}
    # dropping a phrase (disable) shifts later ranks but flips no pair: nothing to flag
    dropped = Schema("s", [LabelSpec("A", ["a1", "a3", "a4"]), LabelSpec("B", ["b1", "b2"])])
    assert reordered_texts(old, phrase_ranks(old), dropped, phrase_ranks(dropped)) == set()


def test_reordered_texts_include_organ_heading_remainders() -> None:
    old = Schema("s", [LabelSpec("Edema", ["edema", "heart failure"])])
    new = Schema("s", [LabelSpec("Edema", ["heart failure", "edema"])])

    texts = reordered_texts(old, phrase_ranks(old), new, phrase_ranks(new))

    # "failure" under a HEART: heading cites "heart failure", so it can flip p as well; "chf"
    # (inferred from "heart failure") moves with it, ahead of "edema" too.
    assert texts == {("Edema", "edema heart failure"), ("Edema", "edema failure"), ("Edema", "edema chf")}


def test_reordered_texts_fall_back_to_single_phrases_when_pairs_are_too_many() -> None:
    phrases = [f"p{i}" for i in range(40)]
    old = Schema("s", [LabelSpec("A", phrases)])
    new = Schema("s", [LabelSpec("A", phrases[::-1])])  # 780 flipped pairs

    texts = reordered_texts(old, phrase_ranks(old), new, phrase_ranks(new))

    assert texts == {("A", p) for p in phrases}
