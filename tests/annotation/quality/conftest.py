"""A protocol with one label "Effusion" and reports whose matches, soft labels and confirmations
are written by hand, so every count below can be checked on paper."""
from __future__ import annotations

import pytest

from annotation.models import (
    Confirmation,
    ConfirmationKind,
    ConfirmationLabel,
    LabelValue,
)
from tests.annotation.factories import (
    LabelFactory,
    LabelSchemaFactory,
    PhraseFactory,
    SoftLabelFactory,
)
from tests.reports.factories import ReportFactory, StudyFactory, UserFactory

TEXT = "FINDINGS: There is a small pleural effusion. No pneumothorax. Possible effusion on the right."


def span(text: str, phrase: str, modifiers: list[str] | None = None, *, nth: int = 0) -> dict:
    start = -1
    for _ in range(nth + 1):
        start = text.index(phrase, start + 1)
    return {"start": start, "end": start + len(phrase), "text": phrase, "phrase": phrase.lower(),
            "modifiers": modifiers or [], "section": "findings"}


@pytest.fixture
def label(protocol):
    schema = LabelSchemaFactory()
    protocol.label_schema = schema
    protocol.save(update_fields=["label_schema"])
    label = LabelFactory(schema=schema, name="Effusion", order=0)
    PhraseFactory(label=label, text="pleural effusion", order=0)
    PhraseFactory(label=label, text="effusion", order=1)
    return label


@pytest.fixture
def make_report(protocol, label):
    """A report of TEXT with a soft label of `label` (value, p, evidence), or none when value is None."""

    def make(value: str | None = LabelValue.POSITIVE, p: float = 0.9, evidence: list[dict] | None = None, text: str = TEXT):
        report = ReportFactory(study=StudyFactory(protocol=protocol), text=text)
        if value is not None:
            ev = evidence if evidence is not None else [span(text, "pleural effusion")]
            SoftLabelFactory(report=report, label=label, value=value, p=p, evidence=ev)
        return report

    return make


@pytest.fixture
def confirm():
    """A current read (or adjudication) of the study with one label's value and the p seen."""
    counter = {"n": 0}

    def make(study, label, value: str, *, soft_p: float | None = 0.9, soft_value: str | None = "positive",
             kind: str = ConfirmationKind.READ, reader=None):
        counter["n"] += 1
        reader = reader or UserFactory(username=f"conf-reader-{counter['n']}")
        version = Confirmation.objects.filter(study=study).count() + 1
        confirmation = Confirmation.objects.create(study=study, reader=reader, study_version=version, kind=kind)
        ConfirmationLabel.objects.create(
            confirmation=confirmation, label=label, value=value, soft_value=soft_value, soft_p=soft_p
        )
        return confirmation

    return make
