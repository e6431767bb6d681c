"""Reads for the image strip and slice viewer: series of a study, one instance of a series."""
from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.http import Http404

from reports.models import DicomInstance, DicomSeries, Study


def study_series(*, study: Study) -> QuerySet[DicomSeries]:
    """The study's series that have images, in import order."""
    return DicomSeries.objects.filter(dicom_study__study=study, instances__gt=0).order_by("dicom_study_id", "id")


def series_for_user(user: AbstractBaseUser | AnonymousUser, series_id: int) -> tuple[Study, DicomSeries]:
    """A series and its study if the user may see the study; 404 otherwise (unlinked series too)."""
    series = (
        DicomSeries.objects.filter(pk=series_id, dicom_study__study__in=Study.objects.visible_to(user))
        .select_related("dicom_study__study__protocol")
        .first()
    )
    if series is None:
        raise Http404("No such series")
    return series.dicom_study.study, series  # type: ignore[return-value]


def series_instance(*, series: DicomSeries, index: int) -> DicomInstance:
    """The `index`-th slice in viewer order (along the slice normal), or 404."""
    instance = series.instance_files.order_by("slice_position", "instance_number", "id")[index : index + 1].first()
    if index < 0 or instance is None:
        raise Http404("No such slice")
    return instance
