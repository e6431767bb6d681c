"""softlabel and bench_softlabel: the engine from the command line (no database)."""
from __future__ import annotations
