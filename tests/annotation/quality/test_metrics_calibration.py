"""Calibration on synthetic data with known miscalibration."""
from __future__ import annotations

import random

import pytest

from annotation.metrics.calibration import (
    apply_calibration,
    expected_calibration_error,
    fit_isotonic,
    fit_platt,
    reliability_bins,
)


def _overconfident(n: int, seed: int = 3) -> tuple[list[float], list[int]]:
    """Stated p, true probability p^2: an engine that is too sure of itself."""
    rng = random.Random(seed)
    ps = [rng.random() for _ in range(n)]
    return ps, [1 if rng.random() < p * p else 0 for p in ps]


def test_reliability_bins_by_hand():
    bins = reliability_bins([0.05, 0.15, 0.18, 0.95, 1.0], [0, 1, 0, 1, 1], n_bins=10)
    assert [b.count for b in bins] == [1, 2, 0, 0, 0, 0, 0, 0, 0, 2]
    assert bins[1].mean_p == pytest.approx(0.165)
    assert bins[1].observed == 0.5
    assert bins[2].mean_p is None


def test_ece_by_hand():
    # bin [0.1, 0.2): mean 0.15, observed 0.5 -> 0.35 * 2/4; bin [0.9, 1]: mean 0.95, observed 1 -> 0.05 * 2/4
    ece = expected_calibration_error([0.1, 0.2 - 1e-9, 0.9, 1.0], [1, 0, 1, 1], n_bins=10)
    assert ece == pytest.approx(0.5 * abs(0.15 - 0.5) + 0.5 * 0.05, abs=1e-6)


def test_ece_of_a_calibrated_source_is_small_and_of_a_miscalibrated_one_is_known():
    rng = random.Random(11)
    ps = [rng.random() for _ in range(20000)]
    calibrated = [1 if rng.random() < p else 0 for p in ps]
    assert expected_calibration_error(ps, calibrated) < 0.02
    ps2, ys2 = _overconfident(20000)
    # E|p - p^2| over uniform p = 1/6
    assert expected_calibration_error(ps2, ys2) == pytest.approx(1 / 6, abs=0.02)


def test_isotonic_pav_by_hand():
    fit = fit_isotonic([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1])
    # (0.2, 1) and (0.3, 0) violate order and pool into (0.25, 0.5)
    assert fit == {"method": "isotonic", "x": [0.1, 0.25, 0.4], "y": [0.0, 0.5, 1.0]}
    assert apply_calibration(fit, 0.25) == 0.5
    assert apply_calibration(fit, 0.325) == pytest.approx(0.75)
    assert apply_calibration(fit, 0.0) == 0.001  # clamped like the engine's p
    assert apply_calibration(fit, 0.99) == 0.999


def test_isotonic_fit_is_monotone_and_removes_the_miscalibration_on_held_out_data():
    ps, ys = _overconfident(4000, seed=5)
    held_ps, held_ys = _overconfident(4000, seed=6)
    fit = fit_isotonic(ps, ys)
    assert fit["y"] == sorted(fit["y"])
    before = expected_calibration_error(held_ps, held_ys)
    after = expected_calibration_error([apply_calibration(fit, p) for p in held_ps], held_ys)
    assert before > 0.12
    assert after < 0.04


def test_platt_recovers_a_known_logistic_distortion():
    # true probability = sigmoid(2 * logit(p) - 1): Platt's model holds exactly
    import math

    rng = random.Random(8)
    ps = [min(max(rng.random(), 0.01), 0.99) for _ in range(20000)]
    ys = [1 if rng.random() < 1 / (1 + math.exp(-(2 * math.log(p / (1 - p)) - 1))) else 0 for p in ps]
    fit = fit_platt(ps, ys)
    assert fit["a"] == pytest.approx(2.0, abs=0.15)
    assert fit["b"] == pytest.approx(-1.0, abs=0.1)
    after = expected_calibration_error([apply_calibration(fit, p) for p in ps], ys)
    assert after < expected_calibration_error(ps, ys) / 3


def test_no_map_is_the_identity():
    assert apply_calibration(None, 0.42) == 0.42


def test_an_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown calibration method"):
        apply_calibration({"method": "magic"}, 0.5)
