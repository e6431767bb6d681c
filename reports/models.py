"""IRB protocols and membership, studies, reports, jobs and the audit log."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from reports.audit_actions import audit_action_label

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class Role(models.TextChoices):
    RADIOLOGIST = "radiologist", "Radiologist"
    CURATOR = "curator", "Curator"
    DATA_SCIENTIST = "data_scientist", "Data scientist"


class ProtocolStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    APPROVED = "approved", "Approved"
    SUSPENDED = "suspended", "Suspended"
    CLOSED = "closed", "Closed"


class ProtocolQuerySet(models.QuerySet["Protocol"]):
    def approved_on(self, day: dt.date) -> ProtocolQuerySet:
        return self.filter(status=ProtocolStatus.APPROVED, approved_on__lte=day).filter(
            Q(expires_on__isnull=True) | Q(expires_on__gte=day)
        )

    def visible_to(
        self, user: AbstractBaseUser | AnonymousUser, roles: tuple[str, ...] | None = None
    ) -> ProtocolQuerySet:
        """Protocols the user may work on today: approved, unexpired, with an active membership.

        This is the one scoping rule of the app; Study, Report and label querysets all go
        through it. Staff and superusers get no exemption: access comes from the IRB protocol.
        """
        if not user.is_authenticated:
            return self.none()
        today = timezone.localdate()
        memberships = Membership.objects.active_on(today).filter(user_id=user.pk)
        if roles is not None:
            memberships = memberships.filter(role__in=roles)
        return self.approved_on(today).filter(pk__in=memberships.values("protocol_id"))


class Protocol(models.Model):
    irb_number = models.CharField("IRB number", max_length=64, unique=True)
    title = models.CharField(max_length=300)
    principal_investigator = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=ProtocolStatus.choices, default=ProtocolStatus.DRAFT)
    approved_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    label_schema = models.ForeignKey(
        "annotation.LabelSchema", null=True, blank=True, on_delete=models.PROTECT, related_name="protocols",
        help_text="Labels its studies are read for; the built-in chexpert schema when empty.",
    )
    readers_per_study = models.PositiveSmallIntegerField(
        default=1, help_text="How many radiologists must read each study before it is done."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProtocolQuerySet.as_manager()

    class Meta:
        ordering = ["irb_number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_on__isnull=True) | Q(approved_on__isnull=True) | Q(expires_on__gte=models.F("approved_on")),
                name="protocol_expires_after_approval",
            ),
            models.CheckConstraint(condition=Q(readers_per_study__gte=1), name="protocol_readers_at_least_one"),
        ]

    def __str__(self) -> str:
        return f"{self.irb_number} — {self.title}"

    def is_active_on(self, day: dt.date) -> bool:
        return (
            self.status == ProtocolStatus.APPROVED
            and self.approved_on is not None
            and self.approved_on <= day
            and (self.expires_on is None or self.expires_on >= day)
        )


class MembershipQuerySet(models.QuerySet["Membership"]):
    def active_on(self, day: dt.date) -> MembershipQuerySet:
        return self.filter(valid_from__lte=day, revoked_at__isnull=True).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gte=day)
        )


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    protocol = models.ForeignKey(Protocol, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    valid_from = models.DateField(default=timezone.localdate)
    valid_to = models.DateField(null=True, blank=True, help_text="Last day of access; empty for no end.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["protocol", "user"]
        constraints = [
            # One live role per person and protocol; a revoked membership may be followed by a new one.
            models.UniqueConstraint(
                fields=["user", "protocol"], condition=Q(revoked_at__isnull=True), name="membership_one_live_per_protocol"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="membership_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.protocol.irb_number} as {self.get_role_display()}"

    def is_active_on(self, day: dt.date) -> bool:
        return (
            self.revoked_at is None and self.valid_from <= day and (self.valid_to is None or self.valid_to >= day)
        )


class Patient(models.Model):
    """A pseudonymous patient: the import's patient key, never a name or MRN of the hospital."""

    protocol = models.ForeignKey(Protocol, on_delete=models.CASCADE, related_name="patients")
    pseudonym = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["protocol", "pseudonym"], name="patient_unique_pseudonym")]

    def __str__(self) -> str:
        return self.pseudonym


class StudyQuerySet(models.QuerySet["Study"]):
    def visible_to(self, user: AbstractBaseUser | AnonymousUser, roles: tuple[str, ...] | None = None) -> StudyQuerySet:
        return self.filter(protocol__in=Protocol.objects.visible_to(user, roles))


class ReviewState(models.TextChoices):
    OPEN = "open", "Waiting for readers"
    ADJUDICATION = "adjudication", "Readers disagree"
    DONE = "done", "Done"


class Study(models.Model):
    protocol = models.ForeignKey(Protocol, on_delete=models.CASCADE, related_name="studies")
    patient = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.SET_NULL, related_name="studies")
    accession = models.CharField(max_length=64)
    modality = models.CharField(max_length=16, blank=True)
    body_part = models.CharField(max_length=64, blank=True)
    study_date = models.DateField(null=True, blank=True)
    study_instance_uid = models.CharField("StudyInstanceUID", max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Optimistic lock for confirmations: a write names the version it saw (SECURITY.md promise 10).
    version = models.PositiveIntegerField(default=0)
    # Queue order, refreshed by each relabel: higher means more to learn from a reader.
    informativeness = models.FloatField(default=0.0)
    review_state = models.CharField(max_length=16, choices=ReviewState.choices, default=ReviewState.OPEN)
    reads_done = models.PositiveSmallIntegerField(default=0)
    # Queue order ahead of informativeness, kept by the confirm transaction (never by relabel):
    # 2 = open with a read that differs from the engine, 1 = open and started by another reader,
    # 0 = untouched or closed. Other readers then finish started studies first.
    queue_priority = models.PositiveSmallIntegerField(default=0)
    # Acquisition equipment (import columns now, DICOM headers later): monitoring marks a new
    # combination on the timeline and names it in a drift alert.
    manufacturer = models.CharField(max_length=64, blank=True)
    scanner_model = models.CharField("model", max_length=64, blank=True)
    software_version = models.CharField(max_length=64, blank=True)
    station = models.CharField(max_length=64, blank=True)

    objects = StudyQuerySet.as_manager()

    class Meta:
        ordering = ["-study_date", "-id"]
        verbose_name_plural = "studies"
        constraints = [models.UniqueConstraint(fields=["protocol", "accession"], name="study_unique_accession")]
        indexes = [
            models.Index(fields=["protocol", "-study_date", "-id"], name="study_list_idx"),
            models.Index(fields=["protocol", "modality"], name="study_modality_idx"),
            models.Index(
                fields=["protocol", "review_state", "-queue_priority", "-informativeness", "id"], name="study_queue_prio_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"Study {self.pk}"


class ReportQuerySet(models.QuerySet["Report"]):
    def visible_to(self, user: AbstractBaseUser | AnonymousUser, roles: tuple[str, ...] | None = None) -> ReportQuerySet:
        return self.filter(study__protocol__in=Protocol.objects.visible_to(user, roles))


class Report(models.Model):
    """The signed report of a study. `sections` holds [name, start, end] offsets into `text`."""

    study = models.OneToOneField(Study, on_delete=models.CASCADE, related_name="report")
    text = models.TextField()
    text_sha256 = models.CharField(max_length=64)
    sections = models.JSONField(default=list)
    signed_at = models.DateTimeField(null=True, blank=True)
    revision = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ReportQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Report {self.pk}"

    def section_texts(self) -> list[tuple[str, str]]:
        return [(name, self.text[start:end]) for name, start, end in self.sections]


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class Job(models.Model):
    """The database side of a Celery task: its state machine and progress, polled by pages."""

    FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)

    # Kinds are registered by the apps that own them (reports.jobs.registry), not listed here,
    # so a new app adds jobs without a change to this model.
    kind = models.CharField(max_length=32)
    protocol = models.ForeignKey(Protocol, on_delete=models.CASCADE, related_name="jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)
    errors = models.JSONField(default=list, blank=True)
    result = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="job_reaper_idx")]

    def __str__(self) -> str:
        return f"{self.kind_label} job {self.pk} ({self.status})"

    @property
    def kind_label(self) -> str:
        from reports.jobs.registry import job_kind_label

        return job_kind_label(self.kind)

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else (100 if self.is_finished else 0)


class AuditAction(models.TextChoices):
    """reports' own audit actions (registered in ReportsConfig.ready; other apps add theirs)."""

    REPORT_READ = "report.read", "Read report text"
    REPORT_IMPORT = "report.import", "Imported reports"
    EXPORT = "export", "Exported data"
    ACCESS_GRANT = "access.grant", "Granted access"
    ACCESS_CHANGE = "access.change", "Changed access"
    ACCESS_REVOKE = "access.revoke", "Revoked access"
    PROTOCOL_CHANGE = "protocol.change", "Changed protocol"
    LABEL_CONFIRM = "label.confirm", "Confirmed labels"
    DICOM_IMPORT = "dicom.import", "Imported DICOM"
    IMAGE_READ = "image.read", "Viewed images"


class AccessEventQuerySet(models.QuerySet["AccessEvent"]):
    def update(self, **kwargs: object) -> int:
        raise PermissionError("The audit log is append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("The audit log is append-only.")


class AccessEvent(models.Model):
    """One audited action: who, what, when, from where. Never holds report text or patient data.

    Append-only: the model refuses updates and deletes, and a database trigger refuses them
    too (migration 0002), so neither the app nor a bulk query can rewrite history.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    username = models.CharField(max_length=150, blank=True)
    # A registered action (reports.audit_actions), not a fixed choice: apps add their own.
    action = models.CharField(max_length=32, db_index=True)
    object_type = models.CharField(max_length=32, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    protocol = models.ForeignKey(Protocol, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    channel = models.CharField(max_length=16, blank=True, help_text="page, api, command or task")
    detail = models.JSONField(default=dict, blank=True)

    objects = AccessEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise PermissionError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PermissionError("The audit log is append-only.")

    @property
    def action_label(self) -> str:
        return audit_action_label(self.action)


# DICOM studies, series and instances live in their own module; imported here so Django finds them.
from reports.dicom_models import (  # noqa: E402, F401  (re-exported: the app's models module)
    DicomIdentity,
    DicomInstance,
    DicomSeries,
    DicomSettings,
    DicomStudy,
    PatientDateShift,
)
