"""Shared fixtures: named users on one protocol, and outsiders of every kind (STYLE.md §7)."""
from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from reports.models import Role
from tests.reports.factories import (
    MembershipFactory,
    ProtocolFactory,
    ReportFactory,
    StudyFactory,
    UserFactory,
)


@pytest.fixture
def protocol():
    return ProtocolFactory()


@pytest.fixture
def other_protocol():
    return ProtocolFactory()


def _member(protocol, role: str, username: str):
    user = UserFactory(username=username)
    MembershipFactory(user=user, protocol=protocol, role=role)
    return user


@pytest.fixture
def radiologist(protocol):
    return _member(protocol, Role.RADIOLOGIST, "radiologist")


@pytest.fixture
def curator(protocol):
    return _member(protocol, Role.CURATOR, "curator")


@pytest.fixture
def scientist(protocol):
    return _member(protocol, Role.DATA_SCIENTIST, "scientist")


@pytest.fixture
def outsider(other_protocol):
    """A member of another protocol: must see nothing of `protocol`."""
    return _member(other_protocol, Role.RADIOLOGIST, "outsider")


@pytest.fixture
def expired_member(protocol):
    user = UserFactory(username="expired")
    today = timezone.localdate()
    MembershipFactory(
        user=user, protocol=protocol, valid_from=today - dt.timedelta(days=60), valid_to=today - dt.timedelta(days=1)
    )
    return user


@pytest.fixture
def admin_user():
    """Staff with no membership: manages protocols, sees no study."""
    return UserFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def study(protocol):
    return ReportFactory(study=StudyFactory(protocol=protocol)).study


@pytest.fixture
def client_for():
    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make
