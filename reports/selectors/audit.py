"""Reads of the audit log for the admins' audit page."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from reports.models import AccessEvent


@dataclass(frozen=True)
class AuditFilters:
    username: str = ""
    action: str = ""
    protocol_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    object_type: str = ""
    object_id: str = ""


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def audit_events(*, filters: AuditFilters) -> QuerySet[AccessEvent]:
    """Audit rows matching `filters`, newest first; dates are whole local days, both inclusive."""
    qs = AccessEvent.objects.select_related("protocol").order_by("-at", "-id")
    if filters.username:
        qs = qs.filter(username=filters.username)
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.protocol_id is not None:
        qs = qs.filter(protocol_id=filters.protocol_id)
    if filters.date_from is not None:
        qs = qs.filter(at__gte=_day_start(filters.date_from))
    if filters.date_to is not None:
        qs = qs.filter(at__lt=_day_start(filters.date_to + dt.timedelta(days=1)))
    if filters.object_type:
        qs = qs.filter(object_type=filters.object_type)
    if filters.object_id:
        qs = qs.filter(object_id=filters.object_id)
    return qs
