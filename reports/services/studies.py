"""Showing a study's report: the read of its text is audited here, once per showing."""
from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest

from reports.models import Report, Study
from reports.selectors.studies import study_with_report
from reports.services.audit import audit_report_read


def study_report_read(
    *, user: AbstractBaseUser, study_id: int, request: HttpRequest | None, channel: str
) -> tuple[Study, Report | None]:
    """Fetch a study (404 out of scope) and its report, auditing the read of the text once."""
    study, report = study_with_report(user=user, study_id=study_id)
    if report is not None:
        with transaction.atomic():
            audit_report_read(
                actor=user,
                report=report,
                protocol=study.protocol,
                request=request,
                channel=channel,
                detail={"study_id": study.pk, "revision": report.revision},
            )
    return study, report
