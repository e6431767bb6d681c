"""Intervals against hand computations (closed forms; Beta quantiles checked with mpmath.betainc)."""
from __future__ import annotations

import math

import pytest

from annotation.metrics.intervals import beta_cdf, beta_interval, beta_ppf, wilson_interval, z_value


def test_z_value_for_95_percent():
    assert z_value(0.95) == pytest.approx(1.959964, abs=1e-6)


def test_wilson_interval_matches_the_closed_form_for_8_of_10():
    # centre = (0.8 + z^2/20) / (1 + z^2/10); half = z sqrt(0.016 + z^2/400) / (1 + z^2/10)
    z = 1.959963984540054
    denom = 1 + z * z / 10
    centre = (0.8 + z * z / 20) / denom
    half = z * math.sqrt(0.8 * 0.2 / 10 + z * z / 400) / denom
    interval = wilson_interval(8, 10)
    assert interval.estimate == 0.8
    assert interval.low == pytest.approx(centre - half, abs=1e-12)
    assert interval.high == pytest.approx(centre + half, abs=1e-12)
    assert (round(interval.low, 4), round(interval.high, 4)) == (0.4902, 0.9433)


def test_wilson_interval_of_all_successes_reaches_one_and_stays_below_mle_width():
    interval = wilson_interval(10, 10)
    assert interval.high == 1.0
    # lower bound n / (n + z^2) when every trial succeeds
    assert interval.low == pytest.approx(10 / (10 + 1.959964**2), abs=1e-6)


def test_wilson_interval_without_data_is_the_whole_unit_interval():
    assert wilson_interval(0, 0) == (wilson_interval(0, 0).__class__(0.5, 0.0, 1.0))


def test_wilson_interval_rejects_more_successes_than_trials():
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(3, 2)


def test_beta_cdf_of_uniform_is_identity_and_of_beta_2_1_is_square():
    assert beta_cdf(0.3, 1, 1) == pytest.approx(0.3, abs=1e-12)
    assert beta_cdf(0.3, 2, 1) == pytest.approx(0.09, abs=1e-12)
    # Beta(2, 2): 3x^2 - 2x^3
    assert beta_cdf(0.4, 2, 2) == pytest.approx(3 * 0.16 - 2 * 0.064, abs=1e-12)


def test_beta_ppf_inverts_the_cdf():
    for a, b, q in [(8.5, 2.5, 0.025), (0.5, 10.5, 0.975), (30, 3, 0.5)]:
        assert beta_cdf(beta_ppf(q, a, b), a, b) == pytest.approx(q, abs=1e-10)


def test_uniform_prior_interval_of_1_of_1_is_closed_form():
    # Beta(2, 1) posterior: cdf x^2, so quantile q is sqrt(q); s = n sets the upper bound to 1
    interval = beta_interval(1, 1, prior=(1.0, 1.0))
    assert interval.estimate == pytest.approx(2 / 3)
    assert interval.low == pytest.approx(math.sqrt(0.025), abs=1e-12)
    assert interval.high == 1.0


def test_jeffreys_interval_of_8_of_10_matches_qbeta():
    # Beta(8.5, 2.5) quantiles 0.4972255, 0.9559406 (mpmath)
    interval = beta_interval(8, 10)
    assert interval.estimate == pytest.approx(8.5 / 11)
    assert interval.low == pytest.approx(0.4972255, abs=1e-6)
    assert interval.high == pytest.approx(0.9559406, abs=1e-6)


def test_jeffreys_interval_of_no_success_starts_at_zero():
    interval = beta_interval(0, 20)
    assert interval.low == 0.0
    # Beta(0.5, 20.5) 97.5% quantile 0.1166390 (mpmath)
    assert interval.high == pytest.approx(0.1166390, abs=1e-6)


def test_intervals_narrow_as_judgements_grow():
    widths = [beta_interval(9 * k, 10 * k).width for k in (1, 4, 16)]
    assert widths[0] > widths[1] > widths[2]
    # the width shrinks roughly with 1 / sqrt(n)
    assert widths[1] / widths[2] == pytest.approx(2, rel=0.15)
