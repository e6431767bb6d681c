"""Relabel one protocol's reports: queue the job, or run it here with --sync."""
from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.services.relabel import relabel_start
from annotation.tasks import relabel_protocol_task
from reports.models import JobStatus, Protocol


class Command(BaseCommand):
    help = "Relabel a protocol's reports with its schema (only stale reports unless --force)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--protocol", required=True, help="IRB number of the protocol")
        parser.add_argument("--sync", action="store_true", help="run in this process instead of a worker")
        parser.add_argument("--force", action="store_true", help="relabel every report, not only stale ones")

    def handle(self, *args: Any, protocol: str, sync: bool, force: bool, **options: Any) -> None:
        found = Protocol.objects.filter(irb_number=protocol).first()
        if found is None:
            raise CommandError(f"No protocol with IRB number {protocol!r}.")
        # The job row is made either way, so the labels page and the skip of unchanged reports
        # see a command run exactly like a run from the page.
        job = relabel_start(protocol=found, actor=None, force=force, enqueue=(lambda job_id: None) if sync else None)
        if not sync:
            self.stdout.write(f"Relabel job {job.pk} is {job.status}.")
            return
        if job.status != JobStatus.QUEUED:
            raise CommandError(f"Relabel job {job.pk} of {protocol} is already {job.status}; not starting another.")
        relabel_protocol_task(job.pk)
        job.refresh_from_db()
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(f"Relabel job {job.pk} {job.status}: {job.message}")
        self.stdout.write(json.dumps({"job": job.pk, **job.result}, sort_keys=True))
