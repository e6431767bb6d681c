"""The image strip and slice PNGs: members see them, everyone else 404, every PNG is audited."""
from __future__ import annotations

import pytest
from django.urls import reverse

from reports.models import AccessEvent, AuditAction
from tests.reports.dicom.factories import make_imaged_study
from tests.reports.factories import ReportFactory, StudyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def imaged(protocol, dicom_storage):
    return make_imaged_study(protocol, slices=5)


def test_a_member_sees_the_strip_and_the_viewer(client_for, radiologist, imaged):
    study, series = imaged
    response = client_for(radiologist).get(reverse("reports:study-images", args=[study.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="series-thumb current"' in html
    assert f'data-count="{series.instances}"' in html
    assert reverse("reports:slice-png", args=[series.pk]) in html
    assert "Lung" in html
    assert "Brain" in html


def test_a_study_without_images_gets_an_empty_answer(client_for, radiologist, protocol):
    study = ReportFactory(study=StudyFactory(protocol=protocol)).study
    response = client_for(radiologist).get(reverse("reports:study-images", args=[study.pk]))
    assert (response.status_code, response.content) == (200, b"")


def test_a_slice_is_a_png_and_each_one_served_is_audited(client_for, radiologist, imaged):
    study, series = imaged
    client = client_for(radiologist)
    url = reverse("reports:slice-png", args=[series.pk])
    for query in ("?i=0", "?i=4&preset=lung", "?i=2&size=thumb"):
        response = client.get(url + query)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert response.content.startswith(b"\x89PNG")
    events = AccessEvent.objects.filter(action=AuditAction.IMAGE_READ)
    assert [event.detail["slice"] for event in events.order_by("id")] == [0, 4, 2]
    assert {event.object_id for event in events} == {str(study.pk)}


def test_presets_render_differently_and_are_cached(client_for, radiologist, imaged, settings):
    _, series = imaged
    client = client_for(radiologist)
    url = reverse("reports:slice-png", args=[series.pk])
    lung, bone = client.get(url + "?i=1&preset=lung").content, client.get(url + "?i=1&preset=bone").content
    assert lung != bone
    assert len(list(settings.IMAGE_CACHE_DIR.rglob("*.png"))) == 2
    assert client.get(url + "?i=1&preset=lung").content == lung


@pytest.mark.parametrize("query", ["?i=5", "?i=-1", "?preset=rainbow", "?size=huge", "?i=x"])
def test_bad_slice_requests_are_404(client_for, radiologist, imaged, query):
    _, series = imaged
    response = client_for(radiologist).get(reverse("reports:slice-png", args=[series.pk]) + query)
    assert response.status_code == 404


def test_another_protocol_member_gets_404(client_for, outsider, imaged):
    study, series = imaged
    client = client_for(outsider)
    assert client.get(reverse("reports:slice-png", args=[series.pk])).status_code == 404
    assert client.get(reverse("reports:study-images", args=[study.pk])).status_code == 404
    assert not AccessEvent.objects.filter(action=AuditAction.IMAGE_READ).exists()


def test_the_study_api_lists_the_series(client_for, radiologist, imaged):
    study, series = imaged
    data = client_for(radiologist).get(f"/api/v1/studies/{study.pk}/").json()
    assert data["series"] == [{
        "id": series.pk, "series_instance_uid": series.series_instance_uid, "modality": "CT", "manufacturer": "ACME",
        "model": "Scanner 9", "software_versions": "1.0", "description": "Synthetic", "instances": 5,
    }]
