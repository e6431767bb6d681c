"""A curator's final decision on a study whose readers disagreed."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from annotation.models import Confirmation, ConfirmationKind
from annotation.services.confirm import ConfirmationConflict, _conflict, confirmation_submit
from reports.models import ReviewState, Study

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest


def adjudication_submit(
    *,
    study: Study,
    curator: AbstractBaseUser,
    values: Mapping[str, str],
    version: int,
    time_spent_ms: int | None = None,
    request: HttpRequest | None = None,
    channel: str = "page",
) -> Confirmation:
    """Record the curator's values as the study's final labels and close it.

    Only a study in adjudication (or one already adjudicated, to correct the decision, kept as
    history) takes one; the caller has checked the curator role. Same version rule as reads.
    """
    if study.review_state != ReviewState.ADJUDICATION and not Confirmation.objects.filter(
        study=study, kind=ConfirmationKind.ADJUDICATION, is_current=True
    ).exists():
        raise _conflict(study.pk, "This study is not waiting for adjudication.", "not_in_adjudication")
    return confirmation_submit(
        study=study,
        reader=curator,
        values=values,
        version=version,
        kind=ConfirmationKind.ADJUDICATION,
        time_spent_ms=time_spent_ms,
        request=request,
        channel=channel,
    )


__all__ = ["ConfirmationConflict", "adjudication_submit"]
