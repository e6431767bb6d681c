"""Cohorts made directly (not frozen from confirmations), for the scope matrix and big exports."""
from __future__ import annotations

import hashlib

from reports.models import Protocol
from tests.reports.factories import ReportFactory, StudyFactory
from training.models import Cohort, CohortStudy

MATRIX_LABELS = ("Cardiomegaly",)


def matrix_cohort(protocol: Protocol, canary: dict[str, str]) -> Cohort:
    """A frozen cohort of `protocol` with one study carrying the canary accession and text."""
    study = ReportFactory(
        study=StudyFactory(protocol=protocol, accession=canary["accession"] + "C"), text=canary["text"],
        text_sha256=hashlib.sha256(canary["text"].encode()).hexdigest(),
    ).study
    cohort = Cohort.objects.create(
        protocol=protocol, name="matrix", version=1, labels=list(MATRIX_LABELS), params={}, sha256="0" * 64,
        study_count=1, splits={"train": 1, "validation": 0, "test": 0},
        summary={"labels": {"Cardiomegaly": {"positive": {"train": 1}}}, "sources": {"Cardiomegaly": {"confirmed": 1}}},
    )
    CohortStudy.objects.create(
        cohort=cohort, study=study, group=f"study:{study.pk}", split="train", values={"Cardiomegaly": "positive"},
        targets={"Cardiomegaly": 1}, sources={"Cardiomegaly": "confirmed"}, p={"Cardiomegaly": 1.0},
        text_sha256=study.report.text_sha256,
    )
    return cohort
