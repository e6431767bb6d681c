"""Label schemas and phrases, soft labels with their evidence, and confirmations."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class LabelValue(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEGATIVE = "negative", "Negative"
    UNCERTAIN = "uncertain", "Uncertain"


class LabelSchema(models.Model):
    """A named set of labels; `chexpert` is built in, others come from YAML or the admin."""

    name = models.SlugField(max_length=64, unique=True)
    description = models.TextField(blank=True)
    builtin = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Label(models.Model):
    schema = models.ForeignKey(LabelSchema, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=100)
    order = models.PositiveSmallIntegerField(default=0)
    color = models.CharField(max_length=7, default="#1f77b4", help_text="Highlight colour, #rrggbb.")

    class Meta:
        ordering = ["schema", "order", "name"]
        constraints = [models.UniqueConstraint(fields=["schema", "name"], name="label_unique_name")]

    def __str__(self) -> str:
        return self.name


class PhraseKind(models.TextChoices):
    MENTION = "mention", "Mention"
    EXCLUSION = "exclusion", "Exclusion"


class Phrase(models.Model):
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="phrases")
    text = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=PhraseKind.choices, default=PhraseKind.MENTION)
    enabled = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=0)
    # Measured precision once curators have judged enough matches; the engine's prior until then.
    precision = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["label", "order", "text"]
        constraints = [models.UniqueConstraint(fields=["label", "kind", "text"], name="phrase_unique_text")]

    def __str__(self) -> str:
        return self.text


class SoftLabel(models.Model):
    """What the engine read in one report for one label. Absent labels have no row."""

    report = models.ForeignKey("reports.Report", on_delete=models.CASCADE, related_name="soft_labels")
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="soft_labels")
    value = models.CharField(max_length=16, choices=LabelValue.choices)
    p = models.FloatField()
    engine_version = models.CharField(max_length=32)
    phrase_set_hash = models.CharField(max_length=64)
    evidence = models.JSONField(default=list, help_text="[{start, end, phrase, modifiers, section}] offsets into the report text")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "label"], name="softlabel_unique_report_label"),
            models.CheckConstraint(condition=Q(p__gte=0) & Q(p__lte=1), name="softlabel_p_in_unit_interval"),
        ]
        indexes = [models.Index(fields=["label", "value"], name="softlabel_label_value_idx")]

    def __str__(self) -> str:
        return f"{self.label} = {self.value} ({self.p:.2f})"


# --- Confirmations: what radiologists decided, study by study (issue 4) ---


class ConfirmValue(models.TextChoices):
    """A reader's decision for one label; `absent` means the report does not speak of it."""

    POSITIVE = "positive", "Positive"
    NEGATIVE = "negative", "Negative"
    UNCERTAIN = "uncertain", "Uncertain"
    ABSENT = "absent", "Absent"


class ConfirmationKind(models.TextChoices):
    READ = "read", "Read"
    ADJUDICATION = "adjudication", "Adjudication"


class Confirmation(models.Model):
    """One reader's (or a curator's adjudicating) decision on all labels of a study.

    Never updated in place except to retire it: a correction is a new row that `supersedes` the
    old one, which keeps its values with `is_current=False`; an undo retires it with `withdrawn_at`.
    `study_version` is the Study.version this write created, so two writes that raced on the same
    version cannot both land (the unique constraint backs up the conditional UPDATE).
    """

    study = models.ForeignKey("reports.Study", on_delete=models.CASCADE, related_name="confirmations")
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="confirmations")
    kind = models.CharField(max_length=16, choices=ConfirmationKind.choices, default=ConfirmationKind.READ)
    study_version = models.PositiveIntegerField()
    supersedes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    is_current = models.BooleanField(default=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True, help_text="Set when the reader undid it.")
    time_spent_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["study", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["study", "study_version"], name="confirmation_unique_study_version"),
            models.UniqueConstraint(
                fields=["study", "reader"],
                condition=Q(is_current=True, kind="read"),
                name="confirmation_one_current_read_per_reader",
            ),
            models.UniqueConstraint(
                fields=["study"],
                condition=Q(is_current=True, kind="adjudication"),
                name="confirmation_one_current_adjudication",
            ),
        ]
        indexes = [
            models.Index(fields=["reader", "-created_at"], name="confirmation_reader_idx"),
            models.Index(fields=["study", "kind", "is_current"], name="confirmation_current_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk} of study {self.study_id}"


class ConfirmationLabel(models.Model):
    """One label's final value in a confirmation, beside the soft label it started from."""

    confirmation = models.ForeignKey(Confirmation, on_delete=models.CASCADE, related_name="labels")
    label = models.ForeignKey(Label, on_delete=models.PROTECT, related_name="confirmations")
    value = models.CharField(max_length=16, choices=ConfirmValue.choices)
    # The engine's value and p when the reader saw it; null when the label was absent.
    soft_value = models.CharField(max_length=16, choices=LabelValue.choices, null=True, blank=True)
    soft_p = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["confirmation", "label__order"]
        constraints = [
            models.UniqueConstraint(fields=["confirmation", "label"], name="confirmationlabel_unique_label"),
        ]

    def __str__(self) -> str:
        return f"{self.label_id} = {self.value}"


class QueueLease(models.Model):
    """A reader's short hold on a study slot, so two readers are not handed the same slot.

    A skip is a lease with `skipped=True`: it keeps the study out of that reader's queue until it
    expires and does not hold a slot against other readers.
    """

    study = models.ForeignKey("reports.Study", on_delete=models.CASCADE, related_name="queue_leases")
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="queue_leases")
    started_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    skipped = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["study", "reader"], name="queuelease_unique_reader")]
        indexes = [models.Index(fields=["reader", "expires_at"], name="queuelease_reader_idx")]

    def __str__(self) -> str:
        return f"Lease of study {self.study_id} by {self.reader_id} until {self.expires_at:%H:%M:%S}"
