"""Sample sizes, allocation and the stratified ratio estimator against hand computations."""
from __future__ import annotations

import math
import random

import pytest

from annotation.metrics.sampling import (
    Stratum,
    allocate_sample,
    sample_size_for_width,
    stratified_ratio,
)


def test_sample_size_for_a_width_of_ten_points_is_385_in_the_worst_case():
    # 1.959964^2 * 0.25 / 0.05^2 = 384.15 -> 385
    assert sample_size_for_width(0.10) == 385


def test_sample_size_applies_the_finite_population_correction():
    n0 = 1.959964**2 * 0.25 / 0.05**2
    assert sample_size_for_width(0.10, population=1000) == math.ceil(n0 / (1 + (n0 - 1) / 1000))
    assert sample_size_for_width(0.10, population=30) <= 30
    assert sample_size_for_width(0.10, population=0) == 0


def test_sample_size_is_smaller_for_an_expected_high_precision():
    assert sample_size_for_width(0.10, expected=0.9) == math.ceil(1.959964**2 * 0.09 / 0.0025)


def test_allocation_is_proportional_with_a_minimum_per_stratum():
    alloc = allocate_sample({"a": 900, "b": 90, "c": 10, "empty": 0}, 100)
    assert alloc == {"a": 90, "b": 9, "c": 2, "empty": 0}


def test_allocation_never_exceeds_a_stratum():
    assert allocate_sample({"a": 1, "b": 1000}, 50) == {"a": 1, "b": 50}  # the minimum may add to the total


def test_stratified_ratio_matches_a_hand_computation():
    # Stratum A: N=900, 9 of 10 right. Stratum B: N=100, 5 of 10 right. x = 1 everywhere.
    strata = [Stratum(900, [(1, 1)] * 9 + [(0, 1)]), Stratum(100, [(1, 1)] * 5 + [(0, 1)] * 5)]
    result = stratified_ratio(strata)
    assert result.estimate == pytest.approx((900 * 0.9 + 100 * 0.5) / 1000)  # 0.86
    # d = y - 0.86 x; s_A^2 = 0.1 * 0.9 * 10/9 = 0.1, s_B^2 = 0.25 * 10/9
    var = (900**2 * (1 - 10 / 900) * 0.1 / 10 + 100**2 * (1 - 10 / 100) * (0.25 * 10 / 9) / 10) / 1000**2
    assert result.se == pytest.approx(math.sqrt(var))
    assert result.judged == 20
    assert result.low < 0.86 < result.high


def test_stratified_recall_counts_positives_found_in_the_absent_stratum():
    # Recall: y = found (predicted positive and truly positive), x = truly positive.
    positive = Stratum(100, [(1, 1)] * 8 + [(0, 0)] * 2)  # 80 true positives among 100 predicted
    absent = Stratum(1000, [(0, 1)] * 1 + [(0, 0)] * 9)  # ~100 missed positives among 1000 absent
    result = stratified_ratio([positive, absent])
    assert result.estimate == pytest.approx(80 / (80 + 100))


def test_a_stratum_judged_in_full_has_no_sampling_variance():
    result = stratified_ratio([Stratum(5, [(1, 1), (1, 1), (0, 1), (1, 1), (1, 1)])])
    assert result.estimate == pytest.approx(0.8)
    assert result.se == 0
    assert result.low < 0.8 < result.high  # the interval falls back on the judged count


def test_nothing_judged_gives_no_estimate():
    result = stratified_ratio([Stratum(50, [])])
    assert result.estimate is None
    assert result.low is None


def test_the_interval_covers_the_truth_about_95_percent_of_the_time():
    rng = random.Random(7)
    # population: stratum 1 precision 0.95 (N=2000), stratum 2 precision 0.6 (N=300)
    pops = [[1] * 1900 + [0] * 100, [1] * 180 + [0] * 120]
    truth = (1900 + 180) / 2300
    covered = 0
    trials = 300
    for _ in range(trials):
        strata = [Stratum(len(pop), [(y, 1) for y in rng.sample(pop, 40)]) for pop in pops]
        result = stratified_ratio(strata)
        covered += result.low <= truth <= result.high
    assert 0.90 <= covered / trials <= 0.99
