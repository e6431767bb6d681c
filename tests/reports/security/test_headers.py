"""Security headers on every answer of every route (SECURITY.md promise 2).

The crawler walks config.urls, fills each route's ids with planted objects, and requests it as a
member and as staff over HTTPS with production's HSTS setting. Whatever the status (200, 302,
404, 405), the headers must be there.
"""
from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client, override_settings
from django.urls import NoReverseMatch, reverse

from reports.models import Protocol
from tests.reports.security.routes import NamedRoute, build_url, named_routes
from tests.security_matrix import OBJECT_MAKERS

pytestmark = pytest.mark.django_db

CANARY = {"accession": "HDRCANARY1", "text": "FINDINGS: header canary."}


def _csp(response) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy", "")
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def header_problems(response, where: str) -> list[str]:
    problems = []
    csp = _csp(response)
    if not csp:
        problems.append(f"{where}: no Content-Security-Policy")
    if "'unsafe-inline'" in csp.get("script-src", csp.get("default-src", [])):
        problems.append(f"{where}: script-src allows 'unsafe-inline'")
    if "script-src" not in csp and "default-src" not in csp:
        problems.append(f"{where}: CSP restricts no scripts")
    if csp.get("frame-ancestors") != ["'none'"]:
        problems.append(f"{where}: frame-ancestors is {csp.get('frame-ancestors')}")
    if response.get("X-Content-Type-Options") != "nosniff":
        problems.append(f"{where}: no X-Content-Type-Options nosniff")
    if response.get("Referrer-Policy") != "same-origin":
        problems.append(f"{where}: Referrer-Policy is {response.get('Referrer-Policy')!r}")
    if "max-age=" not in response.get("Strict-Transport-Security", ""):
        problems.append(f"{where}: no HSTS")
    if "no-store" not in response.get("Cache-Control", ""):
        problems.append(f"{where}: Cache-Control is {response.get('Cache-Control')!r}")
    return problems


def _admin_url(route: NamedRoute, protocol: Protocol) -> str | None:
    """Admin routes take strings; fill them with the protocol's admin pages where they fit."""
    candidates = {
        "app_label": "reports",
        "object_id": str(protocol.pk),
        "content_type_id": ContentType.objects.get_for_model(Protocol).pk,
    }
    try:
        return reverse(route.name, kwargs={p: candidates[p] for p in route.params})
    except (KeyError, NoReverseMatch):
        return None


def crawl_urls(protocol: Protocol) -> list[str]:
    planted = {name: maker(protocol, CANARY) for name, maker in OBJECT_MAKERS.items()}
    ids = {name: obj.pk for name, obj in planted.items()}
    urls = []
    for route in named_routes().values():
        if route.name.startswith("admin:"):
            url = _admin_url(route, protocol)
        else:
            # Unknown id parameters get the study's id: a 404 must carry the headers too.
            url = build_url(route, ids, default_id=ids["study"])
        if url is not None:
            urls.append(url)
    return urls


@override_settings(SECURE_HSTS_SECONDS=31536000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True)
def test_every_route_sends_the_security_headers(protocol, radiologist, admin_user):
    urls = crawl_urls(protocol)
    assert len(urls) > 20  # the crawl reached the app and the admin
    problems = []
    for user in (radiologist, admin_user, None):
        client = Client(raise_request_exception=False)
        if user is not None:
            client.force_login(user)
        for url in urls:
            response = client.get(url, secure=True)
            problems += header_problems(response, f"GET {url} as {user or 'anonymous'} ({response.status_code})")
    assert not problems, "\n".join(problems[:50])


def test_hsts_is_absent_without_https(client, radiologist):
    """HSTS only means something over HTTPS; production redirects plain HTTP there first."""
    client.force_login(radiologist)
    with override_settings(SECURE_HSTS_SECONDS=31536000):
        assert "Strict-Transport-Security" not in client.get("/")
        assert "Strict-Transport-Security" in client.get("/", secure=True)


def test_production_settings_set_hsts_for_a_year():
    from config.settings import (
        production,  # noqa: F401  (needs SECRET_KEY; set by the fixture below)
    )

    assert production.SECURE_HSTS_SECONDS >= 31536000
    assert production.SECURE_SSL_REDIRECT is True
    assert production.SESSION_COOKIE_SECURE
    assert production.CSRF_COOKIE_SECURE


@pytest.fixture(autouse=True)
def _secret_key(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
