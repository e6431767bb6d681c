"""Two-step sign-in on the login page (SECURITY.md promise 8): password, then a real TOTP code."""
from __future__ import annotations

import pytest
from django.test import Client, override_settings

from reports.totp import policy
from tests.reports.security.totp_helpers import enrolled, totp_code, wrong_code

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
CODE_URL = "/accounts/login/code/"


def _password(client: Client, username: str, next_url: str = "") -> object:
    data = {"username": username, "password": PASSWORD}
    url = f"/accounts/login/?next={next_url}" if next_url else "/accounts/login/"
    return client.post(url, data)


def test_a_user_without_a_device_signs_in_with_the_password_alone(radiologist):
    client = Client()
    response = _password(client, "radiologist")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_an_enrolled_user_is_signed_in_only_after_the_code(radiologist):
    device = enrolled(radiologist)
    client = Client()
    response = _password(client, "radiologist", next_url="/studies/")
    assert response.status_code == 302
    assert response["Location"] == CODE_URL
    # The password alone signs nobody in.
    assert client.get("/").status_code == 302
    page = client.get(CODE_URL)
    assert page.status_code == 200
    assert b'autocomplete="one-time-code"' in page.content
    before = client.cookies["sessionid"].value

    response = client.post(CODE_URL, {"code": totp_code(device)})
    assert response.status_code == 302
    assert response["Location"] == "/studies/"
    assert client.cookies["sessionid"].value != before  # a new session id at sign-in
    assert client.get("/studies/").status_code == 200


def test_a_wrong_code_is_refused_and_does_not_sign_in(radiologist):
    device = enrolled(radiologist)
    client = Client()
    _password(client, "radiologist")
    response = client.post(CODE_URL, {"code": wrong_code(device)})
    assert response.status_code == 200
    assert b"wrong or has expired" in response.content
    assert client.get("/").status_code == 302
    # A right code after a wrong one still works (no growing delay on top of the lockout).
    assert client.post(CODE_URL, {"code": totp_code(device)}).status_code == 302
    assert client.get("/").status_code == 200


def test_a_code_is_good_only_once(radiologist):
    device = enrolled(radiologist)
    code = totp_code(device)
    first = Client()
    _password(first, "radiologist")
    assert first.post(CODE_URL, {"code": code}).status_code == 302
    second = Client()
    _password(second, "radiologist")
    assert second.post(CODE_URL, {"code": code}).status_code == 200
    assert second.get("/").status_code == 302


def test_the_code_step_without_a_password_goes_back_to_the_login_page(radiologist):
    enrolled(radiologist)
    client = Client()
    assert client.get(CODE_URL)["Location"] == "/accounts/login/"
    assert client.post(CODE_URL, {"code": "123456"})["Location"] == "/accounts/login/"


def test_the_password_step_expires_after_five_minutes(radiologist, monkeypatch):
    device = enrolled(radiologist)
    clock = [1_000_000.0]
    monkeypatch.setattr(policy.time, "time", lambda: clock[0])
    client = Client()
    _password(client, "radiologist")
    clock[0] += policy.PENDING_SECONDS + 1
    response = client.post(CODE_URL, {"code": totp_code(device)})
    assert response["Location"] == "/accounts/login/"
    assert client.get("/").status_code == 302


def test_wrong_codes_count_toward_the_lockout(radiologist):
    device = enrolled(radiologist)
    client = Client()
    _password(client, "radiologist")
    for _ in range(9):
        assert client.post(CODE_URL, {"code": wrong_code(device)}).status_code == 200
    assert client.post(CODE_URL, {"code": wrong_code(device)}).status_code == 429
    # Locked: neither the right code nor the password helps now.
    again = Client()
    assert _password(again, "radiologist").status_code == 429
    assert again.post(CODE_URL, {"code": totp_code(device)}).status_code in (302, 429)
    assert again.get("/").status_code == 302


def test_wrong_passwords_and_wrong_codes_share_one_limit(radiologist):
    device = enrolled(radiologist)
    client = Client()
    for _ in range(5):
        client.post("/accounts/login/", {"username": "radiologist", "password": "wrong"})
    _password(client, "radiologist")  # a right password does not reset the count
    for _ in range(4):
        assert client.post(CODE_URL, {"code": wrong_code(device)}).status_code == 200
    assert client.post(CODE_URL, {"code": wrong_code(device)}).status_code == 429


def test_a_complete_sign_in_resets_the_count(radiologist):
    device = enrolled(radiologist)
    client = Client()
    _password(client, "radiologist")
    for _ in range(9):
        client.post(CODE_URL, {"code": wrong_code(device)})
    assert client.post(CODE_URL, {"code": totp_code(device)}).status_code == 302
    client.post("/accounts/logout/")
    _password(client, "radiologist")
    for _ in range(9):
        assert client.post(CODE_URL, {"code": wrong_code(device)}).status_code == 200


def test_a_session_signed_in_elsewhere_without_the_code_is_signed_out(client_for, radiologist):
    # As the Django admin's own login page would: password only.
    enrolled(radiologist)
    client = client_for(radiologist)
    response = client.get("/studies/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert client.get("/").status_code == 302


@override_settings(TOTP_MODE="off")
def test_off_asks_no_code_even_of_an_enrolled_user(radiologist):
    enrolled(radiologist)
    client = Client()
    assert _password(client, "radiologist")["Location"] == "/"
    assert client.get("/").status_code == 200


@override_settings(TOTP_MODE="admins")
def test_admins_without_a_device_are_sent_to_enrol_before_anything_else(admin_user):
    client = Client()
    assert _password(client, "admin").status_code == 302
    for url in ("/", "/protocols/", "/accounts/", "/audit/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == "/accounts/two-step/"
    api = client.get("/api/v1/studies/")
    assert api.status_code == 403
    assert "/accounts/two-step/" in api.json()["detail"]
    assert client.get("/accounts/two-step/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302


@override_settings(TOTP_MODE="admins")
def test_admins_mode_leaves_other_users_free_to_choose(radiologist):
    client = Client()
    _password(client, "radiologist")
    assert client.get("/").status_code == 200


def test_switching_to_admins_takes_effect_on_the_next_request(client_for, admin_user, settings):
    client = client_for(admin_user)
    assert client.get("/").status_code == 200
    settings.TOTP_MODE = "admins"
    assert client.get("/")["Location"] == "/accounts/two-step/"


@override_settings(TOTP_MODE="admins")
def test_an_enrolled_admin_signs_in_with_the_code(admin_user):
    device = enrolled(admin_user)
    client = Client()
    assert _password(client, "admin")["Location"] == CODE_URL
    assert client.post(CODE_URL, {"code": totp_code(device)}).status_code == 302
    assert client.get("/protocols/").status_code == 200


def test_a_staff_user_is_not_asked_to_enrol_when_optional(admin_user):
    client = Client()
    _password(client, "admin")
    assert client.get("/").status_code == 200
