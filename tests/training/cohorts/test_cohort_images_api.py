"""POST /api/v1/cohorts/{id}/images/: the API twin of "Convert images", and "Retry refused"
(API parameter and page button) for studies whose last conversion was refused."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from reports.jobs.runner import run_job
from reports.models import AccessEvent, DicomInstance, Job
from tests.training.cohorts.images import dicom_storage, images_cohort  # noqa: F401
from training.models import CohortVolume
from training.services.cohort_images import (
    COHORT_IMAGES_ACTION,
    COHORT_IMAGES_JOB,
    cohort_images_job,
    cohort_images_status,
)

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def url(cohort) -> str:
    return f"/api/v1/cohorts/{cohort.pk}/images/"


def run(job_id: int) -> Job:
    run_job(job_id, cohort_images_job)
    return Job.objects.get(pk=job_id)


def audited(cohort) -> list[dict]:
    """The cohort's conversion audit rows, oldest first."""
    events = AccessEvent.objects.filter(action=COHORT_IMAGES_ACTION, object_id=str(cohort.pk)).order_by("pk")
    return list(events.values("username", "channel", "detail"))


def test_post_starts_the_conversion_job_and_points_at_it(scientist, cohort):
    client = api(scientist)
    response = client.post(url(cohort), format="json")
    assert response.status_code == 202, response.content
    job_id = response.json()["job"]
    assert response.json() == {"job": job_id, "status": "queued"}
    job = Job.objects.get(pk=job_id)
    assert (job.kind, job.params, job.created_by) == (COHORT_IMAGES_JOB, {"cohort": cohort.pk}, scientist)
    assert client.get(f"/api/v1/jobs/{job_id}/").json()["status"] == "queued"
    assert audited(cohort) == [{"username": scientist.username, "channel": "api",
                                "detail": {"cohort": cohort.pk, "job": job_id, "retry_refused": False}}]


def test_a_second_post_while_it_is_queued_returns_the_same_job_and_audits_once(scientist, cohort):
    first = api(scientist).post(url(cohort)).json()["job"]
    second = api(scientist).post(url(cohort), {"retry_refused": True}, format="json")
    assert (second.status_code, second.json()["job"]) == (202, first)
    assert Job.objects.filter(kind=COHORT_IMAGES_JOB).count() == 1
    assert len(audited(cohort)) == 1


def test_when_everything_is_converted_it_answers_200_without_a_job(scientist, cohort):
    run(api(scientist).post(url(cohort)).json()["job"])
    response = api(scientist).post(url(cohort))
    assert response.status_code == 200
    assert response.json() == {"job": None, "detail": "Every study of this cohort that has images is converted already."}
    assert Job.objects.filter(kind=COHORT_IMAGES_JOB).count() == 1


@pytest.mark.parametrize("who", ["radiologist", "curator"])
def test_other_roles_of_the_protocol_get_403(request, cohort, who):
    assert api(request.getfixturevalue(who)).post(url(cohort)).status_code == 403
    assert not Job.objects.filter(kind=COHORT_IMAGES_JOB).exists()


@pytest.mark.parametrize("who", ["outsider", "expired_member", "admin_user"])
def test_outside_the_protocol_it_is_404(request, cohort, who):
    assert api(request.getfixturevalue(who)).post(url(cohort)).status_code == 404
    assert not Job.objects.filter(kind=COHORT_IMAGES_JOB).exists()


def test_anonymous_is_refused_and_get_is_not_allowed(scientist, cohort):
    assert APIClient().post(url(cohort)).status_code in (401, 403)
    assert api(scientist).get(url(cohort)).status_code == 405
    assert not Job.objects.filter(kind=COHORT_IMAGES_JOB).exists()


def test_a_bad_retry_flag_is_400(scientist, cohort):
    response = api(scientist).post(url(cohort), {"retry_refused": "perhaps"}, format="json")
    assert response.status_code == 400
    assert "retry_refused" in response.json()


def _hide_one_stored_file(study, storage):
    """Move one stored instance of the study away, as an unmounted share would; return the undo."""
    path = storage / DicomInstance.objects.filter(series__dicom_study__study=study).order_by("id").values_list(
        "path", flat=True).first()
    hidden = path.with_name(path.name + ".away")
    path.rename(hidden)
    return lambda: hidden.rename(path)


def test_a_refused_study_is_retried_only_when_asked_and_converts_once_its_files_are_back(
    scientist, cohort, confirmed, dicom_storage  # noqa: F811
):
    restore = _hide_one_stored_file(confirmed[0], dicom_storage / str(cohort.protocol_id))
    first = run(api(scientist).post(url(cohort)).json()["job"])
    assert first.result["converted"] == 1
    assert "stored file(s) missing" in first.result["skipped"][str(confirmed[0].pk)]
    # Refused: a plain request does not try again.
    assert api(scientist).post(url(cohort)).json()["job"] is None
    restore()

    response = api(scientist).post(url(cohort), {"retry_refused": True}, format="json")
    assert response.status_code == 202
    retry = run(response.json()["job"])
    assert retry.params == {"cohort": cohort.pk, "retry_refused": True}
    assert (retry.result["converted"], retry.result["existing"]) == (1, 1)
    assert str(confirmed[0].pk) not in retry.result["skipped"]
    assert CohortVolume.objects.filter(cohort=cohort, study=confirmed[0]).exists()
    # The series with a missing slice is refused again, with the same reason: nothing else moved.
    assert retry.result["skipped"][str(confirmed[2].pk)] == first.result["skipped"][str(confirmed[2].pk)]
    assert [event["detail"]["retry_refused"] for event in audited(cohort)] == [False, True]


def test_retrying_what_stays_refused_changes_nothing(scientist, cohort, confirmed):
    run(api(scientist).post(url(cohort)).json()["job"])
    volumes = list(CohortVolume.objects.filter(cohort=cohort).values_list("study_id", "sha256"))
    again = run(api(scientist).post(url(cohort), {"retry_refused": True}, format="json").json()["job"])
    assert (again.result["converted"], again.result["existing"]) == (0, 2)
    assert str(confirmed[2].pk) in again.result["skipped"]
    assert list(CohortVolume.objects.filter(cohort=cohort).values_list("study_id", "sha256")) == volumes
    # Still refused, so the page keeps offering the retry rather than "Convert images".
    status = cohort_images_status(cohort)
    assert status.retryable
    assert not status.pending


def test_the_page_retry_button_queues_a_retry_and_is_audited(client_for, scientist, cohort):
    client = client_for(scientist)
    convert = reverse("training:cohort-images-convert", args=[cohort.pk])
    client.post(convert)
    run(Job.objects.get(kind=COHORT_IMAGES_JOB).pk)
    page = client.get(reverse("training:cohort-detail", args=[cohort.pk])).content.decode()
    assert "Retry refused" in page

    response = client.post(convert, {"retry_refused": "1"})
    assert response.status_code == 302
    retry = Job.objects.filter(kind=COHORT_IMAGES_JOB).order_by("-pk").first()
    assert retry.params == {"cohort": cohort.pk, "retry_refused": True}
    assert [(event["channel"], event["detail"]["retry_refused"]) for event in audited(cohort)] == [
        ("page", False), ("page", True)]
    card = client.get(reverse("training:cohort-detail", args=[cohort.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert "Retry refused" not in card  # running: the card shows its progress instead
    assert "<progress" in card


def test_the_operation_is_in_the_openapi_schema(client_for, scientist):
    schema = client_for(scientist).get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/cohorts/{cohort_id}/images/"]["post"]
    assert operation["operationId"] == "cohort_images_convert"
    assert {"200", "202", "403", "404"} <= set(operation["responses"])


def test_anonymous_page_post_goes_to_login(cohort):
    assert Client().post(reverse("training:cohort-images-convert", args=[cohort.pk])).status_code == 302
