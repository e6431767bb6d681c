"""The token endpoint asks enrolled users for their TOTP code in "otp" (SECURITY.md promise 8)."""
from __future__ import annotations

import pytest
from django.test import Client, override_settings

from tests.reports.security.totp_helpers import enrolled, totp_code, wrong_code

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/token/"
PASSWORD = "correct-horse-battery"


def _token(username: str, otp: str | None = None):
    data = {"username": username, "password": PASSWORD}
    if otp is not None:
        data["otp"] = otp
    return Client().post(URL, data, content_type="application/json")


def test_a_user_without_a_device_needs_no_code(radiologist):
    response = _token("radiologist")
    assert response.status_code == 200
    assert response.json()["token"]


def test_an_enrolled_user_without_a_code_gets_a_clear_400(radiologist):
    enrolled(radiologist)
    response = _token("radiologist")
    assert response.status_code == 400
    assert response.json() == {"detail": response.json()["detail"]}
    assert '"otp"' in response.json()["detail"]
    assert "two-step sign-in" in response.json()["detail"]


def test_an_enrolled_user_gets_a_token_with_the_code(radiologist):
    device = enrolled(radiologist)
    response = _token("radiologist", totp_code(device))
    assert response.status_code == 200
    token = response.json()["token"]
    studies = Client().get("/api/v1/studies/", HTTP_AUTHORIZATION=f"Token {token}")
    assert studies.status_code == 200


def test_a_wrong_code_is_refused(radiologist):
    device = enrolled(radiologist)
    response = _token("radiologist", wrong_code(device))
    assert response.status_code == 400
    assert "wrong or has expired" in response.json()["detail"]


def test_wrong_codes_lock_the_username(radiologist):
    device = enrolled(radiologist)
    for _ in range(9):
        assert _token("radiologist", wrong_code(device)).status_code == 400
    locked = _token("radiologist", wrong_code(device))
    assert locked.status_code == 429
    assert "locked" in locked.json()["detail"]
    assert _token("radiologist", totp_code(device)).status_code == 429


@override_settings(TOTP_MODE="admins")
def test_an_admin_without_a_device_gets_no_token(admin_user):
    response = _token("admin")
    assert response.status_code == 400
    assert "/accounts/" in response.json()["detail"]


@override_settings(TOTP_MODE="off")
def test_off_needs_no_code(radiologist):
    enrolled(radiologist)
    assert _token("radiologist").status_code == 200
