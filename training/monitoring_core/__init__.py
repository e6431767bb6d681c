"""Change detection for deployed models, in plain Python and numpy (no Django, no project app).

`detect` finds drops in agreement on one label's stream, `cusum` designs the sequential chart,
`stats` holds intervals and window metrics, `events` finds scanner / software changes, and
`simulate` measures detection delay and false alarms on simulated streams (bench_monitoring).
"""
from __future__ import annotations
