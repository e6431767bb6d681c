"""python manage.py bench_softlabel: the soft-label engine's speed against the medspaCy reference.

A thin entry point: what it measures and prints is described in benchmarks/softlabel.py.
"""
from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from annotation.engine.batch import default_processes
from benchmarks.softlabel import bench_softlabel, cpu_seconds


class Command(BaseCommand):
    help = "Benchmark the soft-label engine (synthetic reports or --input FILE) against a medspaCy reference."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--count", type=int, default=20_000)
        parser.add_argument("--processes", type=int, default=default_processes())
        parser.add_argument(
            "--distinct", action="store_true", help="synthetic reports in which most sentences occur once"
        )
        parser.add_argument(
            "--end-to-end", action="store_true", help="also time the whole softlabel command in a child process"
        )
        parser.add_argument("--reference-sample", type=int, default=500)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--input", metavar="FILE", help="JSONL of {\"id\", \"text\"} to label instead of synthetic reports"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        startup_cpu = cpu_seconds()  # interpreter + Django + imports (spaCy), before any work
        bench_softlabel(options=options, write=self.stdout.write, startup_cpu=startup_cpu)
