"""python manage.py bench_relabel --count N: time relabelling N synthetic reports.

A thin entry point; the benchmark is benchmarks/relabel.py (docs/RELABEL.md has figures).
"""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from annotation.services.relabel import BATCH_SIZE
from benchmarks.relabel import bench_relabel


class Command(BaseCommand):
    help = "Benchmark relabelling N synthetic reports (reports/s, full / no-op / forced)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=10_000)
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--keep", action="store_true", help="keep the benchmark protocol and its data"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        bench_relabel(
            count=options["count"],
            batch_size=options["batch_size"],
            seed=options["seed"],
            keep=options["keep"],
            write=self.stdout.write,
        )
