"""python manage.py bench_load --duration 60: 50 radiologists confirming while 5 exports run.

A thin entry point; the benchmark, and what it leaves behind, is benchmarks/load.py.
The hour-long soak (SECURITY.md row 16):
DB_CONN_MAX_AGE=60 DATABASE_URL=postgres://... python manage.py bench_load --duration 3600 --studies 300000
"""
from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from benchmarks.load import LoadBenchError, bench_load


class Command(BaseCommand):
    help = (
        "Serve the app with gunicorn on PostgreSQL and load it over HTTP: radiologists confirming, "
        "cohort exports downloading. Prints errors, p50/p95/p99 per operation, throughput and server RSS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--duration", type=float, default=60.0, help="Seconds of load (default 60).")
        parser.add_argument("--users", type=int, default=50, help="Concurrent radiologists (default 50).")
        parser.add_argument("--exports", type=int, default=5, help="Concurrent export downloads (default 5).")
        parser.add_argument(
            "--studies", type=int, default=20_000,
            help="Studies of the new protocol; each is confirmed once, so seed more than the run confirms.",
        )
        parser.add_argument(
            "--workers", type=int, default=2 * (os.cpu_count() or 1) + 1,
            help="gunicorn worker processes (default 2 x CPUs + 1, gunicorn's advice).",
        )
        parser.add_argument("--threads", type=int, default=4, help="Threads per gunicorn worker (default 4).")
        parser.add_argument("--think", type=float, default=0.0, help="Seconds a radiologist reads before confirming.")
        parser.add_argument(
            "--warmup", type=float, default=5.0, help="Seconds of load before the figures start (default 5)."
        )
        parser.add_argument("--protocol", help="Reuse this protocol (IRB number) instead of seeding a new one.")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--keep", action="store_true", help="Keep the seeded protocol for a later --protocol run.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            bench_load(
                studies=options["studies"], users=options["users"], exports=options["exports"],
                duration=options["duration"], workers=options["workers"], threads=options["threads"],
                protocol_irb=options["protocol"], think_s=options["think"],
                warmup_s=options["warmup"], seed=options["seed"],
                keep=options["keep"], write=self.stdout.write,
            )
        except LoadBenchError as problem:
            raise CommandError(str(problem)) from None
