"""Writes to the append-only audit log. Call inside the transaction of the audited action.

Every row goes through audit_record, and every read of report text through audit_report_read,
so "who read this report" has one answer whichever page, API or app showed it.
"""
from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.http import HttpRequest

from reports.audit_actions import audit_action
from reports.models import AccessEvent, AuditAction, Protocol, Report


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
    """Append one audit row. `detail` must hold ids and counts only, never report text or names.

    `action` must be registered (reports.audit_actions); an unknown one raises ValueError.
    """
    if audit_action(action) is None:
        raise ValueError(
            f"Unknown audit action {action!r}: register it in its app's AppConfig.ready() "
            "(reports.audit_actions.register_audit_action)"
        )
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


def audit_report_read(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    report: Report | None,
    protocol: Protocol | None = None,
    request: HttpRequest | None = None,
    channel: str = "page",
    detail: dict[str, Any] | None = None,
) -> AccessEvent:
    """Record that `actor` was shown the text of `report` (one row per showing).

    `protocol` defaults to the report's study's protocol (one query unless the caller passes it
    or fetched the study with the report). `detail` says where, in ids: e.g. {"study": 12}.
    A task that reads many reports at once (a model scoring a protocol) passes report=None, the
    protocol, and counts in `detail`: one row per batch, not one per report.
    """
    if report is None and protocol is None:
        raise ValueError("audit_report_read needs the report or, for a batch, the protocol")
    return audit_record(
        actor=actor,
        action=AuditAction.REPORT_READ,
        obj=report,
        protocol=protocol if protocol is not None else report.study.protocol,
        request=request,
        channel=channel,
        detail=detail,
    )
