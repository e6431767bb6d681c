"""The scope matrix: every named route of config.urls and who may reach it (SECURITY.md promise 3).

tests/reports/security/test_scope_matrix.py walks the URL resolver and fails on any route that
has no entry here, so a new route cannot ship without saying who may use it. To add a route,
add one line to ROUTES; when its URL takes an id of something other than a study or protocol,
also add a maker to OBJECT_MAKERS.

Route fields:
- audience: "member" (members of the object's protocol; everyone else 404), "staff" (admins;
  everyone else 404), "user" (any signed-in user, data filtered to their protocols) or
  "public" (no sign-in needed, e.g. the login page).
- object: which planted object the URL's int parameters point to (a key of OBJECT_MAKERS), or
  None for URLs without ids.
- ok: what an allowed user gets, per method; any method not listed must not succeed (no 2xx).
- roles: the member roles the route is for (default: every role); members with other roles get 404.
- shows_canary: the allowed user's GET shows the planted report text or accession, which proves
  the leak check would notice it anywhere else.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reports.models import Protocol, Role


@dataclass(frozen=True)
class Route:
    audience: str
    object: str | None = None
    ok: dict[str, int] = field(default_factory=lambda: {"GET": 200})
    roles: tuple[str, ...] = tuple(Role.values)
    shows_canary: bool = False


# Namespaces covered by their own framework's checks rather than this matrix.
IGNORED_NAMESPACES = {"admin"}

ROUTES: dict[str, Route] = {
    # accounts
    "login": Route("public", ok={"GET": 200, "POST": 200}),
    "logout": Route("public", ok={"POST": 302}),
    # reports pages
    "reports:home": Route("user"),
    "reports:study-list": Route("user", ok={"GET": 200, "POST": 302}, shows_canary=True),
    "reports:study-detail": Route("member", object="study", shows_canary=True),
    "reports:protocol-list": Route("staff"),
    "reports:protocol-members": Route("staff", object="protocol", ok={"GET": 200, "POST": 400}),
    "reports:membership-end-date": Route("staff", object="membership", ok={"POST": 302}),
    "reports:membership-revoke": Route("staff", object="membership", ok={"POST": 302}),
    "reports:audit-log": Route("staff"),
    # reports API
    "api-auth-token": Route("public", ok={"POST": 400}),
    "api-study-list": Route("user", shows_canary=True),
    "api-study-detail": Route("member", object="study", shows_canary=True),
    "api-protocol-list": Route("user"),
    "api-schema": Route("user"),
}


def _study(protocol: Protocol, canary: dict[str, str]) -> Any:
    from tests.reports.factories import ReportFactory, StudyFactory

    return ReportFactory(study=StudyFactory(protocol=protocol, accession=canary["accession"]), text=canary["text"]).study


def _protocol(protocol: Protocol, canary: dict[str, str]) -> Any:
    return protocol


def _membership(protocol: Protocol, canary: dict[str, str]) -> Any:
    from tests.reports.factories import MembershipFactory

    return MembershipFactory(protocol=protocol)


# object name -> maker(protocol, canary) returning a saved object that belongs to `protocol`.
OBJECT_MAKERS: dict[str, Callable[[Protocol, dict[str, str]], Any]] = {
    "study": _study,
    "protocol": _protocol,
    "membership": _membership,
}
