"""The project's glue app: what spans every app and so sits above them all in the layers.

It holds the dashboard (config/views.py), the demo seeding (config/demo/, run by
`manage.py seed_demo`) and the row history that database triggers write (config/history.py).
It may import reports, annotation and training; none of them imports it.
"""
from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate

from config.history import history_after_migrate, history_before_migrate


class RadlabelConfig(AppConfig):
    name = "config"
    # "config" says where the settings live, not what the app is; the label names the project.
    label = "radlabel"
    verbose_name = "radlabel (project glue)"

    def ready(self) -> None:
        # Sent once per migrate for this app; the triggers follow the tracked tables' columns.
        pre_migrate.connect(history_before_migrate, sender=self)
        post_migrate.connect(history_after_migrate, sender=self)
