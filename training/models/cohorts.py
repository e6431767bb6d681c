"""Cohorts: frozen, versioned snapshots of final labels with patient-level splits (docs/COHORTS.md).

A cohort is written once, with all its rows, in one transaction, and never changed: the models
refuse updates and deletes (as the audit log does), and on PostgreSQL a trigger refuses them too
(migration 0002_cohorts_immutable), so a bulk query cannot rewrite a snapshot that a trained model
or a paper refers to by its SHA-256.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

__all__ = [
    "Cohort",
    "CohortImmutable",
    "CohortSource",
    "CohortStudy",
    "CohortVolume",
    "Split",
    "UncertainPolicy",
    "AgreementFilter",
]


class CohortImmutable(PermissionError):
    """A write to a frozen cohort or its rows."""


class CohortSource(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed labels only"
    CONFIRMED_SOFT = "confirmed+soft", "Confirmed, soft labels for the rest (weak supervision)"


class UncertainPolicy(models.TextChoices):
    """How an `uncertain` value becomes a training target (Irvin et al. 2019, CheXpert, §3)."""

    IGNORE = "u-ignore", "U-Ignore: no target (masked in the loss)"
    ZEROS = "u-zeros", "U-Zeros: uncertain is negative"
    ONES = "u-ones", "U-Ones: uncertain is positive"


class AgreementFilter(models.TextChoices):
    AGREED_OR_ADJUDICATED = "any", "Agreed or adjudicated"
    AGREED = "agreed", "Agreed by the readers only"
    ADJUDICATED = "adjudicated", "Adjudicated only"


class Split(models.TextChoices):
    TRAIN = "train", "Train"
    VALIDATION = "validation", "Validation"
    TEST = "test", "Test"


class _AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: object) -> int:
        raise CohortImmutable("A frozen cohort cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise CohortImmutable("A frozen cohort cannot be deleted.")


class _AppendOnly(models.Model):
    class Meta:
        abstract = True

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None and not self._state.adding:
            raise CohortImmutable("A frozen cohort cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise CohortImmutable("A frozen cohort cannot be deleted.")


class Cohort(_AppendOnly):
    """One frozen version of a named cohort of a protocol.

    `params` is the canonical request (labels in order, source, filters, uncertain policy, seed,
    split fractions and method); `sha256` covers params and every row (docs/COHORTS.md, Hash), not
    the name, version, ids of this row or times, so the same request on the same data gives the
    same hash. `export_sha256` holds the SHA-256 of each export file as frozen.
    """

    protocol = models.ForeignKey("reports.Protocol", on_delete=models.PROTECT, related_name="cohorts")
    name = models.CharField(max_length=100)
    version = models.PositiveIntegerField()
    labels = models.JSONField(help_text="Label names, in schema order.")
    params = models.JSONField()
    sha256 = models.CharField("SHA-256", max_length=64, db_index=True)
    export_sha256 = models.JSONField(default=dict, blank=True, help_text="{format: SHA-256 of the export file}")
    study_count = models.PositiveIntegerField()
    splits = models.JSONField(help_text="{split: number of studies}")
    summary = models.JSONField(help_text="{label: {value: {split: count}}}")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    job = models.ForeignKey("reports.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = _AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["protocol", "name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["protocol", "name", "version"], name="cohort_unique_version"),
            models.CheckConstraint(condition=Q(version__gte=1), name="cohort_version_from_one"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class CohortStudy(_AppendOnly):
    """One study of a cohort: its split, and per label the raw value, target, source and p.

    `values` holds the raw value (positive / negative / uncertain / absent), `targets` the
    training target after the uncertain policy (1, 0 or null for "no target"), `sources`
    "confirmed" or "soft", `p` the probability of the finding (1 / 0 for confirmed values, the
    engine's p for soft ones, null when there is none). `group` is the split unit: the patient's
    pseudonym, or the study itself when it has no patient.
    """

    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="rows")
    study = models.ForeignKey("reports.Study", on_delete=models.PROTECT, related_name="+")
    group = models.CharField(max_length=80)
    split = models.CharField(max_length=16, choices=Split.choices)
    values = models.JSONField()
    targets = models.JSONField()
    sources = models.JSONField()
    p = models.JSONField()
    text_sha256 = models.CharField(max_length=64, help_text="SHA-256 of the report text as frozen.")

    objects = _AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["cohort", "study_id"]
        constraints = [models.UniqueConstraint(fields=["cohort", "study"], name="cohortstudy_unique_study")]
        indexes = [models.Index(fields=["cohort", "split"], name="cohortstudy_split_idx")]

    def __str__(self) -> str:
        return f"Study {self.study_id} in cohort {self.cohort_id} ({self.split})"


class CohortVolume(_AppendOnly):
    """One study's image volume in a frozen cohort: a NIfTI file converted from one DICOM series.

    Written once per (cohort, study) by training.services.cohort_images; `relpath` is relative to
    the protocol's DICOM storage folder, `sha256` is of the file's bytes, `shape` the voxel counts
    (columns, rows, slices) and `spacing` the voxel size in mm, in the same order.
    """

    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="volumes")
    study = models.ForeignKey("reports.Study", on_delete=models.PROTECT, related_name="+")
    series = models.ForeignKey("reports.DicomSeries", on_delete=models.PROTECT, related_name="+")
    relpath = models.CharField(max_length=255, help_text="Relative to the protocol's DICOM storage folder.")
    sha256 = models.CharField("SHA-256", max_length=64)
    shape = models.JSONField(help_text="[columns, rows, slices]")
    spacing = models.JSONField(help_text="[mm, mm, mm]")
    created_at = models.DateTimeField(default=timezone.now)

    objects = _AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["cohort", "study_id"]
        constraints = [models.UniqueConstraint(fields=["cohort", "study"], name="cohortvolume_unique_study")]

    def __str__(self) -> str:
        return f"Volume of study {self.study_id} in cohort {self.cohort_id}"
