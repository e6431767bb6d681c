"""Cohort pages: list, new (with the live count), detail with its chart, and who may see them."""
from __future__ import annotations

import pytest
from django.urls import reverse

from training.models import Cohort

pytestmark = pytest.mark.django_db


def form(**extra):
    return {"name": "page", "labels": ["Cardiomegaly", "Edema"], "source": "confirmed", "uncertain": "u-ignore",
            "agreement": "any", "seed": "3", **extra}


def test_scientist_freezes_from_the_form_and_lands_on_the_detail(client_for, protocol, confirmed, scientist):
    client = client_for(scientist)
    page = client.get(reverse("training:cohort-new", args=[protocol.pk]))
    assert page.status_code == 200
    assert b"Pleural Effusion" in page.content
    response = client.post(reverse("training:cohort-new", args=[protocol.pk]), form())
    cohort = Cohort.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("training:cohort-detail", args=[cohort.pk])
    detail = client.get(response["Location"]).content.decode()
    assert cohort.sha256 in detail
    assert "<svg" in detail
    assert "Cardiomegaly" in detail
    assert "?format=jsonl" in detail
    assert "?format=csv" in detail
    listing = client.get(reverse("training:cohort-list", args=[protocol.pk])).content.decode()
    assert "page" in listing
    assert "v1" in listing
    assert "page" in client.get(reverse("training:cohort-index")).content.decode()


def test_a_large_cohort_from_the_form_goes_to_its_freeze_job(client_for, protocol, confirmed, scientist, settings):
    # Above the inline limit the freeze is a job: the form answers with the job's progress page.
    from reports.models import Job

    settings.COHORT_INLINE_STUDIES = 0
    response = client_for(scientist).post(reverse("training:cohort-new", args=[protocol.pk]), form())
    job = Job.objects.get(kind="cohort_freeze")
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:job-detail", args=[job.pk])


def test_an_empty_cohort_shows_the_reason_on_the_form(client_for, protocol, labels, scientist):
    response = client_for(scientist).post(reverse("training:cohort-new", args=[protocol.pk]), form())
    assert response.status_code == 400
    assert b"No study of the protocol matches" in response.content
    assert not Cohort.objects.exists()


def test_live_count_answers_the_partial_to_htmx_and_a_page_without(client_for, protocol, confirmed, scientist):
    client = client_for(scientist)
    url = reverse("training:cohort-preview", args=[protocol.pk])
    partial = client.get(url, form(), headers={"HX-Request": "true"}).content.decode()
    assert "<strong>12</strong> of 12" in partial
    assert "<html" not in partial
    page = client.get(url, form()).content.decode()
    assert "<strong>12</strong> of 12" in page
    assert "<html" in page


@pytest.mark.parametrize("who", ["radiologist", "curator"])
def test_other_roles_get_403_and_no_nav_link(request, client_for, protocol, confirmed, scientist, who):
    client = client_for(request.getfixturevalue(who))
    assert client.get(reverse("training:cohort-list", args=[protocol.pk])).status_code == 403
    assert client.get(reverse("training:cohort-new", args=[protocol.pk])).status_code == 403
    client_for(scientist).post(reverse("training:cohort-new", args=[protocol.pk]), form())
    assert client.get(reverse("training:cohort-detail", args=[Cohort.objects.get().pk])).status_code == 403
    assert b'href="/cohorts/"' not in client.get(reverse("home")).content
    assert b'href="/cohorts/"' in client_for(scientist).get(reverse("home")).content


def test_outsiders_get_404(client_for, protocol, confirmed, scientist, outsider):
    client_for(scientist).post(reverse("training:cohort-new", args=[protocol.pk]), form())
    client = client_for(outsider)
    assert client.get(reverse("training:cohort-list", args=[protocol.pk])).status_code == 404
    assert client.get(reverse("training:cohort-detail", args=[Cohort.objects.get().pk])).status_code == 404
