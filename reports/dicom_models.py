"""DICOM studies, series and instances stored under a protocol, de-identified on import.

UIDs here are the remapped ones written into the stored files (reports.dicom.deid.remap_uid),
so re-importing a folder finds its instances again and adds nothing. The accession number is
kept only to link a DICOM study to its report; like report text it never leaves the database.
"""
from __future__ import annotations

import secrets

from django.db import models


def _new_uid_key() -> str:
    return secrets.token_hex(32)


class DicomSettings(models.Model):
    """Per-protocol de-identification settings; made on the protocol's first DICOM import."""

    protocol = models.OneToOneField("reports.Protocol", on_delete=models.CASCADE, related_name="dicom_settings")
    uid_key = models.CharField(max_length=64, default=_new_uid_key, help_text="Secret for UID and pseudonym remapping.")
    keep_identity_map = models.BooleanField(
        default=False, help_text="Keep the original patient ID beside its pseudonym (only where the IRB allows it)."
    )
    allow_burned_in = models.BooleanField(default=False, help_text="Store images flagged BurnedInAnnotation YES.")
    private_allowlist = models.JSONField(
        default=list, blank=True, help_text='Private tags to keep: [["creator", element byte], ...].'
    )

    def __str__(self) -> str:
        return f"DICOM settings of protocol {self.protocol_id}"


class PatientDateShift(models.Model):
    """The patient's own date offset: every DICOM date of theirs moves by it, so intervals survive."""

    patient = models.OneToOneField("reports.Patient", on_delete=models.CASCADE, related_name="date_shift")
    days = models.IntegerField()

    def __str__(self) -> str:
        return f"Date shift of patient {self.patient_id}"


class DicomIdentity(models.Model):
    """Original patient ID -> pseudonym; written only when the protocol's settings allow it."""

    protocol = models.ForeignKey("reports.Protocol", on_delete=models.CASCADE, related_name="+")
    original_patient_id = models.CharField(max_length=64)
    patient = models.ForeignKey("reports.Patient", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["protocol", "original_patient_id"], name="dicom_identity_unique")
        ]

    def __str__(self) -> str:
        return f"Identity map entry {self.pk}"  # never the original ID: __str__ reaches logs and admin


class DicomStudy(models.Model):
    protocol = models.ForeignKey("reports.Protocol", on_delete=models.CASCADE, related_name="dicom_studies")
    study = models.ForeignKey(
        "reports.Study", null=True, blank=True, on_delete=models.SET_NULL, related_name="dicom_studies",
        help_text="The report's study, matched by accession number; empty until a report arrives.",
    )
    patient = models.ForeignKey("reports.Patient", null=True, on_delete=models.SET_NULL, related_name="+")
    accession = models.CharField(max_length=64, blank=True)
    study_instance_uid = models.CharField(max_length=64)
    study_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["protocol", "study_instance_uid"], name="dicom_study_unique_uid")
        ]
        indexes = [models.Index(fields=["protocol", "accession"], name="dicom_study_accession_idx")]

    def __str__(self) -> str:
        return f"DICOM study {self.pk}"


class DicomSeries(models.Model):
    dicom_study = models.ForeignKey(DicomStudy, on_delete=models.CASCADE, related_name="series")
    series_instance_uid = models.CharField(max_length=64)
    modality = models.CharField(max_length=16, blank=True)
    manufacturer = models.CharField(max_length=64, blank=True)
    model = models.CharField(max_length=64, blank=True)
    software_versions = models.CharField(max_length=128, blank=True)
    station_name = models.CharField(max_length=64, blank=True)
    protocol_name = models.CharField(max_length=128, blank=True)
    description = models.CharField(max_length=128, blank=True)
    slice_thickness = models.FloatField(null=True, blank=True)
    pixel_spacing = models.JSONField(null=True, blank=True, help_text="[between rows, between columns] in mm")
    acquisition_date = models.DateField(null=True, blank=True)
    instances = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dicom_study", "series_instance_uid"], name="dicom_series_unique_uid")
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"DICOM series {self.pk}"


class DicomInstance(models.Model):
    series = models.ForeignKey(DicomSeries, on_delete=models.CASCADE, related_name="instance_files")
    sop_instance_uid = models.CharField(max_length=64)
    instance_number = models.IntegerField(null=True, blank=True)
    slice_position = models.FloatField(null=True, blank=True, help_text="Along the slice normal, mm: viewer order.")
    path = models.CharField(max_length=255, help_text="Relative to the protocol's DICOM storage folder.")
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    transfer_syntax = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "sop_instance_uid"], name="dicom_instance_unique_uid")
        ]
        ordering = ["slice_position", "instance_number", "id"]

    def __str__(self) -> str:
        return f"DICOM instance {self.pk}"
