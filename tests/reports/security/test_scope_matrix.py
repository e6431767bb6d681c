"""Scope matrix (SECURITY.md promise 3): every route × six kinds of user × every method.

Planted objects carry canary text; anyone outside their protocol must get 404 (or 405 for a
method the route does not take) and never see a canary, whatever the status.
"""
from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from reports.models import Role
from tests.reports.factories import MembershipFactory, UserFactory
from tests.reports.security.routes import build_url, named_routes
from tests.security_matrix import IGNORED_NAMESPACES, OBJECT_MAKERS, ROUTES, Route

pytestmark = pytest.mark.django_db

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
CANARY = {"accession": "CANARYACC9137", "text": "FINDINGS: Canary-Zebra-4711 nodule in the left apex."}


def _routes_under_test() -> dict[str, object]:
    return {
        name: route
        for name, route in named_routes().items()
        if ":" not in name or name.split(":", 1)[0] not in IGNORED_NAMESPACES
    }


def test_every_route_has_a_matrix_entry():
    unknown = sorted(set(_routes_under_test()) - set(ROUTES))
    assert not unknown, f"Routes without an entry in tests/security_matrix.py ROUTES: {unknown}"


def test_matrix_names_only_existing_routes():
    stale = sorted(set(ROUTES) - set(_routes_under_test()))
    assert not stale, f"tests/security_matrix.py names routes that no longer exist: {stale}"


def _request(client: Client, method: str, url: str):
    return getattr(client, method.lower())(url)


def _body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode(errors="replace")


def _anonymous_answer(url: str, response) -> bool:
    if url.startswith("/api/"):
        return response.status_code == 401
    return response.status_code == 302 and response["Location"].startswith(settings.LOGIN_URL)


@pytest.fixture
def world(protocol, other_protocol):
    users = {}
    for role in Role.values:
        user = UserFactory(username=f"member-{role}")
        MembershipFactory(user=user, protocol=protocol, role=role)
        users[f"member:{role}"] = user
    users["other"] = UserFactory(username="other")
    MembershipFactory(user=users["other"], protocol=other_protocol)
    today = timezone.localdate()
    users["expired"] = UserFactory(username="expired")
    MembershipFactory(
        user=users["expired"], protocol=protocol, valid_from=today - timezone.timedelta(days=30),
        valid_to=today - timezone.timedelta(days=1),
    )
    users["revoked"] = UserFactory(username="revoked")
    MembershipFactory(user=users["revoked"], protocol=protocol, revoked_at=timezone.now())
    users["staff"] = UserFactory(username="staff", is_staff=True, is_superuser=True)
    planted = {name: maker(protocol, CANARY) for name, maker in OBJECT_MAKERS.items()}
    return users, planted


@pytest.mark.parametrize("route_name", sorted(ROUTES))
def test_route_answers_only_within_scope(route_name, world):
    users, planted = world
    route: Route = ROUTES[route_name]
    walked = named_routes()
    assert route_name in walked, f"{route_name} is in the matrix but not in config.urls"
    default = planted[route.object].pk if route.object else None
    url = build_url(walked[route_name], {name: obj.pk for name, obj in planted.items()}, default)

    members = {f"member:{role}" for role in Role.values}
    allowed = {
        "member": {f"member:{role}" for role in route.roles},
        "staff": {"staff"},
        "user": set(users),
        "public": set(),
    }[route.audience]
    # Who may see the planted study: its protocol's members, on member pages and on lists.
    may_see = allowed if route.audience == "member" else members if route.audience == "user" else set()
    problems: list[str] = []
    for who in [*users, "anonymous"]:
        for method in METHODS:
            client = Client(raise_request_exception=False)
            if who != "anonymous":
                client.force_login(users[who])
            response = _request(client, method, url)
            status, body = response.status_code, _body(response)
            where = f"{method} {route_name} as {who}: {status}"
            if status >= 500:
                problems.append(f"{where} (server error)")
            if who not in may_see and (CANARY["accession"] in body or CANARY["text"] in body):
                problems.append(f"{where} LEAKS planted data")
            if route.audience == "public":
                continue
            if who == "anonymous":
                if not _anonymous_answer(url, response):
                    problems.append(f"{where} (expected 401 or a login redirect)")
            elif who in allowed:
                expected = route.ok.get(method)
                if expected is not None and status != expected:
                    problems.append(f"{where} (expected {expected})")
                if expected is None and 200 <= status < 300:
                    problems.append(f"{where} (method should not succeed)")
                if route.shows_canary and method == "GET" and who in may_see and CANARY["accession"] not in body:
                    problems.append(f"{where} does not show a member their own study (the leak check is blind)")
            elif who in {f"member:{role}" for role in route.denied}:
                # On the protocol in a role that may not: 403 (405 for a method the route lacks).
                if status not in ((403,) if method in route.ok else (403, 405)):
                    problems.append(f"{where} (expected 403 for this role)")
            elif method in route.ok:
                if status != 404:
                    problems.append(f"{where} (expected 404 out of scope)")
            elif status not in (404, 405):
                problems.append(f"{where} (expected 404 or 405)")
    assert not problems, "\n".join(problems)
