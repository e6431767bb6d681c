"""Seed the demo: five users, one approved protocol and a few hundred synthetic chest X-ray reports.

A thin entry point: the steps, and why a rerun changes nothing, are in config/demo/seed.py.
"""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.demo.seed import DEMO_IRB, DEMO_USERNAMES, STEPS, DemoRun
from reports.models import Study


class Command(BaseCommand):
    help = "Create the demo users, protocol and synthetic reports (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reports", type=int, default=300, help="How many synthetic reports (default 300)."
        )
        parser.add_argument(
            "--seed", type=int, default=0, help="Seed of the report generator (default 0)."
        )
        parser.add_argument("--no-labels", action="store_true", help="Skip computing soft labels.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["reports"] < 0:
            raise CommandError("--reports must be 0 or more.")
        run = DemoRun(
            reports=options["reports"],
            seed=options["seed"],
            labels=not options["no_labels"],
            say=self.stdout.write,
        )
        for step in STEPS:
            step(run)
        studies = Study.objects.filter(protocol=run.demo_protocol).count()
        self.stdout.write(
            f"Demo protocol {DEMO_IRB}: {studies} studies ({run.imported} imported now). "
            f"Users: {', '.join(DEMO_USERNAMES)}; password from {run.password_source}."
        )
