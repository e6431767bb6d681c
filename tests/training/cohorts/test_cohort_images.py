"""Cohort images: NIfTI volumes per cohort study, idempotent and reproducible, with skip reasons."""
from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from django.db import DatabaseError, connection, transaction

from reports.dicom.nifti import dicom_to_nifti
from reports.jobs.runner import run_job
from reports.models import Job, JobStatus
from reports.services.dicom import dicom_storage_dir
from tests.training.cohorts.images import (
    SHAPE,
    dicom_storage,  # noqa: F401  (fixture)
    import_broken,
    import_projection,
    import_series,
)
from training.models import CohortImmutable, CohortStudy, CohortVolume
from training.services.cohort_images import (
    COHORT_IMAGES_JOB,
    VolumeRow,
    cohort_images_job,
    cohort_images_request,
    cohort_volume_relpath,
    cohort_volumes,
    cohort_volumes_convert,
)
from training.services.cohorts import cohort_freeze, cohort_spec_build

pytestmark = pytest.mark.django_db


def _freeze(protocol, scientist, name="images"):
    return cohort_freeze(spec=cohort_spec_build(protocol=protocol, data={"name": name, "seed": 1}), actor=scientist)


@pytest.fixture
def imaged(confirmed, dicom_storage):  # noqa: F811
    """Studies 0 and 1: a CT volume; 2: a projection X-ray; 3: a series with a missing slice."""
    import_series(confirmed[0])
    import_series(confirmed[1], slice_spacing=3.0)
    import_projection(confirmed[2])
    import_broken(confirmed[3])
    return confirmed


@pytest.fixture
def cohort(protocol, scientist, imaged):
    return _freeze(protocol, scientist)


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_it_converts_each_imaged_study_and_lists_its_labels_split_and_hash(cohort, imaged):
    summary = cohort_volumes_convert(cohort)
    assert summary["converted"] == 3
    rows = cohort_volumes(cohort)
    assert [row.study_id for row in rows] == sorted(s.pk for s in imaged[:3])
    frozen = {row.study_id: row for row in CohortStudy.objects.filter(cohort=cohort)}
    for row in rows:
        assert isinstance(row, VolumeRow)
        assert row.path.is_absolute()
        assert row.path == dicom_storage_dir(cohort.protocol) / cohort_volume_relpath(cohort, row.study_id)
        assert row.sha256 == _sha256(row.path)
        assert row.labels == [frozen[row.study_id].targets[name] for name in cohort.labels]
        assert row.split == frozen[row.study_id].split
    # The uncertain policy's "no target" stays None in the vector (U-Ignore by default).
    assert None in [label for row in rows for label in row.labels]


def test_the_volume_has_the_series_voxels_and_spacing(cohort, imaged):
    cohort_volumes_convert(cohort)
    row = next(r for r in cohort_volumes(cohort) if r.study_id == imaged[0].pk)
    image = nib.load(row.path)
    assert image.shape == SHAPE
    assert np.allclose(image.header.get_zooms(), (0.7, 0.8, 2.5))
    # synthetic voxel value 100*slice + 10*row + column, stored with the series' -1024 intercept
    data = np.asarray(image.dataobj)
    assert data[2, 3, 1] == 100 * 1 + 10 * 3 + 2 - 1024
    volume = CohortVolume.objects.get(cohort=cohort, study=imaged[0])
    assert volume.shape == list(SHAPE)
    assert volume.spacing == pytest.approx([0.7, 0.8, 2.5])


def test_the_volume_is_what_the_dicom_to_nifti_command_writes(cohort, imaged, tmp_path):
    cohort_volumes_convert(cohort)
    volume = CohortVolume.objects.select_related("series").get(cohort=cohort, study=imaged[0])
    storage = dicom_storage_dir(cohort.protocol)
    folder = storage / Path(volume.series.instance_files.first().path).parent
    dicom_to_nifti(folder, tmp_path / "command.nii")
    assert gzip.decompress((storage / volume.relpath).read_bytes()) == (tmp_path / "command.nii").read_bytes()


def test_a_projection_xray_becomes_a_one_slice_volume(cohort, imaged):
    cohort_volumes_convert(cohort)
    row = next(r for r in cohort_volumes(cohort) if r.study_id == imaged[2].pk)
    image = nib.load(row.path)
    assert image.shape == (7, 9, 1)
    assert np.allclose(image.header.get_zooms()[:2], (0.15, 0.15))


def test_studies_that_cannot_be_converted_are_skipped_with_the_reason(cohort, imaged):
    summary = cohort_volumes_convert(cohort)
    reason = summary["skipped"][imaged[3].pk]
    assert reason.startswith("Series ")  # the pseudonymised series UID, then the inconsistency
    assert "Missing slices" in reason
    assert {study.pk for study in imaged[4:]} <= set(summary["skipped"])
    assert summary["skipped"][imaged[4].pk] == "No DICOM images"
    assert len(summary["skipped"]) == len(imaged) - 3
    assert not CohortVolume.objects.filter(cohort=cohort, study=imaged[3]).exists()


def test_converting_again_changes_nothing(cohort):
    cohort_volumes_convert(cohort)
    before = {row.study_id: (row.sha256, row.path.stat().st_mtime_ns) for row in cohort_volumes(cohort)}
    summary = cohort_volumes_convert(cohort)
    assert summary["converted"] == 0
    assert summary["existing"] == 3
    after = {row.study_id: (row.sha256, row.path.stat().st_mtime_ns) for row in cohort_volumes(cohort)}
    assert after == before
    assert CohortVolume.objects.filter(cohort=cohort).count() == 3


def test_a_lost_file_is_written_again_with_the_same_bytes(cohort):
    cohort_volumes_convert(cohort)
    row = cohort_volumes(cohort)[0]
    row.path.unlink()
    summary = cohort_volumes_convert(cohort)
    assert summary["existing"] == 3
    assert _sha256(row.path) == row.sha256


def test_another_version_of_the_cohort_gets_the_same_bytes(protocol, scientist, cohort):
    second = _freeze(protocol, scientist)
    cohort_volumes_convert(cohort)
    cohort_volumes_convert(second)
    first_rows, second_rows = cohort_volumes(cohort), cohort_volumes(second)
    assert [r.sha256 for r in first_rows] == [r.sha256 for r in second_rows]
    assert {r.path for r in first_rows}.isdisjoint({r.path for r in second_rows})


def test_the_study_s_largest_series_is_converted(protocol, scientist, confirmed, dicom_storage):  # noqa: F811
    import_series(confirmed[0], shape=(6, 5, 1))  # a one-slice scout
    import_series(confirmed[0], shape=(6, 5, 3))
    cohort = _freeze(protocol, scientist)
    cohort_volumes_convert(cohort)
    volume = CohortVolume.objects.select_related("series").get(cohort=cohort, study=confirmed[0])
    assert volume.series.instances == 3
    assert volume.shape == [6, 5, 3]


def test_volume_rows_cannot_be_changed(cohort):
    cohort_volumes_convert(cohort)
    volume = CohortVolume.objects.filter(cohort=cohort).first()
    volume.sha256 = "0" * 64
    with pytest.raises(CohortImmutable):
        volume.save()
    with pytest.raises(CohortImmutable):
        CohortVolume.objects.filter(cohort=cohort).update(sha256="0" * 64)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE training_cohortvolume SET sha256 = 'x' WHERE cohort_id = %s", [cohort.pk])
    assert CohortVolume.objects.get(pk=volume.pk).sha256 != "0" * 64


def test_the_job_converts_and_reports_progress_and_skips(cohort, scientist, imaged):
    job = cohort_images_request(cohort=cohort, actor=scientist)
    assert job.kind == COHORT_IMAGES_JOB
    # A second request while it is queued finds the same job.
    assert cohort_images_request(cohort=cohort, actor=scientist) == job
    run_job(job.pk, cohort_images_job)
    job = Job.objects.get(pk=job.pk)
    assert job.status == JobStatus.SUCCEEDED
    assert (job.done, job.total) == (len(imaged), len(imaged))
    assert job.result["converted"] == 3
    assert "Missing slices" in job.result["skipped"][str(imaged[3].pk)]
    # Nothing left to convert: no new job.
    assert cohort_images_request(cohort=cohort, actor=scientist) is None
