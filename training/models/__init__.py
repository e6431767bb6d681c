"""Cohorts, training jobs, deployments and monitoring; one module per area (DESIGN.md, Layout)."""
from __future__ import annotations

from training.models.cohorts import *  # noqa: F403
from training.models.deployments import *  # noqa: F403
from training.models.jobs import *  # noqa: F403
