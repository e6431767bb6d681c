"""Small statistics for monitoring: Wilson and Newcombe intervals, proportion tests, window metrics.

Plain Python and numpy; no Django. Proportions are of *disagreements* (a model output on the wrong
side of its threshold compared with the reference label) unless named otherwise.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy.stats import binom

from training.ml.metrics import auroc

Z90 = 1.6448536269514722  # one-sided 95 %, two-sided 90 %
Z95 = 1.959963984540054


def norm_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of the proportion k / n; (0, 1) when n is 0."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_diff(k1: int, n1: int, k2: int, n2: int, z: float = Z95) -> tuple[float, float, float]:
    """p1 - p2 with Newcombe's hybrid score interval (method 10, Newcombe 1998)."""
    p1 = k1 / n1 if n1 else 0.0
    p2 = k2 / n2 if n2 else 0.0
    l1, u1 = wilson(k1, n1, z)
    l2, u2 = wilson(k2, n2, z)
    diff = p1 - p2
    low = diff - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = diff + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return diff, max(-1.0, low), min(1.0, high)


def two_proportion_z(k1: int, n1: int, k2: int, n2: int) -> float:
    """Pooled two-proportion z for H1: rate 2 > rate 1 (0 when undefined)."""
    if n1 <= 0 or n2 <= 0:
        return 0.0
    pooled = (k1 + k2) / (n1 + n2)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if var <= 0:
        return 0.0
    return (k2 / n2 - k1 / n1) / math.sqrt(var)


def binomial_tail(k: int, n: int, p0: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p0): the exact one-sided p-value of k events in n.

    Used instead of a normal z for the detectors' tests: at the small n * p0 of a rare
    disagreement the normal tail is far too thin, and a window test on it alarms too often.
    """
    if k <= 0:
        return 1.0
    return float(binom.sf(k - 1, n, p0))


def one_sample_z(k: int, n: int, p0: float) -> float:
    """z for H1: the rate k / n is above a known p0 (0 when undefined)."""
    if n <= 0 or not 0 < p0 < 1:
        return 0.0
    return (k - n * p0) / math.sqrt(n * p0 * (1 - p0))


@dataclass(frozen=True, slots=True)
class WindowMetrics:
    n: int
    agreement: float | None
    sensitivity: float | None
    specificity: float | None
    ppv: float | None
    auroc: float | None
    positives: int


def window_metrics(
    reference: Sequence[int], predicted: Sequence[int], scores: Sequence[float] | None = None
) -> WindowMetrics:
    """Agreement, sensitivity, specificity, PPV (and AUROC from scores) of one window.

    `reference` and `predicted` are 0 / 1; a figure without a denominator is None.
    """
    tp = fp = tn = fn = 0
    for ref, pred in zip(reference, predicted, strict=True):
        if ref and pred:
            tp += 1
        elif ref:
            fn += 1
        elif pred:
            fp += 1
        else:
            tn += 1
    n = tp + fp + tn + fn
    area = None
    if scores is not None and 0 < tp + fn < n:
        area = auroc([float(r) for r in reference], list(scores))
    return WindowMetrics(
        n=n,
        agreement=(tp + tn) / n if n else None,
        sensitivity=tp / (tp + fn) if tp + fn else None,
        specificity=tn / (tn + fp) if tn + fp else None,
        ppv=tp / (tp + fp) if tp + fp else None,
        auroc=area,
        positives=tp + fn,
    )


def expected_disagreement(*, sensitivity: float, specificity: float, prevalence: float) -> float:
    """The disagreement rate a model with these validation figures shows at this prevalence."""
    return prevalence * (1 - sensitivity) + (1 - prevalence) * (1 - specificity)
