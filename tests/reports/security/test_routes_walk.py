from __future__ import annotations

from tests.reports.security.routes import named_routes


def test_walk_finds_routes_of_every_app():
    names = set(named_routes())
    assert {"reports:study-detail", "api-study-detail", "login", "api-schema"} <= names
    assert any(name.startswith("admin:") for name in names)
