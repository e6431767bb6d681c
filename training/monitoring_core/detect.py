"""Find drops in a model's agreement with the reference labels, on one label's ordered stream.

The input is one 0 / 1 per scored study, in study-date order: 1 when the model (at its operating
threshold) and the reference label disagree. Two detectors watch it (docs/MONITORING.md):

1. a Bernoulli CUSUM (cusum.py) tuned to a rise of the disagreement odds by `odds_ratio`, its
   threshold set so that the in-control average run length is `arl0` studies; when it signals,
   the estimated change point is the study after its last reset (the first study of the change),
   and the alarm is confirmed by an exact one-sided binomial test of the disagreements since that
   point against the baseline (so a chart pushed up by a short burst does not alert);
2. an exact binomial test every `window_step` studies over the last `window` studies against the
   baseline, its level Bonferroni-matched to the same ARL0, which catches slow drift that the
   chart tuned for a step change sees late.

The baseline disagreement rate p0 comes from the deployment's validation figures when given;
otherwise from the first `burn_in` studies, as the upper one-sided 95 % Wilson bound (a noisy
small sample must not set the bar too low and cause false alarms). After an alert the detector
starts again after the detection, on a new burn-in: one alert per change, and the new level
becomes the baseline for the next one.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from training.monitoring_core.cusum import BernoulliCusum, design_cusum
from training.monitoring_core.stats import (
    Z90,
    binomial_tail,
    newcombe_diff,
    norm_sf,
    one_sample_z,
    two_proportion_z,
    wilson,
)


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """The shipped settings; docs/MONITORING.md gives their measured delay and false alarms."""

    arl0: float = 1_000_000.0  # in-control average run length of each detector, in studies
    odds_ratio: float = 3.0  # the rise of the disagreement odds the CUSUM is tuned to
    burn_in: int = 100  # studies that set the baseline when there are no validation figures
    min_p0: float = 0.01  # floor of the baseline disagreement rate
    confirm_alpha: float = 0.01  # one-sided level of the test that confirms a CUSUM signal
    window: int = 200  # studies in the windowed test
    window_step: int = 50  # the windowed test runs every this many studies
    before_window: int = 500  # at most this many studies before the change measure "before"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Change:
    """One detected drop; indices are positions in the stream given to detect_changes."""

    change_index: int
    detected_index: int
    detector: str  # "cusum" or "window"
    before: float  # agreement before the change
    after: float  # agreement from the change to the detection
    drop: float  # before - after
    drop_low: float  # 95 % Newcombe interval of the drop
    drop_high: float
    n_before: int
    k_before: int  # disagreements among n_before
    n_after: int
    k_after: int
    p0: float  # baseline disagreement rate
    baseline: str  # "validation" or "burn-in"
    z: float  # two-proportion z, before vs after
    p_value: float
    cusum_h: float  # the chart's threshold in log-likelihood units
    arl0: float

    def evidence(self) -> dict[str, Any]:
        return {
            key: (round(value, 6) if isinstance(value, float) else value)
            for key, value in asdict(self).items()
        }


def detect_changes(
    disagreements: Sequence[int] | Sequence[bool],
    *,
    settings: DetectorSettings | None = None,
    validation_p0: float | None = None,
) -> list[Change]:
    """Every drop in agreement along the stream, in order (see the module docstring)."""
    settings = settings or DetectorSettings()
    x = np.asarray(disagreements, dtype=np.int64)
    n = len(x)
    prefix = np.concatenate(([0], np.cumsum(x)))

    def count(start: int, stop: int) -> int:
        return int(prefix[stop] - prefix[start])

    window_alpha = min(0.5, settings.window_step / settings.arl0)
    changes: list[Change] = []
    segment = 0
    while segment < n:
        if validation_p0 is not None and not changes:
            p0, baseline, monitor_from = max(settings.min_p0, validation_p0), "validation", segment
        else:
            if n - segment <= settings.burn_in:
                break
            k = count(segment, segment + settings.burn_in)
            p0 = max(settings.min_p0, wilson(k, settings.burn_in, Z90)[1])
            baseline, monitor_from = "burn-in", segment + settings.burn_in
        design = design_cusum(p0=p0, odds_ratio=settings.odds_ratio, arl0=settings.arl0)
        chart = BernoulliCusum(design, start=monitor_from)
        found: Change | None = None
        for t in range(monitor_from, n):
            signalled = chart.update(t, bool(x[t]))
            detector = ""
            if signalled:
                start = chart.change_index
                if binomial_tail(count(start, t + 1), t + 1 - start, design.p0) < settings.confirm_alpha:
                    detector = "cusum"
            seen = t + 1 - monitor_from
            if not detector and seen >= settings.window and seen % settings.window_step == 0:
                start = t + 1 - settings.window
                if binomial_tail(count(start, t + 1), settings.window, design.p0) < window_alpha:
                    detector = "window"
                    if chart.value > 0:
                        start = max(chart.change_index, monitor_from)
            if detector:
                found = _change(
                    count, segment=segment, start=start, detected=t, detector=detector,
                    p0=design.p0, baseline=baseline, h=design.h, settings=settings,
                )
                break
        if found is None:
            break
        changes.append(found)
        segment = found.detected_index + 1
    return changes


def _change(
    count: Any, *, segment: int, start: int, detected: int, detector: str, p0: float, baseline: str,
    h: float, settings: DetectorSettings,
) -> Change:
    before_from = max(segment, start - settings.before_window)
    n_before, k_before = start - before_from, count(before_from, start)
    n_after, k_after = detected + 1 - start, count(start, detected + 1)
    if n_before == 0:
        # The change began with the monitoring (validation baseline): "before" is the baseline.
        before = 1 - p0
        z = one_sample_z(k_after, n_after, p0)
        low_high = wilson(k_after, n_after)
        drop, low, high = k_after / n_after - p0, low_high[0] - p0, low_high[1] - p0
    else:
        before = 1 - k_before / n_before
        z = two_proportion_z(k_before, n_before, k_after, n_after)
        drop, low, high = newcombe_diff(k_after, n_after, k_before, n_before)
    return Change(
        change_index=start, detected_index=detected, detector=detector,
        before=before, after=1 - k_after / n_after, drop=drop, drop_low=low, drop_high=high,
        n_before=n_before, k_before=k_before, n_after=n_after, k_after=k_after,
        p0=p0, baseline=baseline, z=z, p_value=norm_sf(z) if math.isfinite(z) else 0.0,
        cusum_h=h, arl0=settings.arl0,
    )
