"""Audit actions: a registry apps fill in ready(); the one write path refuses unknown actions."""
from __future__ import annotations

import pytest

from annotation.audit import ANNOTATION_AUDIT_ACTIONS
from reports import audit_actions
from reports.audit_actions import audit_action, audit_action_label, register_audit_action
from reports.models import AccessEvent, AuditAction
from reports.services.audit import audit_record, audit_report_read


@pytest.fixture
def own_registry(monkeypatch):
    monkeypatch.setattr(audit_actions, "_ACTIONS", dict(audit_actions._ACTIONS))


def test_reports_and_annotation_actions_are_registered_at_start_up():
    for action in AuditAction:
        assert audit_action(action.value).label == action.label
    for action, label in ANNOTATION_AUDIT_ACTIONS.items():
        assert audit_action_label(action) == label


def test_an_action_keeps_one_label(own_registry):
    register_audit_action("model.download", label="Downloaded a model")
    register_audit_action("model.download", label="Downloaded a model")

    with pytest.raises(ValueError, match="already registered"):
        register_audit_action("model.download", label="Something else")


def test_an_action_longer_than_the_column_is_refused(own_registry):
    with pytest.raises(ValueError, match="1 to 32"):
        register_audit_action("x" * 33, label="Too long")


def test_a_row_of_a_retired_action_still_shows_what_was_stored():
    assert audit_action_label("retired.action") == "retired.action"


@pytest.mark.django_db
def test_an_unregistered_action_is_refused_and_nothing_is_written(radiologist):
    with pytest.raises(ValueError, match="Unknown audit action 'cohort.exprot'"):
        audit_record(actor=radiologist, action="cohort.exprot")

    assert not AccessEvent.objects.exists()


@pytest.mark.django_db
def test_an_app_registers_an_action_without_editing_reports(own_registry, radiologist, protocol):
    register_audit_action("cohort.export", label="Exported a cohort")

    event = audit_record(actor=radiologist, action="cohort.export", protocol=protocol)

    assert event.action_label == "Exported a cohort"


@pytest.mark.django_db
def test_audit_report_read_records_one_report_read_row_for_the_reports_protocol(radiologist, study):
    event = audit_report_read(actor=radiologist, report=study.report, detail={"study": study.pk})

    assert (event.action, event.object_type, event.object_id) == (
        AuditAction.REPORT_READ, "report", str(study.report.pk)
    )
    assert event.protocol_id == study.protocol_id
    assert event.detail == {"study": study.pk}


@pytest.mark.django_db
def test_a_batch_read_by_a_task_is_one_row_for_the_protocol(protocol):
    event = audit_report_read(
        actor=None, report=None, protocol=protocol, channel="task", detail={"reports": 40}
    )

    assert (event.action, event.object_type, event.protocol_id) == (
        AuditAction.REPORT_READ, "", protocol.pk
    )
    with pytest.raises(ValueError, match="needs the report"):
        audit_report_read(actor=None, report=None)
