"""The audit log shows each row's detail as labelled fields, and filters by registered actions."""
from __future__ import annotations

import pytest

from reports import audit_actions
from reports.audit_actions import register_audit_action
from reports.models import AuditAction
from reports.services.audit import audit_record
from reports.templatetags.audit_tags import audit_detail_fields

pytestmark = pytest.mark.django_db


def test_detail_fields_are_labelled_and_readable():
    fields = audit_detail_fields(
        {"study_id": 7, "revision": 2, "rows": [3, 4], "forced": True, "cut": {"min_p": 0.5}}
    )

    assert fields == [
        ("Study", "7"),
        ("Revision", "2"),
        ("Rows", "3, 4"),
        ("Forced", "yes"),
        ("Cut", "Min p: 0.5"),
    ]
    assert audit_detail_fields({}) == []


def test_the_page_shows_fields_not_a_dictionary(client_for, admin_user, radiologist, study):
    audit_record(
        actor=radiologist,
        action=AuditAction.REPORT_READ,
        obj=study.report,
        protocol=study.protocol,
        detail={"study_id": study.pk, "view": "read"},
    )

    html = client_for(admin_user).get("/audit/").content.decode()

    assert "<dt>Study</dt><dd>" in html
    assert "<dt>View</dt><dd>read</dd>" in html
    assert "{&#x27;study_id&#x27;" not in html
    assert "Read report text" in html


def test_the_action_filter_offers_actions_other_apps_registered(monkeypatch, client_for, admin_user):
    monkeypatch.setattr(audit_actions, "_ACTIONS", dict(audit_actions._ACTIONS))
    register_audit_action("model.download", label="Downloaded a model")

    html = client_for(admin_user).get("/audit/").content.decode()

    assert '<option value="model.download">Downloaded a model</option>' in html
    assert '<option value="phrase.change">Changed phrases</option>' in html
