"""Benchmark: freeze and export a large cohort (not collected by pytest; prints its figures).

Run against a scratch database, never the demo's or production's (it adds a protocol of N studies):

    DATABASE_URL=sqlite:////tmp/bench.sqlite3 .venv/bin/python manage.py migrate
    DATABASE_URL=sqlite:////tmp/bench.sqlite3 COHORT_BENCH_STUDIES=20000 \\
        .venv/bin/python manage.py shell -c "from tests.training.cohorts.bench_cohort_freeze import main; main()"
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
import tracemalloc

from django.contrib.auth import get_user_model
from django.db import transaction

from annotation.models import Confirmation, ConfirmationLabel, Label, LabelSchema
from reports.models import Patient, Protocol, ProtocolStatus, Report, Study
from training.selectors.cohorts import cohort_export_stream
from training.services.cohorts import cohort_freeze, cohort_spec_build


def main() -> None:
    n = int(os.environ.get("COHORT_BENCH_STUDIES", "20000"))
    first, _ = get_user_model().objects.get_or_create(username="bench-r1")
    second, _ = get_user_model().objects.get_or_create(username="bench-r2")
    schema = LabelSchema.objects.filter(name="chexpert").first()
    protocol = Protocol.objects.create(
        irb_number=f"BENCH-{time.time()}", title="bench", principal_investigator="bench", status=ProtocolStatus.APPROVED,
        approved_on=dt.date.today(), readers_per_study=2, label_schema=schema,  # noqa: DTZ011
    )
    labels = list(Label.objects.filter(schema=protocol.label_schema or schema).order_by("order"))
    started = time.monotonic()
    with transaction.atomic():
        patients = Patient.objects.bulk_create(Patient(protocol=protocol, pseudonym=f"BP{i}") for i in range(n // 2))
        studies = Study.objects.bulk_create(
            Study(protocol=protocol, patient=patients[i % len(patients)], accession=f"B{i}", modality="CR") for i in range(n)
        )
        text = "FINDINGS: Heart size normal. Small left effusion. " * 8
        digest = hashlib.sha256(text.encode()).hexdigest()
        Report.objects.bulk_create((Report(study=s, text=text, text_sha256=digest) for s in studies), batch_size=2000)
        reads = Confirmation.objects.bulk_create(
            [Confirmation(study=s, reader=r, study_version=v) for s in studies for v, r in ((1, first), (2, second))],
            batch_size=2000,
        )
        ConfirmationLabel.objects.bulk_create(
            (ConfirmationLabel(confirmation=c, label=label, value=("positive", "negative", "absent")[(c.study_id + label.pk) % 3])
             for c in reads for label in labels),
            batch_size=5000,
        )
    print(f"setup {time.monotonic() - started:.1f} s: {n} studies x {len(labels)} labels x 2 reads")  # noqa: T201
    spec = cohort_spec_build(protocol=protocol, data={"name": "bench", "seed": 1})
    started = time.monotonic()
    cohort = cohort_freeze(spec=spec, actor=first)
    print(f"freeze: {time.monotonic() - started:.1f} s, {cohort.study_count} rows, {cohort.splits}")  # noqa: T201
    for fmt in ("jsonl", "csv"):
        started = time.monotonic()
        size = sum(len(piece) for piece in cohort_export_stream(cohort, fmt))
        seconds = time.monotonic() - started
        tracemalloc.start()
        for _ in cohort_export_stream(cohort, fmt):
            pass
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"export {fmt}: {size / 1e6:.1f} MB in {seconds:.1f} s ({n / seconds:.0f} rows/s); peak {peak / 1e6:.2f} MB")  # noqa: T201
