"""Label schemas and phrases, soft labels with their evidence, and confirmations."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


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
