"""GET /api/v1/studies/?page_size=N: the client picks the page size, within 1..500."""
from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from reports.api.pagination import StudyPagination
from tests.reports.factories import StudyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(radiologist) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=radiologist).key}")


def _page(api: Client, query: str) -> dict:
    response = api.get(f"/api/v1/studies/{query}")
    assert response.status_code == 200
    return response.json()


def test_page_size_chooses_the_rows_per_page(api, protocol):
    StudyFactory.create_batch(5, protocol=protocol)

    body = _page(api, "?page_size=2")

    assert len(body["results"]) == 2
    assert body["count"] == 5
    assert "page_size=2" in body["next"]


def test_without_page_size_the_default_applies(api, protocol):
    StudyFactory.create_batch(3, protocol=protocol)

    assert len(_page(api, "")["results"]) == 3


@pytest.mark.parametrize("bad", ["0", "-3", "many"])
def test_a_page_size_that_is_not_a_positive_number_falls_back_to_the_default(api, protocol, bad):
    StudyFactory.create_batch(3, protocol=protocol)

    assert len(_page(api, f"?page_size={bad}")["results"]) == 3


def test_page_size_is_capped(api, protocol, monkeypatch):
    # The cap is 500; a cap of 4 proves the clamp without creating 501 studies.
    monkeypatch.setattr(StudyPagination, "max_page_size", 4)
    StudyFactory.create_batch(6, protocol=protocol)

    assert len(_page(api, "?page_size=100000")["results"]) == 4


def test_the_shipped_cap_is_500():
    assert StudyPagination.max_page_size == 500
