"""python manage.py bench_import --count 100000: time import_reports on synthetic reports.

Run it against a scratch database: the benchmark protocol and its reports are kept (audit rows
point at them, and the audit log is append-only).
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import random
import resource
import secrets
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from reports.models import Protocol, ProtocolStatus
from reports.services.imports import report_import

CHUNK = 5000
_FINDINGS = [
    "The heart size is normal.", "Mild cardiomegaly.", "There is a small left pleural effusion.",
    "No pneumothorax.", "Patchy opacity in the right lower lobe, possibly pneumonia.",
    "No focal consolidation.", "Endotracheal tube terminates 4 cm above the carina.",
    "Mild pulmonary edema.", "Healed fracture of the left sixth rib.", "Lungs are clear.",
]


def _fallback_reports(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        "INDICATION: Cough and fever.\n\nFINDINGS: " + " ".join(rng.sample(_FINDINGS, 4))
        + "\n\nIMPRESSION: " + rng.choice(_FINDINGS)
        for _ in range(n)
    ]


def _texts(count: int) -> Iterator[str]:
    try:
        from annotation.engine.synthetic import generate_reports
    except ImportError:
        generate_reports = _fallback_reports
    for start in range(0, count, CHUNK):
        yield from generate_reports(min(CHUNK, count - start), seed=start)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


class Command(BaseCommand):
    help = "Generate COUNT synthetic reports into a temporary file; time importing, re-importing and updating them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=100_000)
        parser.add_argument("--format", choices=["csv", "jsonl"], default="csv")

    def handle(self, *args: Any, **options: Any) -> None:
        count, fmt = options["count"], options["format"]
        protocol = Protocol.objects.create(
            irb_number=f"BENCH-{secrets.token_hex(4)}", title="Import benchmark", principal_investigator="-",
            status=ProtocolStatus.DRAFT,
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"bench.{fmt}"
            self._write(path, fmt, count)
            size_mb = path.stat().st_size / 1e6
            self.stdout.write(f"{count:,} reports, {size_mb:.1f} MB {fmt}; protocol {protocol.irb_number}")
            rss_before = _peak_rss_mb()
            self._run("first import (all new)", protocol, path, fmt, rss_before)
            self._run("re-import (all unchanged)", protocol, path, fmt, rss_before)
            self._write(path, fmt, count, addendum="\n\nADDENDUM: Reviewed.")
            self._run("re-import (all texts changed)", protocol, path, fmt, rss_before)

    def _run(self, label: str, protocol: Protocol, path: Path, fmt: str, rss_before: float) -> None:
        started = time.perf_counter()
        result = report_import(protocol=protocol, path=path, fmt=fmt, actor=None, channel="command")
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"{label}: {seconds:.1f} s, {result.total / seconds:,.0f} reports/s "
            f"(created {result.created:,}, updated {result.updated:,}, unchanged {result.unchanged:,}); "
            f"peak RSS {_peak_rss_mb():.0f} MB (before importing {rss_before:.0f} MB)"
        )

    def _write(self, path: Path, fmt: str, count: int, addendum: str = "") -> None:
        rng = random.Random(0)
        today = timezone.localdate()
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            if fmt == "csv":
                writer.writerow(["accession", "patient", "modality", "body_part", "study_date", "text"])
            for i, text in enumerate(_texts(count)):
                row = {
                    "accession": f"BENCH{i:09d}", "patient": f"P{rng.randrange(count // 3 + 1):08d}",
                    "modality": "CR", "body_part": "CHEST",
                    "study_date": (today - dt.timedelta(days=rng.randrange(3650))).isoformat(), "text": text + addendum,
                }
                if fmt == "csv":
                    writer.writerow(row.values())
                else:
                    out.write(json.dumps(row) + "\n")
