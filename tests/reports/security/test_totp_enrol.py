"""Enrolling and removing a TOTP device from the account page (SECURITY.md promise 8)."""
from __future__ import annotations

import base64
import re

import pytest
from django.test import Client, override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from reports.models import AccessEvent
from reports.services.totp import TOTP_ENROL, TOTP_REMOVE
from tests.reports.security.totp_helpers import enrolled, totp_code, wrong_code

pytestmark = pytest.mark.django_db

ENROL_URL = "/accounts/two-step/"


def _shown_key(page: bytes) -> bytes:
    """The secret as the page writes it for people who cannot scan (base32, in groups)."""
    text = re.search(rb'<code class="totp-key">([A-Z2-7 ]+)</code>', page).group(1).decode()
    key = text.replace(" ", "")
    return base64.b32decode(key + "=" * (-len(key) % 8))


def test_the_account_page_offers_two_step_sign_in(client_for, radiologist):
    page = client_for(radiologist).get("/accounts/")
    assert page.status_code == 200
    assert b"Set up two-step sign-in" in page.content
    assert b'href="/accounts/two-step/"' in page.content


def test_enrolment_shows_a_qr_svg_and_key_and_one_code_confirms_it(client_for, radiologist):
    client = client_for(radiologist)
    page = client.get(ENROL_URL)
    assert page.status_code == 200
    assert b'src="data:image/svg+xml;base64,' in page.content
    svg = re.search(rb'data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)', page.content).group(1)
    assert base64.b64decode(svg).startswith(b"<svg")
    device = TOTPDevice.objects.get(user=radiologist)
    assert not device.confirmed
    assert _shown_key(page.content) == device.bin_key

    response = client.post(ENROL_URL, {"code": totp_code(device)})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/"
    device.refresh_from_db()
    assert device.confirmed
    assert AccessEvent.objects.filter(action=TOTP_ENROL, user=radiologist).count() == 1
    # The session that enrolled counts as verified; the key is never shown again.
    assert client.get("/").status_code == 200
    assert client.get(ENROL_URL)["Location"] == "/accounts/"
    assert b"Remove two-step sign-in" in client.get("/accounts/").content


def test_a_wrong_code_does_not_turn_it_on(client_for, radiologist):
    client = client_for(radiologist)
    client.get(ENROL_URL)
    device = TOTPDevice.objects.get(user=radiologist)
    response = client.post(ENROL_URL, {"code": wrong_code(device)})
    assert response.status_code == 400
    assert b"wrong or has expired" in response.content
    # The same key stays on the page, so the user can try again with their app.
    assert _shown_key(response.content) == device.bin_key
    device.refresh_from_db()
    assert not device.confirmed
    assert client.post(ENROL_URL, {"code": "12ab"}).status_code == 400


def test_each_visit_makes_a_new_key_and_drops_the_shown_one(client_for, radiologist):
    client = client_for(radiologist)
    first = _shown_key(client.get(ENROL_URL).content)
    second = _shown_key(client.get(ENROL_URL).content)
    assert first != second
    assert TOTPDevice.objects.filter(user=radiologist).count() == 1


def test_removal_needs_a_current_code(client_for, radiologist):
    device = enrolled(radiologist)
    client = Client()
    client.post("/accounts/login/", {"username": "radiologist", "password": "correct-horse-battery"})
    client.post("/accounts/login/code/", {"code": totp_code(device)})

    refused = client.post("/accounts/two-step/remove/", {"code": wrong_code(device)})
    assert refused.status_code == 400
    assert TOTPDevice.objects.filter(user=radiologist).exists()

    removed = client.post("/accounts/two-step/remove/", {"code": totp_code(device, steps_ahead=1)})
    assert removed["Location"] == "/accounts/"
    assert not TOTPDevice.objects.filter(user=radiologist).exists()
    assert AccessEvent.objects.filter(action=TOTP_REMOVE, user=radiologist).count() == 1
    # Back to the password alone.
    fresh = Client()
    response = fresh.post("/accounts/login/", {"username": "radiologist", "password": "correct-horse-battery"})
    assert response["Location"] == "/"


@override_settings(TOTP_MODE="admins")
def test_an_admin_who_enrols_reaches_the_app(admin_user):
    client = Client()
    client.post("/accounts/login/", {"username": "admin", "password": "correct-horse-battery"})
    page = client.get(ENROL_URL)
    assert b"Administrators must set up two-step sign-in" in page.content
    device = TOTPDevice.objects.get(user=admin_user)
    assert client.post(ENROL_URL, {"code": totp_code(device)}).status_code == 302
    assert client.get("/protocols/").status_code == 200


@override_settings(TOTP_MODE="off")
def test_off_has_no_enrolment(client_for, radiologist):
    client = client_for(radiologist)
    assert client.get(ENROL_URL).status_code == 404
    assert b"turned off on this server" in client.get("/accounts/").content


def test_the_django_admin_never_shows_a_device_secret(client_for, admin_user, radiologist):
    device = enrolled(radiologist)
    client = client_for(admin_user)
    page = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/")
    assert page.status_code == 200
    assert device.key.encode() not in page.content
    assert client.get(f"/admin/otp_totp/totpdevice/{device.pk}/config/").status_code in (403, 404)
