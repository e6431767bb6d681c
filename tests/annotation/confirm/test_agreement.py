"""Kappa against hand-computed textbook values."""
from __future__ import annotations

import pytest

from annotation.agreement import cohen_kappa, fleiss_kappa, fleiss_kappa_from_counts


def test_cohen_kappa_matches_the_textbook_two_by_two_table():
    # 50 items: both yes 20, A yes / B no 5, A no / B yes 10, both no 15.
    # po = 35/50 = 0.7; pe = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = 0.2 / 0.5 = 0.4.
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    result = cohen_kappa(a, b)
    assert result.observed == pytest.approx(0.7)
    assert result.kappa == pytest.approx(0.4)
    assert result.n_items == 50


def test_cohen_kappa_is_one_for_perfect_agreement_and_negative_below_chance():
    assert cohen_kappa(["p", "n", "u"], ["p", "n", "u"]).kappa == pytest.approx(1.0)
    # Always disagreeing on a balanced pair: po = 0, pe = 0.5, kappa = -1.
    assert cohen_kappa(["p", "n"], ["n", "p"]).kappa == pytest.approx(-1.0)


def test_cohen_kappa_is_undefined_when_everything_falls_in_one_category():
    assert cohen_kappa(["n", "n"], ["n", "n"]).kappa is None
    assert cohen_kappa([], []).kappa is None


def test_cohen_kappa_refuses_unequal_lengths():
    with pytest.raises(ValueError, match="same items"):
        cohen_kappa(["p"], ["p", "n"])


# Fleiss (1971) as tabulated on Wikipedia: 10 subjects, 14 raters, 5 categories.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_fleiss_kappa_matches_the_worked_example():
    result = fleiss_kappa_from_counts(FLEISS_TABLE)
    # P-bar = 3.780 / 10 = 0.378, P-e = 0.2128, kappa = 0.210.
    assert result.observed == pytest.approx(0.378, abs=5e-4)
    assert result.kappa == pytest.approx(0.2099, abs=5e-4)


def test_fleiss_kappa_from_ratings_equals_the_counts_form():
    ratings = [[c for c, n in enumerate(row) for _ in range(n)] for row in FLEISS_TABLE]
    assert fleiss_kappa(ratings).kappa == pytest.approx(fleiss_kappa_from_counts(FLEISS_TABLE).kappa)


def test_fleiss_kappa_for_two_raters_three_items_by_hand():
    # Items: (p,p), (p,n), (n,n). Pi = 1, 0, 1 -> P-bar = 2/3; shares p=n=1/2 -> Pe = 1/2; kappa = 1/3.
    assert fleiss_kappa([["p", "p"], ["p", "n"], ["n", "n"]]).kappa == pytest.approx(1 / 3)


def test_fleiss_kappa_refuses_items_with_different_rater_counts():
    with pytest.raises(ValueError, match="item 1"):
        fleiss_kappa_from_counts([[1, 1], [3, 0]])
