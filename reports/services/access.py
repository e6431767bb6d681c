"""Changes of access: protocols and memberships, each audited in the same transaction.

Every path that changes who may see what (the members page, the Django admin, commands and tests)
goes through these functions, so no change of access can happen without its audit row
(SECURITY.md promise 5).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from reports.models import AuditAction, Membership, Protocol, Role
from reports.services.audit import audit_record

# Protocol fields worth naming in the audit row; values are kept only where they are not PHI.
_PROTOCOL_AUDITED_FIELDS = (
    "irb_number", "title", "principal_investigator", "status", "approved_on", "expires_on",
    "label_schema_id", "readers_per_study",
)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _check_dates(valid_from: dt.date, valid_to: dt.date | None) -> None:
    if valid_to is not None and valid_to < valid_from:
        raise ValidationError({"valid_to": "The end date must be on or after the start date."})


def membership_grant(
    *,
    actor: AbstractBaseUser,
    protocol: Protocol,
    user: AbstractBaseUser,
    role: str,
    valid_from: dt.date | None = None,
    valid_to: dt.date | None = None,
    request: HttpRequest | None = None,
    channel: str = "page",
) -> Membership:
    """Add `user` to `protocol`; refuse a second live membership of the same person."""
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    valid_from = valid_from or timezone.localdate()
    _check_dates(valid_from, valid_to)
    try:
        with transaction.atomic():
            membership = Membership.objects.create(
                protocol=protocol, user=user, role=role, valid_from=valid_from, valid_to=valid_to
            )
            audit_record(
                actor=actor, action=AuditAction.ACCESS_GRANT, obj=membership, protocol=protocol,
                request=request, channel=channel,
                detail={"user_id": user.pk, "role": role, "valid_from": _jsonable(valid_from),
                        "valid_to": _jsonable(valid_to)},
            )
    except IntegrityError as exc:
        # The partial unique constraint is the last line against two live memberships.
        raise ValidationError({"user": "This user is already a member of this protocol."}) from exc
    return membership


def membership_change(
    *,
    actor: AbstractBaseUser,
    membership: Membership,
    role: str | None = None,
    valid_from: dt.date | None = None,
    valid_to: dt.date | None = None,
    clear_valid_to: bool = False,
    request: HttpRequest | None = None,
    channel: str = "page",
) -> Membership:
    """Change a live membership's role or dates; the audit row lists old and new values."""
    if membership.revoked_at is not None:
        raise ValidationError("A revoked membership cannot be changed; grant a new one instead.")
    if role is not None and role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    with transaction.atomic():
        # Lock the row so two admins editing at once both end up audited against the true old value.
        current = Membership.objects.select_for_update().get(pk=membership.pk)
        new = {
            "role": role if role is not None else current.role,
            "valid_from": valid_from if valid_from is not None else current.valid_from,
            "valid_to": None if clear_valid_to else (valid_to if valid_to is not None else current.valid_to),
        }
        _check_dates(new["valid_from"], new["valid_to"])
        changes = {
            field: {"old": _jsonable(getattr(current, field)), "new": _jsonable(value)}
            for field, value in new.items()
            if getattr(current, field) != value
        }
        if changes:
            for field, value in new.items():
                setattr(current, field, value)
            current.save(update_fields=list(changes))
            audit_record(
                actor=actor, action=AuditAction.ACCESS_CHANGE, obj=current, protocol=current.protocol,
                request=request, channel=channel, detail={"user_id": current.user_id, "changes": changes},
            )
    return current


def membership_revoke(
    *, actor: AbstractBaseUser, membership: Membership, request: HttpRequest | None = None, channel: str = "page"
) -> Membership:
    """End a membership now. The row stays for the record; revoking twice changes nothing."""
    with transaction.atomic():
        current = Membership.objects.select_for_update().get(pk=membership.pk)
        if current.revoked_at is None:
            current.revoked_at = timezone.now()
            current.save(update_fields=["revoked_at"])
            audit_record(
                actor=actor, action=AuditAction.ACCESS_REVOKE, obj=current, protocol=current.protocol,
                request=request, channel=channel, detail={"user_id": current.user_id, "role": current.role},
            )
    return current


def protocol_save(
    *, actor: AbstractBaseUser, protocol: Protocol, request: HttpRequest | None = None, channel: str = "page"
) -> Protocol:
    """Create or update a protocol (already validated by its form); audit which fields changed."""
    with transaction.atomic():
        before = (
            Protocol.objects.select_for_update().filter(pk=protocol.pk).values(*_PROTOCOL_AUDITED_FIELDS).first()
            if protocol.pk is not None
            else None
        )
        protocol.save()
        after = {field: getattr(protocol, field) for field in _PROTOCOL_AUDITED_FIELDS}
        if before is None:
            changes = {field: {"old": None, "new": _jsonable(value)} for field, value in after.items()}
        else:
            changes = {
                field: {"old": _jsonable(before[field]), "new": _jsonable(value)}
                for field, value in after.items()
                if before[field] != value
            }
        if changes:
            audit_record(
                actor=actor, action=AuditAction.PROTOCOL_CHANGE, obj=protocol, protocol=protocol,
                request=request, channel=channel, detail={"created": before is None, "changes": changes},
            )
    return protocol
