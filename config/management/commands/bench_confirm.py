"""python manage.py bench_confirm --studies 100000 --iterations 300: time confirm-and-next.

A thin entry point; the benchmark, and what it leaves behind, is benchmarks/confirm.py.
"""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from benchmarks.confirm import bench_confirm


class Command(BaseCommand):
    help = "Time confirm-and-next (median, p95) on a temporary protocol of N synthetic studies."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--studies", type=int, default=100_000)
        parser.add_argument("--iterations", type=int, default=300)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--keep", action="store_true", help="Keep the synthetic data for inspection."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        bench_confirm(
            studies=options["studies"],
            iterations=options["iterations"],
            seed=options["seed"],
            keep=options["keep"],
            write=self.stdout.write,
        )
