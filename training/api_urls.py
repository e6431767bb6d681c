from __future__ import annotations

from django.urls import path  # noqa: F401  (helpers add their routes below, one block per area)

urlpatterns: list = [
    # cohorts
    # training jobs
    # deployments and monitoring
]
