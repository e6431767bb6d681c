"""Reliability diagrams, expected calibration error, and isotonic / Platt calibration maps.

A calibration map is plain data (a dict that survives JSON), so it can be stored in the database
and handed to any pure code: {"method": "isotonic", "x": [...], "y": [...]} for a piecewise-linear,
non-decreasing map through the pooled blocks, or {"method": "platt", "a": a, "b": b} for
p' = sigmoid(a * logit(p) + b).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

CalibrationMap = dict[str, Any]
_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    low: float
    high: float
    count: int
    mean_p: float | None  # mean predicted p in the bin
    observed: float | None  # share of positives in the bin


def _check(ps: Sequence[float], ys: Sequence[int]) -> None:
    if len(ps) != len(ys):
        raise ValueError("ps and ys must have the same length")


def reliability_bins(ps: Sequence[float], ys: Sequence[int], n_bins: int = 10) -> list[ReliabilityBin]:
    """Equal-width bins over [0, 1]; bin i holds i/n <= p < (i+1)/n (the last one includes 1)."""
    _check(ps, ys)
    counts = [0] * n_bins
    sum_p = [0.0] * n_bins
    sum_y = [0.0] * n_bins
    for p, y in zip(ps, ys, strict=True):
        i = min(int(p * n_bins), n_bins - 1)
        counts[i] += 1
        sum_p[i] += p
        sum_y[i] += y
    return [
        ReliabilityBin(
            low=i / n_bins,
            high=(i + 1) / n_bins,
            count=counts[i],
            mean_p=sum_p[i] / counts[i] if counts[i] else None,
            observed=sum_y[i] / counts[i] if counts[i] else None,
        )
        for i in range(n_bins)
    ]


def expected_calibration_error(ps: Sequence[float], ys: Sequence[int], n_bins: int = 10) -> float | None:
    """ECE = sum_b (n_b / N) |mean p_b - share of positives_b| over equal-width bins."""
    _check(ps, ys)
    if not ps:
        return None
    total = len(ps)
    return sum(
        b.count / total * abs(b.mean_p - b.observed)
        for b in reliability_bins(ps, ys, n_bins)
        if b.count
    )


def fit_isotonic(ps: Sequence[float], ys: Sequence[int]) -> CalibrationMap:
    """Non-decreasing least-squares fit of y on p by pool-adjacent-violators.

    Returns the blocks' mean p (x, strictly increasing) and fitted value (y, non-decreasing);
    apply_calibration interpolates linearly between them and clamps outside.
    """
    _check(ps, ys)
    if not ps:
        raise ValueError("nothing to fit")
    # Ties in p are pooled first: the fit must be a function of p.
    grouped: dict[float, list[float]] = {}
    for p, y in zip(ps, ys, strict=True):
        grouped.setdefault(float(p), []).append(float(y))
    # Each block: [sum_x_weighted, sum_y, weight]
    blocks: list[list[float]] = []
    for p in sorted(grouped):
        values = grouped[p]
        blocks.append([p * len(values), sum(values), float(len(values))])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][2] >= blocks[-1][1] / blocks[-1][2]:
            last = blocks.pop()
            blocks[-1] = [blocks[-1][0] + last[0], blocks[-1][1] + last[1], blocks[-1][2] + last[2]]
    xs = [b[0] / b[2] for b in blocks]
    fitted = [b[1] / b[2] for b in blocks]
    return {"method": "isotonic", "x": [round(x, 6) for x in xs], "y": [round(y, 6) for y in fitted]}


def _logit(p: float) -> float:
    p = min(max(p, _EPS), 1.0 - _EPS)
    return math.log(p / (1.0 - p))


def _sigmoid(t: float) -> float:
    if t >= 0:
        return 1.0 / (1.0 + math.exp(-t))
    e = math.exp(t)
    return e / (1.0 + e)


def fit_platt(ps: Sequence[float], ys: Sequence[int], *, iterations: int = 100) -> CalibrationMap:
    """Logistic regression of y on logit(p) by Newton-Raphson, with Platt's (1999) smoothed
    targets (N+ + 1) / (N+ + 2) and 1 / (N- + 2) so separable data do not diverge."""
    _check(ps, ys)
    if not ps:
        raise ValueError("nothing to fit")
    pos = sum(1 for y in ys if y)
    neg = len(ys) - pos
    hi, lo = (pos + 1.0) / (pos + 2.0), 1.0 / (neg + 2.0)
    targets = [hi if y else lo for y in ys]
    xs = [_logit(p) for p in ps]
    a, b = 1.0, 0.0
    for _ in range(iterations):
        g_a = g_b = h_aa = h_ab = h_bb = 0.0
        for x, t in zip(xs, targets, strict=True):
            q = _sigmoid(a * x + b)
            r = q - t
            w = max(q * (1.0 - q), 1e-12)
            g_a += r * x
            g_b += r
            h_aa += w * x * x
            h_ab += w * x
            h_bb += w
        h_aa += 1e-9  # keeps the Hessian invertible when every p is equal
        det = h_aa * h_bb - h_ab * h_ab
        if abs(det) < 1e-18:
            break
        step_a = (h_bb * g_a - h_ab * g_b) / det
        step_b = (h_aa * g_b - h_ab * g_a) / det
        a, b = a - step_a, b - step_b
        if abs(step_a) < 1e-10 and abs(step_b) < 1e-10:
            break
    return {"method": "platt", "a": round(a, 8), "b": round(b, 8)}


def apply_calibration(calibration: CalibrationMap | None, p: float) -> float:
    """The calibrated p (identity without a map), clamped to [0.001, 0.999] like the engine's."""
    if not calibration:
        return p
    method = calibration.get("method")
    if method == "platt":
        out = _sigmoid(calibration["a"] * _logit(p) + calibration["b"])
    elif method == "isotonic":
        xs, fitted = calibration["x"], calibration["y"]
        if p <= xs[0]:
            out = fitted[0]
        elif p >= xs[-1]:
            out = fitted[-1]
        else:
            lo, hi = 0, len(xs) - 1
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if xs[mid] <= p:
                    lo = mid
                else:
                    hi = mid
            span = xs[hi] - xs[lo]
            frac = (p - xs[lo]) / span if span else 0.0
            out = fitted[lo] + frac * (fitted[hi] - fitted[lo])
    else:
        raise ValueError(f"unknown calibration method {method!r}")
    return round(min(max(out, 0.001), 0.999), 4)
