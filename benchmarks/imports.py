"""The import benchmark: time report_import on synthetic reports (docs/IMPORT.md).

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
from collections.abc import Callable, Iterator
from pathlib import Path

from django.utils import timezone

from annotation.engine.synthetic import generate_reports
from reports.models import Protocol, ProtocolStatus
from reports.services.imports import report_import

CHUNK = 5000


def bench_import(*, count: int, fmt: str, write: Callable[[str], None]) -> None:
    """Import `count` synthetic reports, re-import them unchanged, then with every text changed."""
    protocol = Protocol.objects.create(
        irb_number=f"BENCH-{secrets.token_hex(4)}",
        title="Import benchmark",
        principal_investigator="-",
        status=ProtocolStatus.DRAFT,
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"bench.{fmt}"
        write_file(path, fmt, count)
        size_mb = path.stat().st_size / 1e6
        write(f"{count:,} reports, {size_mb:.1f} MB {fmt}; protocol {protocol.irb_number}")
        rss_before = _peak_rss_mb()
        _timed("first import (all new)", protocol, path, fmt, rss_before, write)
        _timed("re-import (all unchanged)", protocol, path, fmt, rss_before, write)
        write_file(path, fmt, count, addendum="\n\nADDENDUM: Reviewed.")
        _timed("re-import (all texts changed)", protocol, path, fmt, rss_before, write)


def write_file(path: Path, fmt: str, count: int, addendum: str = "") -> None:
    """An import file (csv or jsonl) of `count` synthetic chest X-ray reports."""
    rng = random.Random(0)
    today = timezone.localdate()
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        if fmt == "csv":
            writer.writerow(["accession", "patient", "modality", "body_part", "study_date", "text"])
        for i, text in enumerate(_texts(count)):
            row = {
                "accession": f"BENCH{i:09d}",
                "patient": f"P{rng.randrange(count // 3 + 1):08d}",
                "modality": "CR",
                "body_part": "CHEST",
                "study_date": (today - dt.timedelta(days=rng.randrange(3650))).isoformat(),
                "text": text + addendum,
            }
            if fmt == "csv":
                writer.writerow(row.values())
            else:
                out.write(json.dumps(row) + "\n")


def _texts(count: int) -> Iterator[str]:
    for start in range(0, count, CHUNK):
        yield from generate_reports(min(CHUNK, count - start), seed=start)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _timed(
    label: str,
    protocol: Protocol,
    path: Path,
    fmt: str,
    rss_before: float,
    write: Callable[[str], None],
) -> None:
    started = time.perf_counter()
    result = report_import(protocol=protocol, path=path, fmt=fmt, actor=None, channel="command")
    seconds = time.perf_counter() - started
    write(
        f"{label}: {seconds:.1f} s, {result.total / seconds:,.0f} reports/s "
        f"(created {result.created:,}, updated {result.updated:,}, "
        f"unchanged {result.unchanged:,}); "
        f"peak RSS {_peak_rss_mb():.0f} MB (before importing {rss_before:.0f} MB)"
    )
