"""Writes to the append-only audit log. Call inside the transaction of the audited action."""
from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.http import HttpRequest

from reports.models import AccessEvent, Protocol


def client_ip(request: HttpRequest | None) -> str | None:
    """The peer address. X-Forwarded-For is not trusted here: the proxy in front must set REMOTE_ADDR."""
    return request.META.get("REMOTE_ADDR") or None if request is not None else None


def audit_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    obj: models.Model | None = None,
    protocol: Protocol | None = None,
    request: HttpRequest | None = None,
    channel: str = "page",
    detail: dict[str, Any] | None = None,
) -> AccessEvent:
    """Append one audit row. `detail` must hold ids and counts only, never report text or names."""
    user = actor if actor is not None and actor.is_authenticated else None
    return AccessEvent.objects.create(
        user=user,
        username=user.get_username() if user is not None else "",
        action=action,
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        protocol=protocol,
        ip_address=client_ip(request),
        channel=channel,
        detail=detail or {},
    )
