"""Access helpers: fetch an object for a user, or answer 404 (never 403) when out of scope."""
from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import Http404
from django.utils import timezone

from reports.models import Job, Membership, Protocol, Role, Study

# Who may bring data in: importing is a data-management act, not a reading one.
IMPORT_ROLES = (Role.CURATOR, Role.DATA_SCIENTIST)


def get_study_for_user(
    user: AbstractBaseUser | AnonymousUser,
    study_id: int,
    roles: tuple[str, ...] | None = None,
    *,
    related: tuple[str, ...] = ("protocol", "patient"),
) -> Study:
    """The study if the user (in one of `roles`, when given) may see it today; 404 otherwise.

    `related` names what comes in the same query, so callers fetch what their page shows.
    """
    study = Study.objects.visible_to(user, roles).select_related(*related).filter(pk=study_id).first()
    if study is None:
        raise Http404("No such study")
    return study


def get_protocol_for_user(
    user: AbstractBaseUser | AnonymousUser, protocol_id: int, roles: tuple[str, ...] | None = None
) -> Protocol:
    protocol = Protocol.objects.visible_to(user, roles).filter(pk=protocol_id).first()
    if protocol is None:
        raise Http404("No such protocol")
    return protocol


def get_job_for_user(user: AbstractBaseUser | AnonymousUser, job_id: int) -> Job:
    """A job of one of the user's protocols, or 404."""
    job = (
        Job.objects.filter(pk=job_id, protocol__in=Protocol.objects.visible_to(user))
        .select_related("protocol")
        .first()
    )
    if job is None:
        raise Http404("No such job")
    return job


def can_manage_protocols(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Admins manage protocols and memberships; they need no membership (and get no data)."""
    return bool(user.is_authenticated and user.is_staff)


def roles_for_user(user: AbstractBaseUser | AnonymousUser) -> frozenset[str]:
    """Every role the user holds today on some protocol they may work on, in one query.

    Scoped by Protocol.objects.visible_to (one subquery), read once per page for the navigation
    rather than once per link.
    """
    if not user.is_authenticated:
        return frozenset()
    memberships = Membership.objects.active_on(timezone.localdate()).filter(
        user_id=user.pk, protocol__in=Protocol.objects.visible_to(user)
    )
    return frozenset(memberships.values_list("role", flat=True).distinct())
