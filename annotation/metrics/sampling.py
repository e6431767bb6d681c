"""Stratified random samples: sizes for a target interval width, allocation, ratio estimators.

A quality sample is a stratified simple random sample without replacement. Precision and recall
are both ratios of population totals, R = Y / X, estimated by the combined (separate-weights)
ratio estimator with Horvitz-Thompson weights N_h / n_h and a Taylor-linearised variance
(Cochran 1977, section 6.11):

    R_hat  = sum_h N_h ybar_h / sum_h N_h xbar_h
    V(R)  ~= 1 / X_hat^2 * sum_h N_h^2 (1 - n_h / N_h) s_dh^2 / n_h,   d_i = y_i - R_hat x_i

The interval is a Wilson interval at the effective sample size n_eff = R(1 - R) / V (Korn &
Graubard 1998), so it stays inside [0, 1] and is not degenerate when every judged item agrees.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from annotation.metrics.intervals import wilson_interval, z_value


@dataclass(slots=True)
class Stratum:
    """A stratum of N units, of which the judged ones give (y, x) pairs."""

    population: int
    pairs: list[tuple[float, float]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RatioEstimate:
    estimate: float | None
    low: float | None
    high: float | None
    se: float | None
    effective_n: float | None
    judged: int  # sampled units with x > 0 (the denominator's judged units)


def stratified_ratio(strata: list[Stratum], confidence: float = 0.95) -> RatioEstimate:
    """Estimate R = sum y / sum x over the population from a stratified random sample.

    Strata with no judged unit contribute nothing (their share is unknown: callers must judge at
    least one unit per stratum for an unbiased estimate). None when no judged unit has x > 0.
    """
    y_total = x_total = 0.0
    judged = 0
    usable = [s for s in strata if s.pairs]
    for s in usable:
        n = len(s.pairs)
        y_total += s.population * sum(y for y, _ in s.pairs) / n
        x_total += s.population * sum(x for _, x in s.pairs) / n
        judged += sum(1 for _, x in s.pairs if x > 0)
    if x_total <= 0:
        return RatioEstimate(None, None, None, None, None, judged)
    r = y_total / x_total
    var = 0.0
    for s in usable:
        n = len(s.pairs)
        if n < 2 or s.population <= n:
            continue  # a stratum judged in full (or a single unit) adds no sampling variance
        d = [y - r * x for y, x in s.pairs]
        mean_d = sum(d) / n
        s2 = sum((v - mean_d) ** 2 for v in d) / (n - 1)
        var += s.population**2 * (1.0 - n / s.population) * s2 / n
    var /= x_total**2
    se = math.sqrt(var)
    r_clamped = min(max(r, 0.0), 1.0)
    if var > 0 and 0.0 < r_clamped < 1.0:
        n_eff = r_clamped * (1.0 - r_clamped) / var
    else:
        n_eff = float(judged)
    n_eff = max(min(n_eff, float(judged)) if judged else n_eff, 1e-9)
    interval = wilson_interval(r_clamped * n_eff, n_eff, confidence)
    return RatioEstimate(r, interval.low, interval.high, se, n_eff, judged)


def sample_size_for_width(
    width: float, *, population: int | None = None, expected: float = 0.5, confidence: float = 0.95
) -> int:
    """Units to judge so a proportion's 95% interval is about `width` wide (normal approximation).

    n0 = z^2 p (1 - p) / (width / 2)^2, with the finite population correction n0 / (1 + (n0 - 1) / N).
    expected = 0.5 is the worst case.
    """
    if not 0.0 < width < 1.0:
        raise ValueError("width must lie strictly between 0 and 1")
    z = z_value(confidence)
    n0 = z * z * expected * (1.0 - expected) / (width / 2.0) ** 2
    if population is not None:
        if population <= 0:
            return 0
        n0 = n0 / (1.0 + (n0 - 1.0) / population)
        return min(population, math.ceil(n0 - 1e-9))
    return math.ceil(n0 - 1e-9)


def allocate_sample(populations: dict[str, int], total: int, *, minimum: int = 2) -> dict[str, int]:
    """Split `total` over strata proportionally to their size, each stratum getting at least
    `minimum` units (or all of it when smaller), largest remainders first. The result may exceed
    `total` by the minimums."""
    sizes = {k: v for k, v in populations.items() if v > 0}
    if not sizes or total <= 0:
        return dict.fromkeys(populations, 0)
    grand = sum(sizes.values())
    total = min(total, grand)
    quotas = {k: total * v / grand for k, v in sizes.items()}
    alloc = {k: math.floor(q) for k, q in quotas.items()}
    left = total - sum(alloc.values())
    for k in sorted(sizes, key=lambda k: (-(quotas[k] - alloc[k]), k))[:left]:
        alloc[k] += 1
    for k, size in sizes.items():
        alloc[k] = min(size, max(alloc[k], minimum))
    return {k: alloc.get(k, 0) for k in populations}
