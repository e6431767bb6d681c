"""Statistics for quality assessment: intervals, survey estimators, calibration.

Pure Python (the standard library only): no Django and no project module, so the numbers can be
checked by hand and reused from the command line. See docs/QUALITY.md for the formulas.
"""
from __future__ import annotations

from annotation.metrics.calibration import (
    CalibrationMap,
    ReliabilityBin,
    apply_calibration,
    expected_calibration_error,
    fit_isotonic,
    fit_platt,
    reliability_bins,
)
from annotation.metrics.intervals import Interval, beta_interval, beta_ppf, wilson_interval
from annotation.metrics.sampling import (
    RatioEstimate,
    Stratum,
    allocate_sample,
    sample_size_for_width,
    stratified_ratio,
)

__all__ = [
    "CalibrationMap",
    "Interval",
    "RatioEstimate",
    "ReliabilityBin",
    "Stratum",
    "allocate_sample",
    "apply_calibration",
    "beta_interval",
    "beta_ppf",
    "expected_calibration_error",
    "fit_isotonic",
    "fit_platt",
    "reliability_bins",
    "sample_size_for_width",
    "stratified_ratio",
    "wilson_interval",
]
