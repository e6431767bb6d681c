"""python manage.py reap_jobs: re-queue or fail jobs whose worker stopped (also a Celery task)."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from reports.tasks import reap_jobs


class Command(BaseCommand):
    help = "Re-queue running jobs whose heartbeat stopped, or fail them after too many attempts."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = reap_jobs()
        self.stdout.write(f"{counts['requeued']} re-queued, {counts['failed']} failed.")
