"""The review list: filters by value, p, phrase and disagreement; paged; scoped."""
from __future__ import annotations

import pytest
from django.urls import reverse

from tests.annotation.quality.conftest import TEXT, span

pytestmark = pytest.mark.django_db


def _ids(client, protocol, **params):
    response = client.get(reverse("annotation:review", args=[protocol.pk]), params)
    assert response.status_code == 200
    from re import findall

    return [int(i) for i in findall(r'/studies/(\d+)/"', response.content.decode())]


@pytest.fixture
def studies(make_report, label, confirm):
    pos_hi = make_report("positive", 0.95).study
    pos_lo = make_report("positive", 0.6, evidence=[span(TEXT, "effusion", nth=1)]).study
    neg = make_report("negative", 0.03, evidence=[span(TEXT, "pleural effusion", ["NEGATED_EXISTENCE"])]).study
    absent = make_report(None).study
    confirm(pos_lo, label, "negative")  # the reader disagrees with the engine
    confirm(pos_hi, label, "positive")
    confirm(absent, label, "positive", soft_p=None, soft_value=None)  # a finding the engine missed
    return {"pos_hi": pos_hi.pk, "pos_lo": pos_lo.pk, "neg": neg.pk, "absent": absent.pk}


def test_filters_narrow_the_list(client_for, protocol, label, curator, studies):
    client = client_for(curator)
    assert _ids(client, protocol, label=label.pk) == sorted([studies["pos_hi"], studies["pos_lo"], studies["neg"]])
    assert _ids(client, protocol, label=label.pk, value="positive", p_min="0.9") == [studies["pos_hi"]]
    assert _ids(client, protocol, label=label.pk, p_max="0.5") == [studies["neg"]]
    assert _ids(client, protocol, label=label.pk, phrase="Effusion") == [studies["pos_lo"]]
    assert _ids(client, protocol, label=label.pk, disagreement="1") == [studies["pos_lo"]]
    assert _ids(client, protocol, label=label.pk, value="absent") == [studies["absent"]]
    assert _ids(client, protocol, label=label.pk, value="absent", disagreement="1") == [studies["absent"]]


def test_the_list_is_paged(client_for, protocol, label, curator, make_report):
    for _ in range(53):
        make_report("positive", 0.9)
    client = client_for(curator)
    assert len(_ids(client, protocol, label=label.pk)) == 50
    assert len(_ids(client, protocol, label=label.pk, page=2)) == 3


def test_data_scientists_may_use_it_and_radiologists_may_not(client_for, protocol, label, scientist, radiologist):
    url = reverse("annotation:review", args=[protocol.pk])
    assert client_for(scientist).get(url, {"label": label.pk}).status_code == 200
    assert client_for(radiologist).get(url, {"label": label.pk}).status_code == 404


def test_queries_do_not_grow_with_the_page(client_for, protocol, label, curator, make_report, django_assert_max_num_queries):
    for _ in range(30):
        make_report("positive", 0.9)
    client = client_for(curator)
    with django_assert_max_num_queries(15):
        client.get(reverse("annotation:review", args=[protocol.pk]), {"label": label.pk})


def test_the_list_shows_p_through_the_active_calibration(client_for, protocol, label, curator, make_report):
    from annotation.models import LabelCalibration

    make_report("positive", 0.9)
    client = client_for(curator)
    url = reverse("annotation:review", args=[protocol.pk])
    assert '<td class="num">—</td>' in client.get(url, {"label": label.pk}).content.decode()
    LabelCalibration.objects.create(
        protocol=protocol, label=label, method="platt", params={"method": "platt", "a": 1.0, "b": -1.0},
        fitted_on=100, positives=50, negatives=50, held_out=20,
    )
    body = client.get(url, {"label": label.pk}).content.decode()
    assert '<td class="num">0.77</td>' in body  # sigmoid(logit(0.9) - 1)
