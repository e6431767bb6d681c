"""Time a quality-sample draw over N soft labels (default 100,000) on a throw-away SQLite file.

    DJANGO_SETTINGS_MODULE=config.settings.test DATABASE_URL=sqlite:////tmp/radlabel_quality_bench.sqlite3 \\
        .venv/bin/python -m tests.annotation.quality.bench_quality_draw 100000

Prints the seconds of the page's size estimate (indexed counts) and of drawing and storing the sample.
"""
from __future__ import annotations

import hashlib
import os
import random
import sys
import time


def main(n: int) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from annotation.models import Label, LabelSchema, SoftLabel
    from annotation.services.quality import quality_sample_draw, quality_sample_size
    from reports.models import Protocol, Report, Study
    from tests.reports.factories import ProtocolFactory, UserFactory

    protocol = Protocol.objects.filter(irb_number="BENCH-QUALITY").first()
    if protocol is None:
        schema = LabelSchema.objects.create(name="bench-quality")
        label = Label.objects.create(schema=schema, name="Effusion")
        protocol = ProtocolFactory(irb_number="BENCH-QUALITY", label_schema=schema)
        rng = random.Random(1)
        text = "FINDINGS: There is a small pleural effusion. No pneumothorax."
        digest = hashlib.sha256(text.encode()).hexdigest()
        phrases = ["pleural effusion", "effusion", "fluid", "hydrothorax", "blunting", "meniscus", "layering", "pleural fluid"]
        for chunk in range(0, n, 5000):
            studies = Study.objects.bulk_create(
                [Study(protocol=protocol, accession=f"B{i:07d}") for i in range(chunk, min(n, chunk + 5000))]
            )
            reports = Report.objects.bulk_create([Report(study=s, text=text, text_sha256=digest) for s in studies])
            soft = []
            for report in reports:
                roll = rng.random()
                if roll < 0.3:
                    continue  # absent
                value = "positive" if roll < 0.7 else "negative" if roll < 0.95 else "uncertain"
                phrase = rng.choice(phrases)
                soft.append(SoftLabel(report=report, label=label, value=value, p=round(rng.random(), 3), engine_version="b",
                                      phrase_set_hash="0" * 64,
                                      evidence=[{"start": 27, "end": 43, "phrase": phrase, "modifiers": [], "section": "findings"}]))
            SoftLabel.objects.bulk_create(soft)
    label = Label.objects.get(schema=protocol.label_schema, name="Effusion")
    actor = UserFactory(username="bench-curator")
    t0 = time.perf_counter()
    size, _, _ = quality_sample_size(protocol=protocol, label=label, target_width=0.1)
    t1 = time.perf_counter()
    sample = quality_sample_draw(protocol=protocol, label=label, actor=actor, target_width=0.1, seed=1)
    t2 = time.perf_counter()
    line = (
        f"reports={Report.objects.filter(study__protocol=protocol).count()} strata={len(sample.strata)} "
        f"size_estimate={size} items={sample.items.count()} size_s={t1 - t0:.2f} draw_s={t2 - t1:.2f}"
    )
    print(line)  # noqa: T201 (a command-line benchmark)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
