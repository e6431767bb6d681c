"""python manage.py bench_training: training throughput and time from launch to the first result.

A thin entry point; the benchmark is benchmarks/training.py. It freezes (or reuses) a
"bench-training" cohort of the demo protocol and keeps the job it runs.
"""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from benchmarks.training import bench_training


class Command(BaseCommand):
    help = "Train on the demo cohort; print reports/s per epoch and the time from launch to the first result."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--protocol", type=int, help="Protocol id (default: the first, the demo's).")
        parser.add_argument("--cohort", type=int, help="Cohort id (default: freeze or reuse 'bench-training').")
        parser.add_argument("--strategy", choices=["fixed", "random", "tpe", "gp"], default="random")
        parser.add_argument("--trials", type=int, default=3)
        parser.add_argument("--epochs", type=int, default=5)

    def handle(self, *args: Any, **options: Any) -> None:
        bench_training(protocol_id=options["protocol"], cohort_id=options["cohort"], strategy=options["strategy"],
                       trials=options["trials"], epochs=options["epochs"], write=self.stdout.write)
