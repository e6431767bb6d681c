from __future__ import annotations

import hashlib
import random

import pytest

from annotation.apps import RELABEL_JOB
from annotation.engine.synthetic import generate_distinct_reports, generate_reports
from annotation.models import SoftLabel
from annotation.services.relabel import relabel_protocol
from annotation.services.report_terms import report_terms_refresh
from annotation.services.schemas import schema_import_yaml
from reports.models import Job, Patient, Report, Study
from reports.services.jobs import job_start, job_succeed
from tests.e2e.conftest import (
    browser_type_launch_args,  # noqa: F401  (Debian's chromium for the browser test)
)

CHEST = """\
name: chest-curation
labels:
  - name: Effusion
    phrases: [pleural effusion, effusion]
  - name: Pneumothorax
    phrases: [pneumothorax]
  - name: Cardiomegaly
    phrases: [cardiomegaly, enlarged heart]
  - name: Atelectasis
    phrases: [atelectasis]
  - name: Pneumonia
    phrases: [pneumonia, consolidation]
  - name: Edema
    phrases: [pulmonary edema, edema]
"""

# Misspellings, odd casing and inflections, so the spelling corrector and NORMs are exercised.
EXTRA = [
    "FINDINGS: Small left pleural efusion. No pnuemothorax.",
    "FINDINGS: PLEURAL EFFUSIONS bilaterally. Atelectatic changes at the bases.",
    "FINDINGS: Cardiomegally. Mild oedema. Isn't there a pneumothorax? No.",
    "IMPRESSION: Consolidations in the right lower lobe, likely pneumonia. Possible collapse.",
    "FINDINGS: Enlarged cardiac silhouette. Airspace opacity, possibly atelectasis or consolidaton.",
    "FINDINGS: Nodule in the left lung. Rib fracture. Vascular congestion. Effusion-like density.",
]


def make_corpus(protocol, n: int, seed: int = 0) -> list[Report]:
    """`n` synthetic reports (half templated, half distinct) plus hand-written oddities, one study each."""
    texts = generate_reports(n // 2, seed=seed) + generate_distinct_reports(n - n // 2, seed=seed) + EXTRA
    random.Random(seed).shuffle(texts)
    patient = Patient.objects.create(protocol=protocol, pseudonym=f"PX{protocol.pk}")
    studies = Study.objects.bulk_create(
        [Study(protocol=protocol, patient=patient, accession=f"C{protocol.pk}-{i}", modality="CR") for i in range(len(texts))]
    )
    return Report.objects.bulk_create(
        [
            Report(study=s, text=t, text_sha256=hashlib.sha256(t.encode()).hexdigest(), sections=[])
            for s, t in zip(studies, texts, strict=True)
        ]
    )


def relabel_as_job(protocol, job: Job | None = None) -> dict:
    """Run the relabel as the task does, on `job` when given, recording the pass on a succeeded job."""
    job = job_start(job_id=(job or Job.objects.create(kind=RELABEL_JOB, protocol=protocol)).pk)
    counts = relabel_protocol(protocol=protocol, job=job)
    report_terms_refresh(protocol=protocol)
    job_succeed(job=job, result=counts)
    return counts


def snapshot(protocol) -> dict[tuple[int, str], tuple]:
    rows = SoftLabel.objects.filter(report__study__protocol=protocol).values_list(
        "report__study_id", "label__name", "value", "p", "evidence"
    )
    return {(study, label): (value, p, evidence) for study, label, value, p, evidence in rows}


@pytest.fixture
def chest_protocol(protocol):
    protocol.label_schema = schema_import_yaml(text_or_path=CHEST)
    protocol.save(update_fields=["label_schema"])
    return protocol


CT_HEAD = """\
name: ct-curation
labels:
  - name: Hemorrhage
    phrases: [hemorrhage, hematoma]
  - name: Midline Shift
    phrases: [midline shift]
"""


@pytest.fixture
def ct_protocol(protocol):
    """`protocol` read with a two-label head CT schema: compiles fast, easy to reason about by hand."""
    protocol.label_schema = schema_import_yaml(text_or_path=CT_HEAD)
    protocol.save(update_fields=["label_schema"])
    return protocol


@pytest.fixture
def make_reports():
    def make(protocol, *texts: str) -> list[Report]:
        from tests.reports.factories import ReportFactory, StudyFactory

        return [ReportFactory(study=StudyFactory(protocol=protocol), text=text) for text in texts]

    return make
