"""What the navigation shows, computed once per page (one query) and only when a page uses it."""
from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from reports.permissions import IMPORT_ROLES, roles_for_user
from training.selectors.cohorts import COHORT_ROLES


@dataclass(frozen=True)
class Nav:
    can_import: bool
    can_build_cohorts: bool  # cohorts and training: data scientists


def _nav(request: HttpRequest) -> Nav:
    roles = roles_for_user(request.user)
    return Nav(can_import=bool(roles & set(IMPORT_ROLES)), can_build_cohorts=bool(roles & set(COHORT_ROLES)))


def nav(request: HttpRequest) -> dict[str, object]:
    return {"nav": SimpleLazyObject(lambda: _nav(request))}
