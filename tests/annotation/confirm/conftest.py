"""A protocol with three labels and studies whose soft labels and queue order are known."""
from __future__ import annotations

import pytest

from annotation.models import LabelValue
from reports.models import Role
from tests.annotation.factories import LabelFactory, LabelSchemaFactory, SoftLabelFactory
from tests.reports.factories import (
    REPORT_TEXT,
    MembershipFactory,
    ReportFactory,
    StudyFactory,
    UserFactory,
)

LABEL_NAMES = ["Pneumothorax", "Pleural Effusion", "Cardiomegaly"]


def evidence(phrase: str, modifiers: list[str] | None = None) -> list[dict]:
    start = REPORT_TEXT.index(phrase)
    return [{"start": start, "end": start + len(phrase), "phrase": phrase.lower(), "modifiers": modifiers or [], "section": "findings"}]


@pytest.fixture
def labels(protocol):
    schema = LabelSchemaFactory()
    protocol.label_schema = schema
    protocol.save(update_fields=["label_schema"])
    return {name: LabelFactory(schema=schema, name=name, order=i) for i, name in enumerate(LABEL_NAMES)}


@pytest.fixture
def make_study(protocol, labels):
    """A study with a report and soft labels; `soft` maps label names to (value, p)."""

    def make(informativeness: float = 0.5, soft: dict[str, tuple[str, float]] | None = None, **study_fields):
        study = StudyFactory(protocol=protocol, informativeness=informativeness, **study_fields)
        report = ReportFactory(study=study)
        default = {"Pleural Effusion": (LabelValue.POSITIVE, 0.9), "Pneumothorax": (LabelValue.NEGATIVE, 0.1)}
        for name, (value, p) in (default if soft is None else soft).items():
            ev = evidence("pleural effusion") if name == "Pleural Effusion" else evidence("pneumothorax", ["NEGATED_EXISTENCE"])
            SoftLabelFactory(report=report, label=labels[name], value=value, p=p, evidence=ev if name != "Cardiomegaly" else [])
        return study

    return make


@pytest.fixture
def reader2(protocol):
    user = UserFactory(username="reader2")
    MembershipFactory(user=user, protocol=protocol, role=Role.RADIOLOGIST)
    return user


@pytest.fixture
def reader3(protocol):
    user = UserFactory(username="reader3")
    MembershipFactory(user=user, protocol=protocol, role=Role.RADIOLOGIST)
    return user
