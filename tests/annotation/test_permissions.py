"""annotation.permissions: one table of who may do what, and the 404 / 403 access helpers."""
from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from annotation.permissions import (
    ACTION_ROLES,
    Action,
    can,
    can_curate,
    can_export,
    can_read,
    can_relabel,
    get_protocol_for_action,
    get_study_for_action,
    role_may,
    roles_for,
)
from reports.models import Role

# The rule, spelled out once more on purpose: a change to it must change this test too.
EXPECTED = {
    Action.READ: {Role.RADIOLOGIST, Role.CURATOR},
    Action.ADJUDICATE: {Role.CURATOR},
    Action.RELABEL: {Role.CURATOR, Role.DATA_SCIENTIST},
    Action.CURATE: {Role.CURATOR},
    Action.EXPORT: {Role.DATA_SCIENTIST},
}


def test_every_action_has_its_roles():
    assert {action: set(roles) for action, roles in ACTION_ROLES.items()} == EXPECTED
    assert set(ACTION_ROLES) == set(Action)


def test_actions_are_named_by_plain_strings_too():
    assert roles_for("export") == roles_for(Action.EXPORT)
    assert role_may(Role.CURATOR, "curate")
    assert not role_may(None, Action.READ)
    with pytest.raises(ValueError, match="'delete' is not a valid Action"):
        roles_for("delete")


@pytest.mark.django_db
def test_predicates_follow_the_members_role(protocol, radiologist, curator, scientist):
    assert can_read(radiologist, protocol)
    assert not can_relabel(radiologist, protocol)
    assert can_curate(curator, protocol)
    assert not can_export(curator, protocol)
    assert can_export(scientist, protocol)
    assert not can_read(scientist, protocol)


@pytest.mark.django_db
def test_nobody_off_the_protocol_may_do_anything(protocol, outsider, expired_member, admin_user):
    for user in (outsider, expired_member, admin_user):
        assert not any(can(user, protocol, action) for action in Action), user.username


@pytest.mark.django_db
def test_get_protocol_for_action_returns_it_to_a_member_in_a_role_that_may(protocol, scientist):
    assert get_protocol_for_action(scientist, protocol.pk, Action.EXPORT) == protocol


@pytest.mark.django_db
def test_a_member_in_the_wrong_role_gets_403(protocol, radiologist):
    with pytest.raises(PermissionDenied):
        get_protocol_for_action(radiologist, protocol.pk, Action.EXPORT)


@pytest.mark.django_db
def test_pages_that_hide_the_object_from_wrong_roles_get_404(protocol, radiologist):
    with pytest.raises(Http404):
        get_protocol_for_action(radiologist, protocol.pk, Action.EXPORT, wrong_role=404)


@pytest.mark.django_db
def test_anyone_off_the_protocol_gets_404_never_403(protocol, outsider, expired_member, admin_user):
    for user in (outsider, expired_member, admin_user):
        with pytest.raises(Http404):
            get_protocol_for_action(user, protocol.pk, Action.READ)
    with pytest.raises(Http404):
        get_protocol_for_action(outsider, 999_999, Action.READ)


@pytest.mark.django_db
def test_get_study_for_action_scopes_by_the_studys_protocol(study, radiologist, scientist, outsider):
    assert get_study_for_action(radiologist, study.pk, Action.READ) == study
    with pytest.raises(PermissionDenied):
        get_study_for_action(scientist, study.pk, Action.READ)
    with pytest.raises(Http404):
        get_study_for_action(scientist, study.pk, Action.READ, wrong_role=404)
    with pytest.raises(Http404):
        get_study_for_action(outsider, study.pk, Action.READ)


def test_an_unknown_wrong_role_answer_is_a_programming_error():
    with pytest.raises(ValueError, match="403 or 404"):
        get_protocol_for_action(None, 1, Action.READ, wrong_role=401)
