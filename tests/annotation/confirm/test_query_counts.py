"""Confirm-and-next and the study page run a fixed, small number of queries (issue 4: p95 < 50 ms).

The caps count every statement pytest-django sees, savepoints of the nested transactions
included; the bench (manage.py bench_confirm) prints the same count on a real server. Adding
labels must not add queries: nothing is fetched or written per label.
"""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotation.models import LabelValue
from tests.annotation.factories import LabelFactory, SoftLabelFactory

pytestmark = pytest.mark.django_db

# Session, user, study, labels + soft labels; confirm transaction (read of the current
# confirmations, one UPDATE for version + counters, confirmation, its labels in one INSERT,
# lease release, audit row); queue transaction (held leases, candidate, slot check, lease
# upsert); next study's report, labels + soft labels, audit row; plus 4 savepoints in tests.
CONFIRM_AND_NEXT_MAX = 21
# Session, user, study + report, lease renewal, labels + soft labels, own read, previous
# study, undo candidate, audit row, and the navigation's check of the user's protocols.
READ_PAGE_MAX = 10


def _confirm_and_next(client, study):
    return client.post(
        reverse("annotation:read-confirm", args=[study.pk]), {"version": study.version, "shown_at": ""}, HTTP_HX_REQUEST="true"
    )


def _more_labels(protocol, labels, studies, n: int) -> None:
    for i in range(n):
        label = LabelFactory(schema=protocol.label_schema, name=f"Extra {i}", order=10 + i)
        for study in studies:
            SoftLabelFactory(report=study.report, label=label, value=LabelValue.POSITIVE, p=0.8, evidence=[])




def test_confirm_and_next_runs_a_fixed_number_of_queries(protocol, radiologist, labels, make_study, client_for, django_assert_max_num_queries):
    first, second, third = (make_study(informativeness=i) for i in (0.9, 0.5, 0.4))
    client = client_for(radiologist)
    client.get(reverse("annotation:read-next", args=[protocol.pk]))
    with django_assert_max_num_queries(CONFIRM_AND_NEXT_MAX) as captured:
        response = _confirm_and_next(client, first)
    assert response.status_code == 200
    assert response["HX-Push-Url"] == reverse("annotation:read-study", args=[second.pk])
    # Twelve more labels, each with a soft label: the same number of statements.
    _more_labels(protocol, labels, [second, third], 12)
    second.refresh_from_db()
    with CaptureQueriesContext(connection) as more:
        response = _confirm_and_next(client, second)
    assert response["HX-Push-Url"] == reverse("annotation:read-study", args=[third.pk])
    assert response.content.decode().count('type="radio"') == 4 * 15
    assert len(more.captured_queries) == len(captured.captured_queries)


def test_the_read_page_runs_a_fixed_number_of_queries(protocol, radiologist, labels, make_study, client_for, django_assert_max_num_queries):
    study = make_study()
    client = client_for(radiologist)
    client.get(reverse("annotation:read-study", args=[study.pk]))  # session stamp written once
    with django_assert_max_num_queries(READ_PAGE_MAX):
        assert client.get(reverse("annotation:read-study", args=[study.pk])).status_code == 200
