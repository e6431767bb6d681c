"""A real Celery worker converts a cohort's images: started through the API, the worker reads the
DICOM this process imported (a shared RADLABEL_TEST_FILES_DIR) and writes the volumes the
manifest lists, byte for byte what converting in this process gives."""
from __future__ import annotations

import hashlib
import json

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from reports.models import JobStatus
from tests.training.cohorts.images import import_broken, import_series
from tests.training.jobs.worker_support import (  # noqa: F401  (broker_env: a fixture)
    broker_env,
    finished_job,
    start_worker,
    stop_worker,
)
from training.models import CohortVolume
from training.services.cohort_images import series_nifti
from training.services.cohorts import cohort_freeze, cohort_spec_build

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def worker(tmp_path_factory, django_db_setup, broker_env):  # noqa: F811
    # The worker's own settings module would pick a folder of its own pid: name this process's.
    process = start_worker(
        tmp_path_factory.mktemp("images-var"), broker_env, "images-test",
        RADLABEL_TEST_FILES_DIR=str(settings.TEST_FILES_DIR),
    )
    yield process
    stop_worker(process)


def test_a_worker_converts_the_cohort_images_and_the_manifest_lists_them(worker, protocol, scientist, confirmed):
    import_series(confirmed[0])
    import_series(confirmed[1], shape=(6, 5, 7))
    import_broken(confirmed[2])
    cohort = cohort_freeze(spec=cohort_spec_build(protocol=protocol, data={"name": "worker"}), actor=scientist)
    client = APIClient()
    client.force_authenticate(scientist)

    response = client.post(f"/api/v1/cohorts/{cohort.pk}/images/", format="json")
    assert response.status_code == 202, response.content
    job = finished_job(response.json()["job"], worker)
    assert job.status == JobStatus.SUCCEEDED, (job.message, worker.log_path.read_text()[-2000:])
    assert client.get(f"/api/v1/jobs/{job.pk}/").json()["status"] == "succeeded"
    assert (job.result["converted"], job.result["existing"]) == (2, 0)
    assert "Missing slices" in job.result["skipped"][str(confirmed[2].pk)]

    export = client.get(f"/api/v1/cohorts/{cohort.pk}/export/", {"format": "nifti-manifest"})
    rows = [json.loads(line) for line in b"".join(export.streaming_content).decode().splitlines()]
    assert [row["study"] for row in rows] == sorted([confirmed[0].pk, confirmed[1].pk])
    storage = settings.DICOM_STORAGE_DIR / str(protocol.pk)
    for row in rows:
        volume = CohortVolume.objects.select_related("series").get(cohort=cohort, study_id=row["study"])
        written = (storage / row["path"]).read_bytes()
        assert hashlib.sha256(written).hexdigest() == row["sha256"] == volume.sha256
        # The worker's bytes are the ones this process makes from the same stored series.
        assert series_nifti(volume.series, storage)[0] == written
        assert row["series_uid"] == volume.series.series_instance_uid
    assert [CohortVolume.objects.get(cohort=cohort, study=confirmed[1]).shape] == [[6, 5, 7]]
