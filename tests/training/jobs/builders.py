"""A small frozen cohort for training tests, written straight to the tables (no freeze service).

Two labels with learnable phrases, engine soft labels for every report (so the baseline has
something to say), and two readers' reads of every study (so the readers' operating points can be
drawn on the test split's ROC curve).
"""
from __future__ import annotations

import hashlib
import random

from annotation.models import Confirmation, ConfirmationLabel, Label, LabelValue, SoftLabel
from reports.models import Membership, Protocol, Report, Role, Study
from tests.annotation.factories import LabelSchemaFactory
from tests.reports.factories import MembershipFactory, PatientFactory, ProtocolFactory, UserFactory
from training.models import Cohort, CohortStudy

LABELS = ["Pleural Effusion", "Pneumothorax"]
_PHRASES = {
    "Pleural Effusion": ("small left pleural effusion", "no pleural effusion"),
    "Pneumothorax": ("right apical pneumothorax", "no pneumothorax"),
}
_FILLER = ["heart size normal", "lungs are clear otherwise", "stable lines and tubes", "degenerative spine"]


def _split(i: int) -> str:
    return "train" if i % 10 < 6 else ("validation" if i % 10 < 8 else "test")


def data_scientist(protocol: Protocol, username: str = "ds") -> object:
    user = UserFactory(username=username)
    MembershipFactory(user=user, protocol=protocol, role=Role.DATA_SCIENTIST)
    return user


def make_training_cohort(n: int = 60, *, seed: int = 0, protocol: Protocol | None = None, name: str = "train-test") -> Cohort:
    rng = random.Random(seed)
    schema = LabelSchemaFactory()
    protocol = protocol or ProtocolFactory(label_schema=schema)
    if protocol.label_schema_id is None:
        protocol.label_schema = schema
        protocol.save(update_fields=["label_schema"])
    labels = {
        name: Label.objects.get_or_create(schema=protocol.label_schema, name=name, defaults={"order": i})[0]
        for i, name in enumerate(LABELS)
    }
    readers = [UserFactory(username=f"reader-{protocol.pk}-{i}") for i in (1, 2)]
    for reader in readers:
        Membership.objects.get_or_create(user=reader, protocol=protocol, role=Role.RADIOLOGIST)
    cohort = Cohort.objects.create(
        protocol=protocol, name=name, version=1, labels=LABELS, params={"seed": seed},
        sha256=hashlib.sha256(f"{protocol.pk}-{name}-{seed}-{n}".encode()).hexdigest(),
        study_count=n, splits={split: sum(_split(i) == split for i in range(n)) for split in ("train", "validation", "test")},
        summary={},
    )
    rows, soft, confirmations = [], [], []
    for i in range(n):
        patient = PatientFactory(protocol=protocol)
        study = Study.objects.create(protocol=protocol, patient=patient, accession=f"T{protocol.pk}-{name}-{i:05d}", modality="CR")
        parts, targets = [rng.choice(_FILLER)], {}
        for label in LABELS:
            positive = rng.random() < 0.4
            parts.append(_PHRASES[label][0 if positive else 1])
            targets[label] = 1 if positive else 0
        rng.shuffle(parts)
        text = "FINDINGS: " + ". ".join(parts) + "."
        report = Report.objects.create(study=study, text=text, text_sha256=hashlib.sha256(text.encode()).hexdigest())
        for label in LABELS:
            # The engine is right most of the time, with a less certain p.
            right = rng.random() < 0.85
            positive = bool(targets[label]) == right
            soft.append(SoftLabel(report=report, label=labels[label], p=0.8 if positive else 0.2,
                                  value=LabelValue.POSITIVE if positive else LabelValue.NEGATIVE,
                                  engine_version="test", phrase_set_hash="0" * 64))
        split = _split(i)
        rows.append(CohortStudy(
            cohort=cohort, study=study, group=f"patient:{patient.pseudonym}", split=split,
            values={k: "positive" if v else "negative" for k, v in targets.items()}, targets=targets,
            sources=dict.fromkeys(LABELS, "confirmed"), p={k: float(v) for k, v in targets.items()},
            text_sha256=report.text_sha256,
        ))
        for version, reader in enumerate(readers, start=1):
            confirmations.append((Confirmation(study=study, reader=reader, study_version=version), targets, version))
    SoftLabel.objects.bulk_create(soft)
    CohortStudy.objects.bulk_create(rows)
    created = Confirmation.objects.bulk_create([c for c, _, _ in confirmations])
    reads = []
    for confirmation, (_, targets, version) in zip(created, confirmations, strict=True):
        for label in LABELS:
            value = "positive" if targets[label] else "negative"
            if version == 2 and rng.random() < 0.15:
                value = "negative" if value == "positive" else "positive"
            reads.append(ConfirmationLabel(confirmation=confirmation, label=labels[label], value=value))
    ConfirmationLabel.objects.bulk_create(reads)
    return cohort


def matrix_training_job(protocol: Protocol, canary: dict[str, str]) -> object:
    """A queued training job of `protocol` on a one-study cohort (nothing trained), for the scope matrix."""
    from reports.models import Job
    from tests.reports.factories import ReportFactory, StudyFactory
    from training.models import TrainingRun, TrainingTrial

    study = ReportFactory(study=StudyFactory(protocol=protocol, accession=canary["accession"] + "T"), text=canary["text"]).study
    cohort = Cohort.objects.create(
        protocol=protocol, name="matrix-training", version=1, labels=["Cardiomegaly"], params={}, sha256="1" * 64,
        study_count=1, splits={"train": 1, "validation": 0, "test": 0}, summary={},
    )
    CohortStudy.objects.create(
        cohort=cohort, study=study, group=f"study:{study.pk}", split="train", values={"Cardiomegaly": "positive"},
        targets={"Cardiomegaly": 1}, sources={"Cardiomegaly": "confirmed"}, p={"Cardiomegaly": 1.0},
        text_sha256=study.report.text_sha256,
    )
    job = Job.objects.create(kind="training", protocol=protocol, params={"cohort": cohort.pk}, total=1)
    run = TrainingRun.objects.create(job=job, cohort=cohort, model_name="ngram-bag", strategy="fixed", trial_budget=1,
                                     study_name=f"matrix-{job.pk}-{protocol.pk}", cohort_sha256=cohort.sha256)
    TrainingTrial.objects.create(run=run, slot=0)
    return job
