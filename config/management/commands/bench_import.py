"""python manage.py bench_import --count 100000: time import_reports on synthetic reports.

A thin entry point; the benchmark is benchmarks/imports.py. Use a scratch database: the
benchmark protocol and its reports are kept (the append-only audit log points at them).
"""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from benchmarks.imports import bench_import


class Command(BaseCommand):
    help = (
        "Generate COUNT synthetic reports into a temporary file; "
        "time importing, re-importing and updating them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=100_000)
        parser.add_argument("--format", choices=["csv", "jsonl"], default="csv")

    def handle(self, *args: Any, **options: Any) -> None:
        bench_import(count=options["count"], fmt=options["format"], write=self.stdout.write)
