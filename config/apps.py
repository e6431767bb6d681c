"""The project's glue app: what spans every app and so sits above them all in the layers.

It holds the dashboard (config/views.py) and the demo seeding (config/demo/, run by
`manage.py seed_demo`). It may import reports, annotation and training; none of them imports it.
"""
from __future__ import annotations

from django.apps import AppConfig


class RadlabelConfig(AppConfig):
    name = "config"
    # "config" says where the settings live, not what the app is; the label names the project.
    label = "radlabel"
    verbose_name = "radlabel (project glue)"
