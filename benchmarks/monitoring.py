"""Detection delay and false alarms of the shipped monitoring settings, on simulated streams.

Pure (training.monitoring_core): no database. Each row simulates `runs` streams of disagreements
at rate p0 with a step to p_after at study `change_at`, and `stable` studies at p0 without a change.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from training.monitoring_core.detect import DetectorSettings
from training.monitoring_core.simulate import bench

SCENARIOS = ((0.02, 0.10), (0.05, 0.15), (0.05, 0.25), (0.05, 0.40), (0.10, 0.30))


def _fmt(value: float | None, spec: str = ".0f") -> str:
    return "—" if value is None else format(value, spec)


def bench_monitoring(*, runs: int, stable: int, arl0: float | None, seed: int, write: Callable[[str], None]) -> None:
    settings = DetectorSettings() if arl0 is None else DetectorSettings(arl0=arl0)
    write(
        f"settings: ARL0 {settings.arl0:,.0f} studies per label, CUSUM tuned to odds ratio {settings.odds_ratio}, "
        f"burn-in {settings.burn_in}, confirm alpha {settings.confirm_alpha}, window {settings.window} "
        f"every {settings.window_step}"
    )
    write(f"{runs} drifting streams per row (step at study 500), {stable:,} stable studies per row")
    write(
        f"{'baseline':<10} {'p0':>5} {'p_after':>7} {'detected':>9} {'median delay':>12} {'p90 delay':>9} "
        f"{'median cp error':>15} {'false alarms/10k':>16}"
    )
    started = time.monotonic()
    for use_validation in (False, True):
        for p0, p_after in SCENARIOS:
            result = bench(
                settings, p0=p0, p_after=p_after, runs=runs, stable_studies=stable,
                use_validation=use_validation, seed=seed,
            )
            write(
                f"{result.baseline:<10} {p0:>5.2f} {p_after:>7.2f} {result.detected:>4}/{result.runs:<4} "
                f"{_fmt(result.median_delay):>12} {_fmt(result.p90_delay):>9} {_fmt(result.median_change_error):>15} "
                f"{result.false_alarms_per_10k:>16.3f}"
            )
    write(f"({time.monotonic() - started:.1f} s; delays and errors in studies of one label's stream)")
