"""Bernoulli CUSUM on a 0 / 1 disagreement stream, with its threshold set from an in-control ARL.

The chart (Reynolds & Stoumbos 1999; Steiner et al. 2000) accumulates the log-likelihood ratio
of "disagreement rate p1" against "p0":

    S_t = max(0, S_{t-1} + W_t),  W_t = ln(p1 / p0) if x_t else ln((1 - p1) / (1 - p0))

and signals when S_t > h. The increments are scaled to integers (A for a disagreement, -B for an
agreement), so the chart is a finite Markov chain and its average run length (ARL) at any true
rate is solved exactly from (I - Q) L = 1 (Brook & Evans 1972) rather than simulated: the
threshold H is the smallest integer whose in-control ARL reaches the chosen ARL0. The scaled
chart is the one that runs, so the ARL quoted is the ARL of the detector itself.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.sparse import csr_matrix, identity
from scipy.sparse.linalg import spsolve

# Resolution of the integer scale: an agreement moves the chart down by B_STEPS units. Finer
# means closer to the continuous chart and more states; 8 keeps the chain under ~10^4 states.
B_STEPS = 8
MAX_STATES = 200_000
P0_MIN, P0_MAX = 0.002, 0.45


def p1_for_odds_ratio(p0: float, odds_ratio: float) -> float:
    """The out-of-control disagreement rate whose odds are `odds_ratio` times those of p0."""
    return odds_ratio * p0 / (1 - p0 + odds_ratio * p0)


@dataclass(frozen=True, slots=True)
class CusumDesign:
    p0: float
    p1: float
    up: int  # A: added on a disagreement
    down: int  # B: subtracted on an agreement
    threshold: int  # H: signal when the chart exceeds it
    arl0: float  # in-control ARL of this (integer) chart
    scale: float  # integer units per unit of log-likelihood ratio

    @property
    def h(self) -> float:
        """The threshold in log-likelihood-ratio units."""
        return self.threshold / self.scale


def _steps(p0: float, p1: float) -> tuple[int, int, float]:
    a = math.log(p1 / p0)
    b = -math.log((1 - p1) / (1 - p0))
    scale = B_STEPS / b
    return max(1, round(a * scale)), B_STEPS, scale


def average_run_length(*, up: int, down: int, threshold: int, p: float) -> float:
    """The exact ARL from S = 0 of the integer chart when each x_t is 1 with probability p."""
    states = threshold + 1  # S in 0..H; S > H is the absorbing signal
    if states > MAX_STATES:
        raise ValueError("The CUSUM threshold needs too many states; raise B_STEPS' granularity")
    idx = np.arange(states)
    rows, cols, vals = [], [], []
    upper = idx + up
    keep = upper <= threshold
    rows.append(idx[keep])
    cols.append(upper[keep])
    vals.append(np.full(int(keep.sum()), p))
    rows.append(idx)
    cols.append(np.maximum(idx - down, 0))
    vals.append(np.full(states, 1 - p))
    q = csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(states, states)
    )
    lengths = spsolve((identity(states, format="csc") - q.tocsc()), np.ones(states))
    return float(lengths[0])


@lru_cache(maxsize=512)
def _design(p0: float, odds_ratio: float, arl0: float) -> CusumDesign:
    p1 = p1_for_odds_ratio(p0, odds_ratio)
    up, down, scale = _steps(p0, p1)
    # Exponential search, then bisection, for the smallest H with ARL(H) >= arl0.
    low, high = 0, max(up, 1)
    while average_run_length(up=up, down=down, threshold=high, p=p0) < arl0:
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        if average_run_length(up=up, down=down, threshold=mid, p=p0) >= arl0:
            high = mid
        else:
            low = mid
    arl = average_run_length(up=up, down=down, threshold=high, p=p0)
    return CusumDesign(p0=p0, p1=p1, up=up, down=down, threshold=high, arl0=arl, scale=scale)


def design_cusum(*, p0: float, odds_ratio: float, arl0: float) -> CusumDesign:
    """The chart for in-control rate p0 tuned to an odds-ratio rise, holding ARL0 when in control.

    p0 is rounded to 3 decimals (and clamped to a sane range) so that designs are cached.
    """
    p0 = round(min(max(p0, P0_MIN), P0_MAX), 3)
    return _design(p0, float(odds_ratio), float(arl0))


class BernoulliCusum:
    """The running chart; `last_reset` is the index of the last observation that left S at 0."""

    def __init__(self, design: CusumDesign, start: int = 0) -> None:
        self.design = design
        self.value = 0
        self.last_reset = start - 1

    def update(self, index: int, disagreement: bool) -> bool:
        """Add one observation; True when the chart signals."""
        step = self.design.up if disagreement else -self.design.down
        self.value = max(0, self.value + step)
        if self.value == 0:
            self.last_reset = index
        return self.value > self.design.threshold

    @property
    def change_index(self) -> int:
        """The estimated first observation of the change: the one after the last reset."""
        return self.last_reset + 1
