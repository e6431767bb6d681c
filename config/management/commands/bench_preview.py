"""python manage.py bench_preview --count N: time a phrase-edit preview over N reports, and check it.

A thin entry point; the benchmark is benchmarks/phrase_preview.py (docs/CURATION.md has figures).
"""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from benchmarks.phrase_preview import DEFAULT_ADD, DEFAULT_DISABLE, DEFAULT_LABEL, bench_preview


class Command(BaseCommand):
    help = "Benchmark the exact phrase-edit preview over N synthetic reports, then verify it against the relabel."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=10_000)
        parser.add_argument("--label", default=DEFAULT_LABEL, help="a label of the built-in chexpert schema")
        parser.add_argument("--add", action="append", help="a phrase to add (repeatable)")
        parser.add_argument("--disable", action="append", help="a phrase to disable (repeatable)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--keep", action="store_true", help="keep the benchmark protocol and its data")

    def handle(self, *args: Any, **options: Any) -> None:
        same = bench_preview(
            count=options["count"],
            label_name=options["label"],
            add=tuple(options["add"] or (DEFAULT_ADD if options["disable"] is None else ())),
            disable=tuple(options["disable"] or (DEFAULT_DISABLE if options["add"] is None else ())),
            seed=options["seed"],
            keep=options["keep"],
            write=self.stdout.write,
        )
        if not same:
            raise CommandError("the preview did not predict the relabel exactly")
