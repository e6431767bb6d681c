from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone

from reports.models import Role
from tests.reports.factories import MembershipFactory, UserFactory


@pytest.fixture(autouse=True)
def _clear_throttles():
    # DRF throttles and axes live in the cache / database; start every test with a clean slate.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def revoked_member(protocol):
    user = UserFactory(username="revoked")
    MembershipFactory(user=user, protocol=protocol, role=Role.RADIOLOGIST, revoked_at=timezone.now())
    return user


@pytest.fixture
def staff_user():
    """Staff (not superuser) without any membership."""
    return UserFactory(username="staff", is_staff=True)


@pytest.fixture
def yesterday():
    return timezone.localdate() - dt.timedelta(days=1)
