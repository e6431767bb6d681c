"""Inter-rater agreement: Cohen's and Fleiss' kappa. Pure Python, no Django.

Definitions as in Cohen (1960) and Fleiss (1971). Both return None where kappa is undefined
(no items, or chance agreement of 1 — every rating in one category), instead of dividing by 0.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Agreement:
    kappa: float | None
    observed: float | None  # raw proportion of agreement
    n_items: int


def cohen_kappa(first: Sequence[Hashable], second: Sequence[Hashable]) -> Agreement:
    """Cohen's kappa of two raters who rated the same items, in the same order."""
    if len(first) != len(second):
        raise ValueError(f"both raters must rate the same items ({len(first)} != {len(second)})")
    n = len(first)
    if n == 0:
        return Agreement(kappa=None, observed=None, n_items=0)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    counts_a, counts_b = Counter(first), Counter(second)
    expected = sum(counts_a[c] * counts_b[c] for c in counts_a) / (n * n)
    kappa = None if expected == 1 else (observed - expected) / (1 - expected)
    return Agreement(kappa=kappa, observed=observed, n_items=n)


def fleiss_kappa_from_counts(table: Sequence[Sequence[int]]) -> Agreement:
    """Fleiss' kappa from an items x categories table of how many raters chose each category.

    Every item must have the same number of raters (at least two).
    """
    if not table:
        return Agreement(kappa=None, observed=None, n_items=0)
    raters = sum(table[0])
    if raters < 2:
        raise ValueError("Fleiss' kappa needs at least two ratings per item")
    for index, row in enumerate(table):
        if sum(row) != raters:
            raise ValueError(f"item {index} has {sum(row)} ratings, expected {raters}")
    n_items = len(table)
    per_item = [(sum(c * c for c in row) - raters) / (raters * (raters - 1)) for row in table]
    observed = sum(per_item) / n_items
    categories = len(table[0])
    shares = [sum(row[j] for row in table) / (n_items * raters) for j in range(categories)]
    expected = sum(p * p for p in shares)
    kappa = None if expected == 1 else (observed - expected) / (1 - expected)
    return Agreement(kappa=kappa, observed=observed, n_items=n_items)


def fleiss_kappa(ratings: Sequence[Sequence[Hashable]]) -> Agreement:
    """Fleiss' kappa from each item's list of ratings (raters need not be the same people)."""
    categories = sorted({r for item in ratings for r in item}, key=str)
    table = [[Counter(item)[c] for c in categories] for item in ratings]
    return fleiss_kappa_from_counts(table)
