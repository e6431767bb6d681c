"""Who may do what on a protocol's annotation work: the one home for annotation's roles.

Roles belong to memberships (reports.Role); what each role may do here is annotation's rule, so
it lives here, beside reports.permissions (which scopes objects to protocols and answers 404).
Views, API views and other apps (training's curation and export) import these names rather than
spelling role tuples of their own.

Answers: someone who is not on the protocol today gets 404 (the object does not exist for them);
a member whose role does not allow the action gets 403 by default. The reading and adjudication
pages shipped before this module answer 404 for a wrong role too (their scope-matrix entries say
so), and pass `wrong_role=404` to keep that promise.
"""
from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied

from reports.models import Protocol, Role, Study
from reports.permissions import get_protocol_for_user, get_study_for_user

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser


class Action(StrEnum):
    READ = "read"
    ADJUDICATE = "adjudicate"
    RELABEL = "relabel"
    CURATE = "curate"
    EXPORT = "export"


# Who reads studies: radiologists, and curators (lead radiologists) who may read too.
READ_ROLES: tuple[str, ...] = (Role.RADIOLOGIST, Role.CURATOR)
# Who settles readers' disagreements: the lead radiologist.
ADJUDICATE_ROLES: tuple[str, ...] = (Role.CURATOR,)
# Relabelling changes what every reader's queue shows first: a data-management act, not a reading one.
RELABEL_ROLES: tuple[str, ...] = (Role.CURATOR, Role.DATA_SCIENTIST)
# Editing, reordering and disabling phrases, spot-checking matches (DESIGN.md: the curator).
CURATE_ROLES: tuple[str, ...] = (Role.CURATOR,)
# Taking labels out of the application: cohorts and their exports (DESIGN.md: the data scientist).
EXPORT_ROLES: tuple[str, ...] = (Role.DATA_SCIENTIST,)

# Readers are blind to each other; these roles see every read of a study (not a reader's own only).
SEE_ALL_READS_ROLES: tuple[str, ...] = (Role.CURATOR, Role.DATA_SCIENTIST)

ACTION_ROLES: dict[Action, tuple[str, ...]] = {
    Action.READ: READ_ROLES,
    Action.ADJUDICATE: ADJUDICATE_ROLES,
    Action.RELABEL: RELABEL_ROLES,
    Action.CURATE: CURATE_ROLES,
    Action.EXPORT: EXPORT_ROLES,
}


def roles_for(action: Action | str) -> tuple[str, ...]:
    """The member roles that may take `action` (ValueError for an unknown action)."""
    return ACTION_ROLES[Action(action)]


def role_may(role: str | None, action: Action | str) -> bool:
    """Whether a membership role allows `action`; for pages that already know the role."""
    return role is not None and role in roles_for(action)


def can(user: AnyUser, protocol: Protocol, action: Action | str) -> bool:
    """Whether `user` may take `action` on `protocol` today (one query)."""
    return Protocol.objects.visible_to(user, roles_for(action)).filter(pk=protocol.pk).exists()


def can_read(user: AnyUser, protocol: Protocol) -> bool:
    return can(user, protocol, Action.READ)


def can_adjudicate(user: AnyUser, protocol: Protocol) -> bool:
    return can(user, protocol, Action.ADJUDICATE)


def can_relabel(user: AnyUser, protocol: Protocol) -> bool:
    return can(user, protocol, Action.RELABEL)


def can_curate(user: AnyUser, protocol: Protocol) -> bool:
    return can(user, protocol, Action.CURATE)


def can_export(user: AnyUser, protocol: Protocol) -> bool:
    return can(user, protocol, Action.EXPORT)


def get_protocol_for_action(
    user: AnyUser, protocol_id: int, action: Action | str, *, wrong_role: int = 403
) -> Protocol:
    """The protocol if `user` may take `action` on it today.

    Not on the protocol today: 404. On it in a role that may not: PermissionDenied (403), or 404
    when `wrong_role=404` (pages whose promise is to hide even that the object exists).
    """
    roles = roles_for(action)
    if wrong_role == 404:
        return get_protocol_for_user(user, protocol_id, roles)
    _check_wrong_role(wrong_role)
    protocol = get_protocol_for_user(user, protocol_id)
    if not can(user, protocol, action):
        raise PermissionDenied("Your role on this protocol does not allow this.")
    return protocol


def get_study_for_action(
    user: AnyUser,
    study_id: int,
    action: Action | str,
    *,
    wrong_role: int = 403,
    related: tuple[str, ...] = ("protocol",),
) -> Study:
    """The study if `user` may take `action` on its protocol today; 404 / 403 as above."""
    roles = roles_for(action)
    if wrong_role == 404:
        return get_study_for_user(user, study_id, roles, related=related)
    _check_wrong_role(wrong_role)
    study = get_study_for_user(user, study_id, related=related)
    if not can(user, study.protocol, action):
        raise PermissionDenied("Your role on this protocol does not allow this.")
    return study


def _check_wrong_role(wrong_role: int) -> None:
    if wrong_role not in (403, 404):
        raise ValueError("wrong_role is 403 or 404")

