"""Quality samples: drawing (strata, sizes, random order), judging, and estimates by hand."""
from __future__ import annotations

import pytest
from django.urls import reverse

from annotation.audit import AUDIT_QUALITY_JUDGE
from annotation.models import QualitySample, QualitySampleItem
from annotation.selectors.quality import sample_estimates
from annotation.services.quality import quality_item_judge, quality_sample_draw
from reports.models import AccessEvent, AuditAction
from tests.annotation.quality.conftest import TEXT, span

pytestmark = pytest.mark.django_db


@pytest.fixture
def population(make_report):
    """30 positive (pleural effusion), 10 negative, 20 reports that do not mention the label."""
    neg = span(TEXT, "pleural effusion", ["NEGATED_EXISTENCE"])
    pos = [make_report("positive", 0.9) for _ in range(30)]
    negs = [make_report("negative", 0.03, evidence=[neg]) for _ in range(10)]
    absent = [make_report(None) for _ in range(20)]
    return pos, negs, absent


def test_a_draw_stratifies_by_value_and_phrase_and_stores_weights(protocol, label, curator, population):
    sample = quality_sample_draw(protocol=protocol, label=label, actor=curator, target_width=0.3, seed=1)
    assert sample.population == 60
    assert sample.strata == {
        # per value n0 = 1.96^2 / 4 / 0.15^2 = 42.68, then n0 / (1 + (n0 - 1) / N) rounded up:
        # N = 30 -> 17.86 -> 18; N = 10 -> 8.26 -> 9; N = 20 -> 13.84 -> 14
        "positive|pleural effusion": [30, 18],
        "negative|pleural effusion": [10, 9],
        "absent|": [20, 14],
    }
    items = list(sample.items.all())
    assert len(items) == 41
    assert sorted(i.position for i in items) == list(range(41))
    assert {i.predicted for i in items} == {"positive", "negative", "absent"}
    assert all(i.predicted_p is None for i in items if i.predicted == "absent")
    # random order, not grouped by stratum
    assert [i.stratum for i in items] != sorted(i.stratum for i in items)


def test_the_same_seed_draws_the_same_sample(protocol, label, curator, population):
    a = quality_sample_draw(protocol=protocol, label=label, actor=curator, target_width=0.3, seed=42)
    b = quality_sample_draw(protocol=protocol, label=label, actor=curator, target_width=0.3, seed=42)
    assert list(a.items.values_list("report_id", flat=True)) == list(b.items.values_list("report_id", flat=True))


def test_estimates_weight_each_stratum_back_to_the_population(protocol, label, curator, make_report):
    for _ in range(8):
        make_report("positive", 0.9)
    for _ in range(2):
        make_report(None)
    # a 10-point width asks for n0 = 384 per value: all of each small stratum
    sample = quality_sample_draw(protocol=protocol, label=label, actor=curator, target_width=0.1, seed=3)
    assert sample.strata == {"positive|pleural effusion": [8, 8], "absent|": [2, 2]}
    items = list(sample.items.order_by("position"))
    positives = [i for i in items if i.predicted == "positive"]
    absents = [i for i in items if i.predicted == "absent"]
    for item in positives[:6]:
        quality_item_judge(item=item, value="positive", actor=curator)
    for item in positives[6:]:
        quality_item_judge(item=item, value="negative", actor=curator)
    quality_item_judge(item=absents[0], value="positive", actor=curator)  # a missed finding
    quality_item_judge(item=absents[1], value="absent", actor=curator)
    est = sample_estimates(sample)
    assert est.judged == est.size == 10
    assert est.precision["positive"].estimate == pytest.approx(6 / 8)
    assert est.precision["absent"].estimate == pytest.approx(1 / 2)
    assert est.recall["positive"].estimate == pytest.approx(6 / 7)
    assert est.accuracy.estimate == pytest.approx(7 / 10)
    assert est.confusion[("positive", "negative")] == 2
    # every stratum judged in full: no sampling variance
    assert est.precision["positive"].se == 0
    assert AccessEvent.objects.filter(action=AUDIT_QUALITY_JUDGE).count() == 10


def test_estimates_of_a_partly_judged_sample_use_the_population_weights(protocol, label, curator, population):
    sample = quality_sample_draw(protocol=protocol, label=label, actor=curator, target_width=0.3, seed=5)
    # judge every negative item right and every absent item right, positives all wrong
    for item in sample.items.all():
        quality_item_judge(item=item, value={"positive": "negative", "negative": "negative", "absent": "absent"}[item.predicted], actor=curator)
    est = sample_estimates(sample)
    # right: 10 negatives + 20 absents of 60
    assert est.accuracy.estimate == pytest.approx(30 / 60)
    assert est.precision["positive"].estimate == 0
    assert est.recall["negative"].estimate == pytest.approx(10 / 40)


def test_curator_draws_from_the_page_and_judges_by_htmx_one_item_after_another(client_for, protocol, label, curator, make_report):
    for _ in range(3):
        make_report("positive", 0.9)
    client = client_for(curator)
    page = client.get(f"{reverse('annotation:quality', args=[protocol.pk])}?label={label.pk}&width=0.3")
    assert page.status_code == 200
    assert "Draw about 3 soft labels" in page.content.decode()
    response = client.post(reverse("annotation:quality-draw", args=[protocol.pk]), {"label": label.pk, "width": "0.3"})
    sample = QualitySample.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"?sample={sample.pk}")
    first = client.get(response["Location"])
    assert first.status_code == 200
    assert "pleural effusion" in first.content.decode()
    judge_url = reverse("annotation:quality-judge", args=[protocol.pk])
    item = sample.items.get(position=0)
    answer = client.post(judge_url, {"sample": sample.pk, "item": item.pk, "value": "positive"}, HTTP_HX_REQUEST="true")
    body = answer.content.decode()
    assert answer.status_code == 200
    assert 'id="judge-panel"' in body
    assert "<html" not in body
    assert "1 of 3 judged" in body
    assert "item 2" in body
    item.refresh_from_db()
    assert item.judged_value == "positive"
    assert item.judged_by == curator
    # each item shown is one audited read of its report
    assert AccessEvent.objects.filter(action=AuditAction.REPORT_READ).count() == 2


def test_a_bad_value_is_refused_with_the_panel(client_for, protocol, label, curator, make_report):
    make_report("positive", 0.9)
    sample = quality_sample_draw(protocol=protocol, label=label, actor=curator, target_width=0.3, seed=1)
    item = sample.items.get()
    response = client_for(curator).post(
        reverse("annotation:quality-judge", args=[protocol.pk]), {"sample": sample.pk, "item": item.pk, "value": "maybe"}
    )
    assert response.status_code == 400
    assert QualitySampleItem.objects.get().judged_value == ""


def test_data_scientist_sees_the_estimates_but_may_not_draw_or_judge(client_for, protocol, label, scientist, make_report):
    make_report("positive", 0.9)
    client = client_for(scientist)
    page = client.get(f"{reverse('annotation:quality', args=[protocol.pk])}?label={label.pk}")
    assert page.status_code == 200
    assert "Curators draw and judge samples" in page.content.decode()
    assert client.post(reverse("annotation:quality-draw", args=[protocol.pk]), {"label": label.pk, "width": "0.3"}).status_code == 404
    assert not QualitySample.objects.exists()


def test_a_sample_of_another_protocol_is_404(client_for, protocol, other_protocol, label, curator, make_report):
    from tests.reports.factories import MembershipFactory

    make_report("positive", 0.9)
    sample = quality_sample_draw(protocol=protocol, label=label, actor=curator, target_width=0.3, seed=1)
    MembershipFactory(user=curator, protocol=other_protocol, role="curator")
    url = f"{reverse('annotation:quality-judge', args=[other_protocol.pk])}?sample={sample.pk}"
    assert client_for(curator).get(url).status_code == 404


def test_a_large_protocol_draws_in_a_job_that_the_worker_body_completes(client_for, protocol, label, curator, make_report, monkeypatch, django_capture_on_commit_callbacks):
    from annotation.services import quality as quality_service
    from annotation.tasks import _quality_sample_body
    from reports.jobs.runner import run_job
    from reports.models import Job, JobStatus

    for _ in range(3):
        make_report("positive", 0.9)
    monkeypatch.setattr(quality_service, "INLINE_DRAW_LIMIT", 2)
    sent: list[int] = []
    monkeypatch.setattr("reports.services.jobs.job_enqueue", lambda job_id, kind: sent.append(job_id))
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(curator).post(reverse("annotation:quality-draw", args=[protocol.pk]), {"label": label.pk, "width": "0.3"})
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:job-detail", args=[job.pk])
    assert sent == [job.pk]
    assert not QualitySample.objects.exists()
    run_job(job.pk, _quality_sample_body)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    sample = QualitySample.objects.get()
    assert job.result["sample"] == sample.pk
    assert sample.created_by == curator
    assert sample.items.count() == 3
