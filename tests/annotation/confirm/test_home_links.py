"""The dashboard links each protocol's reading pages by the user's role on it."""
from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _links(client, protocol) -> dict[str, bool]:
    html = client.get(reverse("home")).content.decode()
    names = {
        "read": "annotation:read-next",
        "adjudication": "annotation:adjudication-queue",
        "agreement": "annotation:agreement",
        "labels": "annotation:protocol-labels",
    }
    return {key: f'href="{reverse(name, args=[protocol.pk])}"' in html for key, name in names.items()}


def test_a_radiologist_gets_read_agreement_and_labels(protocol, radiologist, client_for):
    assert _links(client_for(radiologist), protocol) == {"read": True, "adjudication": False, "agreement": True, "labels": True}


def test_a_curator_also_gets_adjudication(protocol, curator, client_for):
    assert _links(client_for(curator), protocol) == {"read": True, "adjudication": True, "agreement": True, "labels": True}


def test_a_data_scientist_does_not_read(protocol, scientist, client_for):
    assert _links(client_for(scientist), protocol) == {"read": False, "adjudication": False, "agreement": True, "labels": True}


def test_no_links_to_protocols_outside_the_users_scope(protocol, outsider, expired_member, client_for):
    for user in (outsider, expired_member):
        assert not any(_links(client_for(user), protocol).values())
