"""python manage.py bench_monitoring: detection delay and false alarms of the monitoring detector.

A thin entry point; the benchmark is benchmarks/monitoring.py (pure, no database).
"""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from benchmarks.monitoring import bench_monitoring


class Command(BaseCommand):
    help = "Print detection delay and false alarms per 10,000 stable studies for the shipped settings."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--runs", type=int, default=100, help="Drifting streams per scenario.")
        parser.add_argument("--stable", type=int, default=200_000, help="Stable studies per scenario.")
        parser.add_argument("--arl0", type=float, default=None, help="Override the in-control ARL.")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args: Any, **options: Any) -> None:
        bench_monitoring(
            runs=options["runs"], stable=options["stable"], arl0=options["arl0"], seed=options["seed"],
            write=self.stdout.write,
        )
