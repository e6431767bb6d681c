"""Metrics in numpy, checked against definitions worked by hand."""
from __future__ import annotations

import itertools
import random

import pytest

from training.ml import metrics


def _pairwise_auroc(y, s):
    pos = [b for a, b in zip(y, s, strict=True) if a == 1]
    neg = [b for a, b in zip(y, s, strict=True) if a == 0]
    return sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg)) / (len(pos) * len(neg))


def test_auroc_counts_ties_as_one_half_like_mann_whitney():
    rng = random.Random(5)
    for _ in range(20):
        y = [rng.randint(0, 1) for _ in range(40)]
        s = [rng.choice([0.1, 0.2, 0.5, 0.5, 0.9]) for _ in range(40)]
        if 0 < sum(y) < 40:
            assert metrics.auroc(y, s) == pytest.approx(_pairwise_auroc(y, s))


def test_auroc_leaves_out_rows_without_a_target_and_needs_both_classes():
    assert metrics.auroc([1, 0, None, 1], [0.9, 0.1, 0.0, 0.8]) == 1.0
    assert metrics.auroc([1, 1, None], [0.2, 0.3, 0.4]) is None


def test_average_precision_matches_the_step_sum():
    # Ranked: 0.9 (pos), 0.8 (neg), 0.7 (pos), 0.1 (neg): P@1 = 1, P@3 = 2/3, recall steps 1/2 each.
    assert metrics.average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_the_f1_threshold_is_chosen_where_f1_is_best():
    y, s = [1, 1, 0, 1, 0, 0], [0.9, 0.8, 0.7, 0.6, 0.2, 0.1]
    threshold = metrics.best_f1_threshold(y, s)
    assert threshold == 0.6
    assert metrics.f1_at(y, s, threshold) == pytest.approx(2 * 3 / (2 * 3 + 1))


def test_curves_run_from_the_corner_and_the_operating_point_of_reads():
    roc = metrics.roc_curve([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1])
    assert roc[0] == (0.0, 0.0)
    assert roc[-1] == (1.0, 1.0)
    assert metrics.pr_curve([1, 0], [0.9, 0.1])[1] == (1.0, 1.0)
    assert metrics.operating_point([1, 1, 0, 0], [1, 0, 0, 0]) == {"sensitivity": 0.5, "specificity": 1.0, "n": 4}
    calibration = metrics.calibration_curve([1, 0, 1, 1], [0.95, 0.05, 0.9, 0.15], bins=2)
    assert calibration == [{"predicted": 0.1, "observed": 0.5, "n": 2}, {"predicted": pytest.approx(0.925), "observed": 1.0, "n": 2}]


def test_bootstrap_interval_brackets_the_estimate_and_is_seeded():
    rng = random.Random(1)
    y = [rng.randint(0, 1) for _ in range(200)]
    s = [0.6 * t + 0.4 * rng.random() for t in y]
    low, high = metrics.bootstrap_interval(y, s, metrics.auroc, seed=3)
    assert low <= metrics.auroc(y, s) <= high
    assert metrics.bootstrap_interval(y, s, metrics.auroc, seed=3) == (low, high)
