from __future__ import annotations

import pytest

from annotation.services.schemas import schema_import_yaml
from tests.reports.factories import ReportFactory, StudyFactory

CT_HEAD = """\
name: ct-head
labels:
  - name: Hemorrhage
    phrases: [hemorrhage, hematoma, bleed]
  - name: Midline Shift
    phrases: [midline shift]
"""


@pytest.fixture
def ct_protocol(protocol):
    """`protocol` read with a small custom schema (compiles fast, labels named by the user)."""
    protocol.label_schema = schema_import_yaml(text_or_path=CT_HEAD)
    protocol.save(update_fields=["label_schema"])
    return protocol


@pytest.fixture
def make_report():
    def make(protocol, text: str):
        return ReportFactory(study=StudyFactory(protocol=protocol), text=text)

    return make
