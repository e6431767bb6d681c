"""Sign-in, sign-out, idle logout, lockout and password hashing (SECURITY.md promises 8 and 9)."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.test import Client, override_settings

from config.settings import base
from reports import middleware
from tests.reports.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


def test_login_page_signs_in_with_a_new_session_id(radiologist):
    client = Client()
    assert client.get("/accounts/login/").status_code == 200
    client.get("/accounts/login/")
    before = client.cookies.get("sessionid")
    response = client.post("/accounts/login/", {"username": "radiologist", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.cookies["sessionid"].value != (before.value if before else None)
    assert client.get("/").status_code == 200


def test_wrong_password_shows_an_error_and_does_not_sign_in(radiologist):
    client = Client()
    response = client.post("/accounts/login/", {"username": "radiologist", "password": "wrong"})
    assert response.status_code == 200
    assert b"didn&#x27;t match" in response.content or b"didn't match" in response.content
    assert client.get("/").status_code == 302


def test_logout_ends_the_session_and_a_replayed_cookie_fails(client_for, radiologist):
    client = client_for(radiologist)
    cookie = client.cookies["sessionid"].value
    assert client.post("/accounts/logout/").status_code == 302
    replay = Client()
    replay.cookies["sessionid"] = cookie
    response = replay.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_idle_session_is_signed_out_after_15_minutes(client_for, radiologist, monkeypatch):
    clock = [1_000_000.0]
    monkeypatch.setattr(middleware.time, "time", lambda: clock[0])
    client = client_for(radiologist)
    assert client.get("/").status_code == 200
    clock[0] += 14 * 60
    assert client.get("/").status_code == 200  # activity restarts the idle clock
    clock[0] += 14 * 60
    assert client.get("/").status_code == 200
    clock[0] += 15 * 60 + 1
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    # Signed out for good: coming back quickly does not revive the session.
    assert client.get("/").status_code == 302


def test_session_ends_after_12_hours_even_when_active(client_for, radiologist, monkeypatch):
    clock = [1_000_000.0]
    monkeypatch.setattr(middleware.time, "time", lambda: clock[0])
    client = client_for(radiologist)
    for _ in range(52):  # the last of these at 11 h 54 min
        assert client.get("/").status_code == 200
        clock[0] += 14 * 60
    assert client.get("/").status_code == 302


def test_ten_failed_logins_lock_the_username_on_the_login_page(radiologist):
    client = Client()
    for _ in range(9):
        response = client.post("/accounts/login/", {"username": "radiologist", "password": "wrong"})
        assert response.status_code == 200
    response = client.post("/accounts/login/", {"username": "radiologist", "password": "wrong"})
    assert response.status_code == 429
    # Even the right password is refused now, from another client too.
    response = Client().post("/accounts/login/", {"username": "radiologist", "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    assert Client().get("/").status_code == 302


def test_lockout_is_per_username(radiologist, curator):
    client = Client()
    for _ in range(10):
        client.post("/accounts/login/", {"username": "radiologist", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "curator", "password": PASSWORD})
    assert response.status_code == 302


def test_base_settings_hash_passwords_with_argon2():
    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    with override_settings(PASSWORD_HASHERS=base.PASSWORD_HASHERS):
        user = UserFactory(username="argon", password=PASSWORD)
        assert user.password.startswith("argon2$argon2id$")
        assert get_user_model().objects.get(pk=user.pk).check_password(PASSWORD)
        assert make_password("x").startswith("argon2$")
