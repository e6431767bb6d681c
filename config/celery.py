"""The Celery app. Workers load it with `celery -A config worker`."""
from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("radlabel")
# Every CELERY_* Django setting configures Celery, so production only changes the environment.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
