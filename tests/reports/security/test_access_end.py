"""Access ends with the membership or the protocol, on the very next request (SECURITY.md promise 4).

The clock is moved by patching django.utils.timezone.localdate, which the scoping rule reads on
every query (freezegun is not installed).
"""
from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from reports.services.access import membership_revoke
from tests.reports.factories import (
    MembershipFactory,
    ProtocolFactory,
    ReportFactory,
    StudyFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def move_clock(monkeypatch):
    real_localdate = timezone.localdate

    def to(day: dt.date) -> None:
        monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: day)

    yield to
    monkeypatch.setattr(timezone, "localdate", real_localdate)


def _reader(protocol, **membership):
    user = UserFactory()
    MembershipFactory(user=user, protocol=protocol, **membership)
    return user


def _urls(study) -> list[str]:
    return [f"/studies/{study.pk}/", f"/api/v1/studies/{study.pk}/"]


def _statuses(client: Client, study) -> list[int]:
    return [client.get(url).status_code for url in _urls(study)]


def _studies_listed(client: Client) -> int:
    return client.get("/api/v1/studies/").json()["count"]


def test_membership_ending_today_gives_access_today_and_404_tomorrow(move_clock):
    today = timezone.localdate()
    protocol = ProtocolFactory()
    study = ReportFactory(study=StudyFactory(protocol=protocol)).study
    client = Client()
    client.force_login(_reader(protocol, valid_to=today))

    assert _statuses(client, study) == [200, 200]
    move_clock(today + dt.timedelta(days=1))
    assert _statuses(client, study) == [404, 404]
    assert _studies_listed(client) == 0


def test_protocol_expiring_today_gives_access_today_and_404_tomorrow(move_clock):
    today = timezone.localdate()
    protocol = ProtocolFactory(expires_on=today)
    study = ReportFactory(study=StudyFactory(protocol=protocol)).study
    client = Client()
    client.force_login(_reader(protocol))

    assert _statuses(client, study) == [200, 200]
    move_clock(today + dt.timedelta(days=1))
    assert _statuses(client, study) == [404, 404]


def test_membership_ended_yesterday_or_protocol_expired_yesterday_sees_nothing():
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    lapsed_protocol = ProtocolFactory(approved_on=yesterday - dt.timedelta(days=30), expires_on=yesterday)
    live_protocol = ProtocolFactory()
    lapsed_study = ReportFactory(study=StudyFactory(protocol=lapsed_protocol)).study
    live_study = ReportFactory(study=StudyFactory(protocol=live_protocol)).study
    member_of_lapsed = _reader(lapsed_protocol, valid_from=yesterday - dt.timedelta(days=10))
    ended_yesterday = _reader(live_protocol, valid_from=yesterday - dt.timedelta(days=10), valid_to=yesterday)

    for user, study in ((member_of_lapsed, lapsed_study), (ended_yesterday, live_study)):
        client = Client()
        client.force_login(user)
        assert _statuses(client, study) == [404, 404]
        assert _studies_listed(client) == 0


def test_membership_starting_tomorrow_sees_nothing_today(move_clock):
    today = timezone.localdate()
    protocol = ProtocolFactory()
    study = ReportFactory(study=StudyFactory(protocol=protocol)).study
    client = Client()
    client.force_login(_reader(protocol, valid_from=today + dt.timedelta(days=1)))

    assert _statuses(client, study) == [404, 404]
    move_clock(today + dt.timedelta(days=1))
    assert _statuses(client, study) == [200, 200]


def test_revoking_ends_access_on_the_next_request_of_an_open_session_and_token(admin_user):
    protocol = ProtocolFactory()
    study = ReportFactory(study=StudyFactory(protocol=protocol)).study
    user = UserFactory()
    membership = MembershipFactory(user=user, protocol=protocol)
    session = Client()
    session.force_login(user)
    token = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert _statuses(session, study) == [200, 200]
    assert token.get(f"/api/v1/studies/{study.pk}/").status_code == 200

    membership_revoke(actor=admin_user, membership=membership)

    assert _statuses(session, study) == [404, 404]
    assert token.get(f"/api/v1/studies/{study.pk}/").status_code == 404
    assert token.get("/api/v1/protocols/").json() == []
