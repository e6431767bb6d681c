"""Simulated disagreement streams with a known drop, and the benchmark that measures the detector.

Used by tests and by `manage.py bench_monitoring`: detection delay (studies from the true change
to the alert) and false alarms per 10,000 stable studies, for given settings.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass

import numpy as np

from training.monitoring_core.detect import DetectorSettings, detect_changes


def simulate_stream(
    n: int, *, p0: float, seed: int, change_at: int | None = None, p_after: float | None = None,
    drift_over: int = 0,
) -> list[int]:
    """n Bernoulli disagreements at rate p0; from `change_at` the rate is p_after (reached
    linearly over `drift_over` studies for a gradual drift, at once when 0)."""
    rng = np.random.default_rng(seed)
    rates = np.full(n, p0, dtype=float)
    if change_at is not None and p_after is not None:
        ramp = np.arange(n - change_at, dtype=float)
        frac = np.minimum(1.0, (ramp + 1) / drift_over) if drift_over else np.ones(n - change_at)
        rates[change_at:] = p0 + (p_after - p0) * frac
    return (rng.random(n) < rates).astype(int).tolist()


@dataclass(frozen=True)
class BenchResult:
    p0: float
    p_after: float
    baseline: str
    runs: int
    detected: int
    median_delay: float | None
    p90_delay: float | None
    median_change_error: float | None
    false_alarms_per_10k: float
    stable_studies: int


def bench(
    settings: DetectorSettings, *, p0: float = 0.05, p_after: float = 0.25, change_at: int = 500,
    after: int = 1000, runs: int = 100, stable_studies: int = 200_000, use_validation: bool = False,
    seed: int = 0,
) -> BenchResult:
    """Delay on `runs` streams with a step from p0 to p_after at `change_at`, and false alarms
    on `stable_studies` studies at p0 (in streams of 10,000)."""
    validation_p0 = p0 if use_validation else None
    delays: list[int] = []
    errors: list[int] = []
    for run in range(runs):
        stream = simulate_stream(change_at + after, p0=p0, seed=seed + run, change_at=change_at, p_after=p_after)
        hits = [c for c in detect_changes(stream, settings=settings, validation_p0=validation_p0)
                if c.detected_index >= change_at]
        if hits:
            delays.append(hits[0].detected_index - change_at)
            errors.append(hits[0].change_index - change_at)
    alarms = 0
    chunks = max(1, stable_studies // 10_000)
    for chunk in range(chunks):
        stream = simulate_stream(10_000, p0=p0, seed=seed + 1_000_000 + chunk)
        alarms += len(detect_changes(stream, settings=settings, validation_p0=validation_p0))
    return BenchResult(
        p0=p0, p_after=p_after, baseline="validation" if use_validation else "burn-in", runs=runs,
        detected=len(delays),
        median_delay=statistics.median(delays) if delays else None,
        p90_delay=float(np.percentile(delays, 90)) if delays else None,
        median_change_error=statistics.median(errors) if errors else None,
        false_alarms_per_10k=alarms / chunks,
        stable_studies=chunks * 10_000,
    )
