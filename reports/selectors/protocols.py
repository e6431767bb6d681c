"""Reads of protocols and memberships for the admins' pages and the API."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from reports.models import Membership, Protocol, Role


class MembershipState:
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    NOT_YET = "not yet"


def membership_state(membership: Membership, today: dt.date) -> str:
    if membership.revoked_at is not None:
        return MembershipState.REVOKED
    if membership.valid_from > today:
        return MembershipState.NOT_YET
    if membership.valid_to is not None and membership.valid_to < today:
        return MembershipState.EXPIRED
    return MembershipState.ACTIVE


@dataclass(frozen=True)
class MemberRow:
    membership: Membership
    state: str


def protocol_list_for_admin() -> QuerySet[Protocol]:
    """Every protocol with its count of live members, for staff."""
    today = timezone.localdate()
    return Protocol.objects.annotate(
        active_members=Count(
            "memberships",
            filter=Q(memberships__revoked_at__isnull=True, memberships__valid_from__lte=today)
            & (Q(memberships__valid_to__isnull=True) | Q(memberships__valid_to__gte=today)),
        )
    ).order_by("irb_number")


def protocol_members(*, protocol: Protocol) -> list[MemberRow]:
    """Every membership of `protocol`, live ones first, each with its state today."""
    today = timezone.localdate()
    memberships = (
        Membership.objects.filter(protocol=protocol)
        .select_related("user")
        .order_by(F("revoked_at").desc(nulls_first=True), "user__username", "-created_at")
    )
    return [MemberRow(membership=m, state=membership_state(m, today)) for m in memberships]


def protocols_with_role_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Protocol]:
    """The user's protocols today, each annotated with the user's role on it."""
    today = timezone.localdate()
    role = Membership.objects.active_on(today).filter(protocol=OuterRef("pk"), user_id=user.pk).values("role")[:1]
    return Protocol.objects.visible_to(user).annotate(role=Subquery(role)).order_by("irb_number")


@dataclass(frozen=True)
class ProtocolRole:
    """The user's role on one of their protocols.

    What the role lets them do is each app's rule (annotation.permissions for reading), not
    this layer's: reports imports no app above it.
    """

    protocol: Protocol
    role: str

    @property
    def role_label(self) -> str:
        return Role(self.role).label


def protocol_roles_for_user(*, user: AbstractBaseUser | AnonymousUser) -> list[ProtocolRole]:
    """The user's protocols today with their role on each (one query), for the dashboard's links."""
    return [ProtocolRole(protocol=p, role=p.role) for p in protocols_with_role_for_user(user=user)]
