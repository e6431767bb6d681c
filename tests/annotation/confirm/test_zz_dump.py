from __future__ import annotations
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
pytestmark = pytest.mark.django_db

def test_dump(protocol, radiologist, make_study, client_for):
    first = make_study(informativeness=0.9)
    make_study(informativeness=0.5)
    make_study(informativeness=0.1)
    client = client_for(radiologist)
    client.get(reverse("annotation:read-next", args=[protocol.pk]))
    client.get(reverse("annotation:read-study", args=[first.pk]))
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(reverse("annotation:read-study", args=[first.pk]))
    print("GET", len(ctx.captured_queries))
    for q in ctx.captured_queries: print("  ", q["sql"][:300])
    with CaptureQueriesContext(connection) as ctx:
        r = client.post(reverse("annotation:read-confirm", args=[first.pk]), {"version": 0, "shown_at": ""}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    print("POST", len(ctx.captured_queries))
    for q in ctx.captured_queries: print("  ", q["sql"][:300])
