"""The cohort page's images card, the Convert images button and the NIfTI manifest download."""
from __future__ import annotations

import csv
import hashlib
import io
import json

import pytest
from django.urls import reverse

from reports.jobs.runner import run_job
from reports.models import AccessEvent, Job
from tests.training.cohorts.images import dicom_storage, images_cohort  # noqa: F401
from training.models import CohortStudy
from training.selectors.cohorts import MANIFEST_FIELDS
from training.services.cohort_images import (
    COHORT_IMAGES_JOB,
    cohort_images_job,
    cohort_images_request,
    cohort_volumes,
    cohort_volumes_convert,
)
from training.services.cohorts import COHORT_EXPORT_ACTION

pytestmark = pytest.mark.django_db


def _manifest(client, cohort, fmt="nifti-manifest", url="training:cohort-export"):
    response = client.get(reverse(url, args=[cohort.pk]), {"format": fmt})
    assert response.status_code == 200
    return response, b"".join(response.streaming_content).decode()


def test_the_page_offers_to_convert_until_the_images_are_converted(client_for, scientist, cohort):
    client = client_for(scientist)
    convert = reverse("training:cohort-images-convert", args=[cohort.pk])
    page = client.get(reverse("training:cohort-detail", args=[cohort.pk])).content.decode()
    assert f'action="{convert}"' in page
    assert "nifti-manifest" not in page
    run_job(cohort_images_request(cohort=cohort, actor=scientist).pk, cohort_images_job)
    page = client.get(reverse("training:cohort-detail", args=[cohort.pk])).content.decode()
    # The series with a missing slice was refused: listed with its reason, not converted again
    # unless asked to ("Retry refused").
    assert "Convert images" not in page
    assert 'name="retry_refused" value="1"' in page
    assert "?format=nifti-manifest" in page
    assert "Missing slices" in page
    assert "9 studies have no DICOM images." in page  # counted, not listed
    # The card htmx swaps in when the job ends carries the same links.
    card = client.get(reverse("training:cohort-detail", args=[cohort.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert "?format=nifti-manifest-csv" in card


def test_convert_starts_one_job_and_the_card_shows_its_progress(client_for, scientist, cohort):
    client = client_for(scientist)
    response = client.post(reverse("training:cohort-images-convert", args=[cohort.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("training:cohort-detail", args=[cohort.pk])
    client.post(reverse("training:cohort-images-convert", args=[cohort.pk]))
    job = Job.objects.get(kind=COHORT_IMAGES_JOB)
    assert job.params == {"cohort": cohort.pk}
    card = client.get(reverse("training:cohort-detail", args=[cohort.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert card.lstrip().startswith('<section class="card" id="cohort-images"')
    assert "<progress" in card
    assert 'hx-trigger="every 2s"' in card


def test_convert_refuses_get(client_for, scientist, cohort):
    assert client_for(scientist).get(reverse("training:cohort-images-convert", args=[cohort.pk])).status_code == 405


def test_the_manifest_lists_path_label_vector_split_and_file_hash(client_for, scientist, cohort, confirmed):
    cohort_volumes_convert(cohort)
    response, body = _manifest(client_for(scientist), cohort)
    rows = [json.loads(line) for line in body.splitlines()]
    assert [r["study"] for r in rows] == sorted(s.pk for s in confirmed[:2])
    frozen = {r.study_id: r for r in CohortStudy.objects.filter(cohort=cohort)}
    by_study = {v.study_id: v for v in cohort_volumes(cohort)}
    for row in rows:
        assert set(row) == {*MANIFEST_FIELDS, "labels"}
        assert row["path"] == f"nifti/cohort-{cohort.pk}/{row['study']}.nii.gz"
        assert row["labels"] == [frozen[row["study"]].targets[name] for name in cohort.labels]
        assert row["split"] == frozen[row["study"]].split
        assert row["sha256"] == hashlib.sha256(by_study[row["study"]].path.read_bytes()).hexdigest()
    # Pseudonymised ids only: no accession or patient of the study in the file.
    assert confirmed[0].accession not in body
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Disposition"] == f'attachment; filename="cohort-{cohort.pk}-v1-nifti.jsonl"'


def test_the_csv_manifest_has_a_column_per_label(client_for, scientist, cohort):
    cohort_volumes_convert(cohort)
    _, body = _manifest(client_for(scientist), cohort, "nifti-manifest-csv")
    table = list(csv.reader(io.StringIO(body)))
    assert table[0] == [*MANIFEST_FIELDS, *cohort.labels]
    assert len(table) == 3
    targets = CohortStudy.objects.get(cohort=cohort, study_id=int(table[1][0])).targets
    assert table[1][len(MANIFEST_FIELDS):] == ["" if targets[n] is None else str(targets[n]) for n in cohort.labels]


def test_each_manifest_download_is_audited_once(client_for, scientist, cohort):
    cohort_volumes_convert(cohort)
    before = AccessEvent.objects.filter(action=COHORT_EXPORT_ACTION).count()
    _manifest(client_for(scientist), cohort)
    _manifest(client_for(scientist), cohort, url="api-cohort-export")
    events = AccessEvent.objects.filter(action=COHORT_EXPORT_ACTION).order_by("pk")
    assert events.count() == before + 2
    assert [e.detail["format"] for e in events][-2:] == ["nifti-manifest", "nifti-manifest"]


@pytest.mark.parametrize("who", ["radiologist", "curator"])
def test_other_roles_get_403(request, client_for, cohort, who):
    client = client_for(request.getfixturevalue(who))
    assert client.post(reverse("training:cohort-images-convert", args=[cohort.pk])).status_code == 403
    assert client.get(reverse("training:cohort-export", args=[cohort.pk]), {"format": "nifti-manifest"}).status_code == 403
    assert client.get(reverse("api-cohort-export", args=[cohort.pk]), {"format": "nifti-manifest"}).status_code == 403
    assert not Job.objects.filter(kind=COHORT_IMAGES_JOB).exists()


def test_outsiders_get_404_and_nothing_is_audited(client_for, cohort, outsider):
    client = client_for(outsider)
    before = AccessEvent.objects.filter(action=COHORT_EXPORT_ACTION).count()
    assert client.post(reverse("training:cohort-images-convert", args=[cohort.pk])).status_code == 404
    assert client.get(reverse("training:cohort-export", args=[cohort.pk]), {"format": "nifti-manifest"}).status_code == 404
    assert client.get(reverse("api-cohort-export", args=[cohort.pk]), {"format": "nifti-manifest"}).status_code == 404
    assert AccessEvent.objects.filter(action=COHORT_EXPORT_ACTION).count() == before
    assert not Job.objects.filter(kind=COHORT_IMAGES_JOB).exists()
