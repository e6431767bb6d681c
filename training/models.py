"""Cohorts, training runs, deployments and monitoring: the next slices (see DESIGN.md).

Nothing is stored here yet; the confirmed labels they will freeze live in annotation.
"""
from __future__ import annotations
