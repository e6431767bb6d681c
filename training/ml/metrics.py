"""Classification metrics in plain numpy: AUROC, average precision, F1, curves, bootstrap intervals.

Targets are 0 / 1 floats, with NaN (or None) for "no target" (U-ignore, missing); those rows are
left out of every metric of that label. AUROC is the Mann-Whitney U statistic with tied scores
given their average rank, which equals the area under the ROC curve drawn through tied points
diagonally (Hanley & McNeil 1982); average precision is the step-wise sum used by scikit-learn,
sum over thresholds of (R_n - R_{n-1}) * P_n.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def _clean(y_true: Sequence[float | None], y_score: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    y = np.array([np.nan if v is None else float(v) for v in y_true], dtype=float)
    s = np.asarray(y_score, dtype=float)
    if y.shape != s.shape:
        raise ValueError("targets and scores differ in length")
    keep = ~np.isnan(y)
    return y[keep], s[keep]


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    ranks = np.empty(len(values), dtype=float)
    # Boundaries of runs of equal values; each run gets the mean of its 1-based ranks.
    boundaries = np.flatnonzero(np.diff(sorted_values)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(values)]))
    for start, end in zip(starts, ends, strict=True):
        ranks[order[start:end]] = (start + 1 + end) / 2.0
    return ranks


def auroc(y_true: Sequence[float | None], y_score: Sequence[float]) -> float | None:
    """Area under the ROC curve (ties count one half); None without both classes."""
    y, s = _clean(y_true, y_score)
    positives = int((y == 1).sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return None
    ranks = _average_ranks(s)
    u = ranks[y == 1].sum() - positives * (positives + 1) / 2.0
    return float(u / (positives * negatives))


def _threshold_counts(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct thresholds (descending) and cumulative true / false positives at each."""
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last_of_run = np.r_[np.flatnonzero(np.diff(s_sorted)), len(s_sorted) - 1]
    tps = np.cumsum(y_sorted)[last_of_run]
    fps = (1 + last_of_run) - tps
    return s_sorted[last_of_run], tps, fps


def average_precision(y_true: Sequence[float | None], y_score: Sequence[float]) -> float | None:
    """Step-wise average precision; None without a positive."""
    y, s = _clean(y_true, y_score)
    positives = (y == 1).sum()
    if len(y) == 0 or positives == 0:
        return None
    _, tps, fps = _threshold_counts(y, s)
    precision = tps / (tps + fps)
    recall = tps / positives
    recall_steps = np.diff(np.r_[0.0, recall])
    return float((recall_steps * precision).sum())


def confusion(y_true: Sequence[float | None], y_score: Sequence[float], threshold: float) -> dict[str, int]:
    y, s = _clean(y_true, y_score)
    predicted = s >= threshold
    return {
        "tp": int((predicted & (y == 1)).sum()),
        "fp": int((predicted & (y == 0)).sum()),
        "tn": int((~predicted & (y == 0)).sum()),
        "fn": int((~predicted & (y == 1)).sum()),
    }


def f1_at(y_true: Sequence[float | None], y_score: Sequence[float], threshold: float) -> float | None:
    counts = confusion(y_true, y_score, threshold)
    denominator = 2 * counts["tp"] + counts["fp"] + counts["fn"]
    return None if denominator == 0 else 2 * counts["tp"] / denominator


def best_f1_threshold(y_true: Sequence[float | None], y_score: Sequence[float]) -> float:
    """The score threshold that maximises F1 (chosen on validation, applied to test); 0.5 if none."""
    y, s = _clean(y_true, y_score)
    positives = (y == 1).sum()
    if len(y) == 0 or positives == 0:
        return 0.5
    thresholds, tps, fps = _threshold_counts(y, s)
    f1 = 2 * tps / (2 * tps + fps + (positives - tps))
    return float(thresholds[int(np.argmax(f1))])


def roc_curve(y_true: Sequence[float | None], y_score: Sequence[float]) -> list[tuple[float, float]]:
    """(false positive rate, true positive rate) points from (0, 0) to (1, 1); [] without both classes."""
    y, s = _clean(y_true, y_score)
    positives = (y == 1).sum()
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return []
    _, tps, fps = _threshold_counts(y, s)
    return [(0.0, 0.0), *zip((fps / negatives).tolist(), (tps / positives).tolist(), strict=True)]


def pr_curve(y_true: Sequence[float | None], y_score: Sequence[float]) -> list[tuple[float, float]]:
    """(recall, precision) points, from the highest threshold down; [] without a positive."""
    y, s = _clean(y_true, y_score)
    positives = (y == 1).sum()
    if positives == 0:
        return []
    _, tps, fps = _threshold_counts(y, s)
    precision = tps / (tps + fps)
    recall = tps / positives
    return [(0.0, float(precision[0])), *zip(recall.tolist(), precision.tolist(), strict=True)]


def calibration_curve(
    y_true: Sequence[float | None], y_score: Sequence[float], bins: int = 10
) -> list[dict[str, float]]:
    """Equal-width bins of predicted p: mean predicted, observed positive rate, count (empty bins left out)."""
    y, s = _clean(y_true, y_score)
    index = np.minimum((s * bins).astype(int), bins - 1)
    points = []
    for b in range(bins):
        mask = index == b
        if mask.any():
            points.append({"predicted": float(s[mask].mean()), "observed": float(y[mask].mean()), "n": int(mask.sum())})
    return points


def operating_point(y_true: Sequence[float | None], y_pred: Sequence[float]) -> dict[str, float | int | None]:
    """Sensitivity and specificity of hard 0 / 1 reads (a reader's) against the targets."""
    counts = confusion(y_true, y_pred, 0.5)
    positives = counts["tp"] + counts["fn"]
    negatives = counts["tn"] + counts["fp"]
    return {
        "sensitivity": counts["tp"] / positives if positives else None,
        "specificity": counts["tn"] / negatives if negatives else None,
        "n": positives + negatives,
    }


def bootstrap_interval(
    y_true: Sequence[float | None],
    y_score: Sequence[float],
    metric: Any,
    *,
    rounds: int = 200,
    seed: int = 0,
    alpha: float = 0.05,
) -> tuple[float, float] | None:
    """Percentile interval of `metric(y, s)` over resamples of the rows (with replacement)."""
    y, s = _clean(y_true, y_score)
    if len(y) < 2:
        return None
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(rounds):
        pick = rng.integers(0, len(y), len(y))
        value = metric(y[pick], s[pick])
        if value is not None and not math.isnan(value):
            values.append(value)
    if len(values) < rounds // 2:
        return None
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def label_metrics(
    y_true: Sequence[float | None],
    y_score: Sequence[float],
    *,
    threshold: float,
    rounds: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """AUROC, AP and F1 (at `threshold`) with bootstrap intervals, and the counts, for one label."""
    y, s = _clean(y_true, y_score)
    f1 = lambda yy, ss: f1_at(yy, ss, threshold)  # noqa: E731
    return {
        "auroc": auroc(y, s),
        "auroc_ci": bootstrap_interval(y, s, auroc, rounds=rounds, seed=seed),
        "ap": average_precision(y, s),
        "ap_ci": bootstrap_interval(y, s, average_precision, rounds=rounds, seed=seed),
        "f1": f1_at(y, s, threshold),
        "f1_ci": bootstrap_interval(y, s, f1, rounds=rounds, seed=seed),
        "threshold": threshold,
        "positives": int((y == 1).sum()),
        "n": len(y),
    }


def macro(values: Sequence[float | None]) -> float | None:
    """Mean over labels that have a value (a label without both classes has no AUROC)."""
    present = [v for v in values if v is not None]
    return float(sum(present) / len(present)) if present else None
