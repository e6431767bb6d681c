"""The quality page's overview per label, and repeat draws that return the pending sample."""
from __future__ import annotations

import pytest
from django.urls import reverse

from annotation.models import QualitySample
from annotation.services.quality import quality_item_judge
from reports.models import Job
from tests.annotation.factories import LabelFactory
from tests.annotation.quality.conftest import label, make_report  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def _draw(client, protocol, of, width: str = "0.1"):
    return client.post(reverse("annotation:quality-draw", args=[protocol.pk]), {"label": of.pk, "width": width})


@pytest.fixture
def judged(client_for, protocol, label, curator, make_report):  # noqa: F811
    """4 positive and 2 unmentioned reports; a 10-point sample takes them all. A curator finds one
    positive wrong (negative) and the rest right: precision 3/4, recall 3/3, accuracy 5/6."""
    for _ in range(4):
        make_report("positive", 0.9)
    for _ in range(2):
        make_report(None)
    _draw(client_for(curator), protocol, label)
    sample = QualitySample.objects.get()
    wrong = sample.items.filter(predicted="positive").order_by("position").first()
    for item in sample.items.all():
        quality_item_judge(item=item, value="negative" if item == wrong else item.predicted, actor=curator)
    return sample


def test_without_a_label_the_page_shows_each_labels_latest_estimates(client_for, protocol, label, curator, judged):  # noqa: F811
    other = LabelFactory(schema=label.schema, name="Pneumothorax", order=1)

    response = client_for(curator).get(reverse("annotation:quality", args=[protocol.pk]))

    body = response.content.decode()
    rows = {row.label.name: row for row in response.context["overview"]}
    assert rows["Effusion"].sample == judged
    assert rows["Effusion"].estimates.precision["positive"].estimate == pytest.approx(3 / 4)
    assert rows["Effusion"].estimates.recall["positive"].estimate == pytest.approx(1.0)
    assert rows["Effusion"].estimates.accuracy.estimate == pytest.approx(5 / 6)
    assert "75% (" in body
    assert "4 judged" in body
    assert "83% (" in body
    assert rows["Pneumothorax"].sample is None
    assert "No sample yet" in body
    assert f'name="label" value="{other.pk}"' in body  # its draw button
    assert "data-submit-once" in body


def test_a_data_scientist_sees_the_overview_without_draw_buttons(client_for, protocol, label, scientist, curator, judged):  # noqa: F811
    LabelFactory(schema=label.schema, name="Pneumothorax", order=1)
    body = client_for(scientist).get(reverse("annotation:quality", args=[protocol.pk])).content.decode()
    assert "75% (" in body
    assert "No sample yet" in body
    assert reverse("annotation:quality-draw", args=[protocol.pk]) not in body


def test_a_repeat_draw_returns_the_unjudged_sample_until_one_item_is_judged(client_for, protocol, label, curator, make_report):  # noqa: F811
    for _ in range(3):
        make_report("positive", 0.9)
    client = client_for(curator)
    first = _draw(client, protocol, label)
    again = _draw(client, protocol, label)

    sample = QualitySample.objects.get()
    assert first["Location"] == again["Location"]
    assert again["Location"].endswith(f"?sample={sample.pk}")

    _draw(client, protocol, label, width="0.3")  # other settings: a sample of their own
    assert QualitySample.objects.count() == 2

    quality_item_judge(item=sample.items.first(), value="positive", actor=curator)
    _draw(client, protocol, label)  # the pending one is under way: a fresh draw is allowed
    assert QualitySample.objects.filter(target_width=0.1).count() == 2


def test_a_repeat_draw_on_a_large_protocol_returns_the_queued_job(client_for, protocol, label, curator, make_report, monkeypatch):  # noqa: F811
    from annotation.services import quality as quality_service

    for _ in range(3):
        make_report("positive", 0.9)
    monkeypatch.setattr(quality_service, "INLINE_DRAW_LIMIT", 2)
    monkeypatch.setattr("reports.services.jobs.job_enqueue", lambda job_id, kind: None)
    client = client_for(curator)

    first, again = _draw(client, protocol, label), _draw(client, protocol, label)

    job = Job.objects.get()
    assert first["Location"] == again["Location"] == reverse("reports:job-detail", args=[job.pk])
    assert not QualitySample.objects.exists()
