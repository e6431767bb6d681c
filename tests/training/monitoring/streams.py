"""Build a protocol stream quickly: studies in date order with reports, soft labels and equipment."""
from __future__ import annotations

import datetime as dt
import hashlib
import random

from annotation.models import Label, SoftLabel
from reports.models import Protocol, Report, Study


def build_stream(
    protocol: Protocol, labels: list[Label], *, n: int, change_at: int, seed: int = 0, prefix: str = "S"
) -> list[tuple[str, dict[str, str]]]:
    """n studies, one a day; software VA10 then VB20 from `change_at`; random soft labels.
    Returns [(accession, {label name: value})] in study-date order."""
    rng = random.Random(seed)
    start = dt.date(2026, 1, 1)
    studies = Study.objects.bulk_create(
        Study(
            protocol=protocol, accession=f"{prefix}{i:05d}", study_date=start + dt.timedelta(days=i),
            manufacturer="Acme", scanner_model="X1", station="ST1",
            software_version="VA10" if i < change_at else "VB20",
        )
        for i in range(n)
    )
    text = "FINDINGS: synthetic."
    reports = Report.objects.bulk_create(
        Report(study=study, text=text, text_sha256=hashlib.sha256(text.encode()).hexdigest()) for study in studies
    )
    out, soft = [], []
    for study, report in zip(studies, reports, strict=True):
        values = {}
        for label in labels:
            value = rng.choices(["positive", "negative", "absent", "uncertain"], [0.3, 0.2, 0.45, 0.05])[0]
            values[label.name] = value
            if value != "absent":
                soft.append(SoftLabel(report=report, label=label, value=value, p=0.5, engine_version="t",
                                      phrase_set_hash="0" * 64))
        # Every report carries at least one soft label here, so each counts as read by the engine.
        if all(v == "absent" for v in values.values()):
            soft.append(SoftLabel(report=report, label=labels[0], value="negative", p=0.1, engine_version="t",
                                  phrase_set_hash="0" * 64))
            values[labels[0].name] = "negative"
        out.append((study.accession, values))
    SoftLabel.objects.bulk_create(soft)
    return out


def predictions_for(
    stream: list[tuple[str, dict[str, str]]], *, drop_label: str | None, change_at: int, seed: int = 1,
    noise: float = 0.03, drop_rate: float = 0.45,
) -> list[dict]:
    rng = random.Random(seed)
    items = []
    for i, (accession, values) in enumerate(stream):
        for name, value in values.items():
            rate = drop_rate if (name == drop_label and i >= change_at) else noise
            flip = rng.random() < rate
            positive = value == "positive"
            items.append({"accession": accession, "label": name, "p": 0.85 if positive != flip else 0.15})
    return items
