"""Benchmark: convert a cohort's images to NIfTI, convert again, export the manifest (prints figures).

Not collected by pytest. Run against a scratch database and storage folder (it adds a protocol of
N imaged studies):

    export DATABASE_URL=sqlite:////tmp/bench-images.sqlite3 RADLABEL_VAR_DIR=/tmp/bench-images-var
    .venv/bin/python manage.py migrate
    COHORT_BENCH_STUDIES=40 COHORT_BENCH_SHAPE=256,256,64 \\
        .venv/bin/python manage.py shell -c "from tests.training.cohorts.bench_cohort_images import main; main()"
"""
from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path

from reports.dicom.synthetic import write_series
from reports.models import Protocol, ProtocolStatus, Report, Study
from reports.services.dicom import dicom_import
from training.models import Cohort, CohortStudy
from training.selectors.cohorts import cohort_export_stream
from training.services.cohort_images import cohort_volumes, cohort_volumes_convert


def main() -> None:
    n = int(os.environ.get("COHORT_BENCH_STUDIES", "40"))
    shape = tuple(int(v) for v in os.environ.get("COHORT_BENCH_SHAPE", "256,256,64").split(","))
    protocol = Protocol.objects.create(
        irb_number=f"BENCH-IMG-{time.time()}", title="bench", principal_investigator="bench",
        status=ProtocolStatus.APPROVED, approved_on=dt.date.today(),  # noqa: DTZ011
    )
    studies = Study.objects.bulk_create(
        Study(protocol=protocol, patient=None, accession=f"BI{i}-{protocol.pk}", modality="CT") for i in range(n)
    )
    Report.objects.bulk_create(Report(study=s, text="Clear.", text_sha256="0" * 64) for s in studies)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        for study in studies:
            write_series(Path(folder) / study.accession, shape=shape, accession=study.accession)
        dicom_import(protocol=protocol, root=Path(folder), actor=None, channel="command")
    print(f"import of {n} series {shape}: {time.monotonic() - started:.1f} s")  # noqa: T201
    cohort = Cohort.objects.create(
        protocol=protocol, name="bench-images", version=1, labels=["Finding"], params={}, sha256="0" * 64,
        study_count=n, splits={"train": n}, summary={"labels": {}, "sources": {}},
    )
    CohortStudy.objects.bulk_create(
        CohortStudy(cohort=cohort, study=s, group=f"study:{s.pk}", split="train", values={"Finding": "positive"},
                    targets={"Finding": 1}, sources={"Finding": "confirmed"}, p={"Finding": 1.0}, text_sha256="0" * 64)
        for s in studies
    )
    for run in ("first", "again"):
        started = time.monotonic()
        summary = cohort_volumes_convert(cohort)
        took = time.monotonic() - started
        print(f"convert ({run}): {took:.2f} s, {n / took:.1f} studies/s, "  # noqa: T201
              f"converted {summary['converted']}, existing {summary['existing']}, skipped {len(summary['skipped'])}")
    size = sum(row.path.stat().st_size for row in cohort_volumes(cohort))
    print(f"NIfTI written: {size / 1e6:.1f} MB for {n} volumes")  # noqa: T201
    started = time.monotonic()
    body = b"".join(cohort_export_stream(cohort, "nifti-manifest"))
    print(f"manifest export: {time.monotonic() - started:.3f} s, {len(body)} bytes")  # noqa: T201
