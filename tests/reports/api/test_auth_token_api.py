from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/token/"
PASSWORD = "correct-horse-battery"


def _post(data: dict, client: Client | None = None):
    return (client or Client()).post(URL, data, content_type="application/json")


def test_right_credentials_get_a_token_that_authenticates(radiologist):
    response = _post({"username": "radiologist", "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]
    assert Token.objects.get(user=radiologist).key == token
    api = Client(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/protocols/").status_code == 200
    # Asking again returns the same token rather than piling up new ones.
    assert _post({"username": "radiologist", "password": PASSWORD}).json()["token"] == token


def test_wrong_credentials_answer_400_with_a_clear_message(radiologist):
    response = _post({"username": "radiologist", "password": "wrong"})
    assert response.status_code == 400
    assert "check the username and password" in response.json()["detail"]
    assert not Token.objects.exists()


def test_missing_fields_are_named(radiologist):
    response = _post({"username": "radiologist"})
    assert response.status_code == 400
    assert "password" in response.json()


def test_get_is_not_allowed():
    assert Client().get(URL).status_code == 405


def test_ten_failures_lock_the_username_with_a_json_answer(radiologist):
    for _ in range(9):
        assert _post({"username": "radiologist", "password": "wrong"}).status_code == 400
    locked = _post({"username": "radiologist", "password": "wrong"})
    assert locked.status_code == 429
    response = _post({"username": "radiologist", "password": PASSWORD})
    assert response.status_code == 429
    assert "locked" in response.json()["detail"]
    assert not Token.objects.exists()
    # The login page shares the same lock.
    assert Client().post("/accounts/login/", {"username": "radiologist", "password": PASSWORD}).status_code == 429


def test_failures_on_the_login_page_lock_the_token_endpoint_too(radiologist):
    for _ in range(10):
        Client().post("/accounts/login/", {"username": "radiologist", "password": "wrong"})
    assert _post({"username": "radiologist", "password": PASSWORD}).status_code == 429


def test_a_bad_token_header_does_not_stop_getting_a_new_token(radiologist):
    client = Client(HTTP_AUTHORIZATION="Token not-a-token")
    assert _post({"username": "radiologist", "password": PASSWORD}, client).status_code == 200
