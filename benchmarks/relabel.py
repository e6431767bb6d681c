"""The relabel benchmark: N synthetic reports relabelled full, incrementally and forced.

Runs against the configured database in a throwaway protocol (deleted afterwards unless
`keep`). The forced run is the cost after a phrase edit: every report is stale by hash and
every soft label is rewritten in place. Timings are taken here, around relabel_protocol: the
job's own result holds counts only.
"""
from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from annotation.apps import RELABEL_JOB
from annotation.engine.synthetic import generate_reports
from annotation.models import SoftLabel
from annotation.services.relabel import BATCH_SIZE, relabel_protocol
from annotation.services.schemas import labeler_for_schema, schema_for_protocol, schema_to_engine
from reports.models import Job, Protocol, ProtocolStatus, Report, Study
from reports.services.jobs import job_start, job_succeed

_INSERT_CHUNK = 5000
RUNS = (
    ("full (new reports)", False),
    ("incremental, nothing changed", False),
    ("forced (= after a phrase edit)", True),
)


def bench_relabel(
    *,
    count: int,
    write: Callable[[str], None],
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
    keep: bool = False,
) -> None:
    protocol = _make_protocol(count, seed, write)
    try:
        # Compile outside the timings: a worker keeps compiled labelers (labeler_for_schema).
        started = time.monotonic()
        labeler_for_schema(schema_to_engine(schema_for_protocol(protocol)))
        write(f"labeler compiled in {time.monotonic() - started:.2f} s")
        for name, force in RUNS:
            cpu = time.process_time()
            started = time.monotonic()
            counts = _run(protocol, batch_size=batch_size, force=force)
            seconds = time.monotonic() - started
            # This process only: the database server's CPU is not in it.
            cpu = time.process_time() - cpu
            rate = counts["reports"] / seconds if seconds else float("inf")
            write(
                f"{name:32s} {counts['reports']:>8d} reports read, "
                f"{counts['skipped']:>8d} skipped, {seconds:8.2f} s, {rate:10.0f} reports/s, "
                f"{cpu:7.2f} s CPU here"
            )
        stored = SoftLabel.objects.filter(report__study__protocol=protocol).count()
        write(f"soft labels stored: {stored}")
    finally:
        if not keep:
            _drop(protocol)


def _run(protocol: Protocol, *, batch_size: int, force: bool) -> dict[str, Any]:
    job = job_start(job_id=Job.objects.create(kind=RELABEL_JOB, protocol=protocol).pk)
    counts = relabel_protocol(protocol=protocol, job=job, batch_size=batch_size, force=force)
    job_succeed(job=job, result=counts)
    return counts


def _make_protocol(count: int, seed: int, write: Callable[[str], None]) -> Protocol:
    started = time.monotonic()
    texts = generate_reports(count, seed=seed)
    now = timezone.now()
    with transaction.atomic():
        protocol = Protocol.objects.create(
            irb_number=f"BENCH-{uuid.uuid4().hex[:12]}",
            title="relabel benchmark",
            principal_investigator="bench",
            status=ProtocolStatus.APPROVED,
            approved_on=timezone.localdate(),
        )
        for offset in range(0, count, _INSERT_CHUNK):
            chunk = texts[offset : offset + _INSERT_CHUNK]
            studies = Study.objects.bulk_create(
                Study(protocol=protocol, accession=f"B{offset + i:09d}", modality="CR")
                for i in range(len(chunk))
            )
            Report.objects.bulk_create(
                Report(
                    study=study,
                    text=text,
                    text_sha256=hashlib.sha256(text.encode()).hexdigest(),
                    sections=[],
                    signed_at=now,
                )
                for study, text in zip(studies, chunk, strict=True)
            )
    elapsed = time.monotonic() - started
    write(f"{count} synthetic reports created in {elapsed:.1f} s (not timed below)")
    return protocol


def _drop(protocol: Protocol) -> None:
    # Bottom-up raw deletes: the cascade collector would load 100k rows one model at a time.
    SoftLabel.objects.filter(report__study__protocol=protocol).delete()
    Report.objects.filter(study__protocol=protocol).delete()
    Study.objects.filter(protocol=protocol).delete()
    Job.objects.filter(protocol=protocol).delete()
    protocol.delete()
