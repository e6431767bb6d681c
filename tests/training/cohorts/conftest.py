"""A small two-reader protocol with three labels, and helpers that read studies for real."""
from __future__ import annotations

import hashlib

import pytest

from annotation.models import ConfirmationKind
from annotation.services.confirm import confirmation_submit
from reports.models import Patient, Protocol, Report, Study
from tests.annotation.factories import LabelFactory, LabelSchemaFactory, SoftLabelFactory
from tests.reports.factories import ReportFactory, StudyFactory

LABELS = ("Cardiomegaly", "Edema", "Pleural Effusion")


@pytest.fixture
def labels(protocol):
    schema = LabelSchemaFactory(name="cohort-test")
    made = [LabelFactory(schema=schema, name=name, order=index) for index, name in enumerate(LABELS)]
    Protocol.objects.filter(pk=protocol.pk).update(label_schema=schema, readers_per_study=2)
    protocol.refresh_from_db()
    return made


def make_study(protocol: Protocol, *, patient: str | None = "", text: str = "", **fields) -> Study:
    """A study with a report; `patient` "" makes a new patient, None leaves it without one."""
    if patient is None:
        study = StudyFactory(protocol=protocol, patient=None, **fields)
    elif patient == "":
        study = StudyFactory(protocol=protocol, **fields)
    else:
        owner, _ = Patient.objects.get_or_create(protocol=protocol, pseudonym=patient)
        study = StudyFactory(protocol=protocol, patient=owner, **fields)
    text = text or f"Report of study {study.accession}."
    ReportFactory(study=study, text=text, text_sha256=hashlib.sha256(text.encode()).hexdigest())
    return study


def read(study: Study, reader, values: dict[str, str], *, kind: str = ConfirmationKind.READ):
    """Confirm through the real service, on the study's current version."""
    study.refresh_from_db()
    study = Study.objects.select_related("protocol").get(pk=study.pk)
    return confirmation_submit(study=study, reader=reader, values=values, version=study.version, kind=kind, channel="command")


def soft(study: Study, label, value: str, p: float):
    return SoftLabelFactory(report=Report.objects.get(study=study), label=label, value=value, p=p)


def agree(study: Study, first, second, values: dict[str, str]) -> None:
    read(study, first, values)
    read(study, second, values)


@pytest.fixture
def confirmed(protocol, labels, radiologist, curator):
    """Twelve studies of eight patients (two without a patient), all agreed by both readers."""
    studies = []
    for index in range(12):
        patient = None if index in (3, 7) else f"PT{index % 5}"
        study = make_study(protocol, patient=patient)
        values = {
            "Cardiomegaly": "positive" if index % 3 == 0 else "negative",
            "Edema": "uncertain" if index % 4 == 0 else "absent",
            "Pleural Effusion": "positive" if index % 2 else "negative",
        }
        agree(study, radiologist, curator, values)
        studies.append(study)
    return studies
