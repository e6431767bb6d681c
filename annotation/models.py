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
    # null, not "": the label had no soft value at all (absent), which no choice spells.
    soft_value = models.CharField(max_length=16, choices=LabelValue.choices, null=True, blank=True)  # noqa: DJ001
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


# --- Quality: match judgements, random quality samples, calibration (issue 8, helper "quality") ---


class MatchVerdict(models.TextChoices):
    RIGHT = "right", "Right"
    WRONG = "wrong", "Wrong"


class MatchJudgement(models.Model):
    """A curator's verdict on one phrase match: does this hit really speak of the label's finding?

    One row per (report, label, span, judge); judging again updates it (the audit log keeps each
    verdict). Spans are offsets into the report text, as in SoftLabel.evidence.
    """

    report = models.ForeignKey("reports.Report", on_delete=models.CASCADE, related_name="match_judgements")
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="match_judgements")
    phrase = models.ForeignKey(Phrase, null=True, blank=True, on_delete=models.SET_NULL, related_name="judgements")
    phrase_text = models.CharField(max_length=200, help_text="The evidence's phrase, normalised.")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    verdict = models.CharField(max_length=8, choices=MatchVerdict.choices)
    note = models.CharField(max_length=500, blank=True)
    judge = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="match_judgements")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["report", "label", "start", "end", "judge"], name="matchjudgement_unique_span_judge"
            ),
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="matchjudgement_span_nonempty"),
        ]
        indexes = [models.Index(fields=["label", "phrase_text"], name="matchjudgement_phrase_idx")]

    def __str__(self) -> str:
        return f"Match {self.report_id}:{self.start}-{self.end} {self.verdict}"


class QualitySample(models.Model):
    """A stratified simple random sample of one label's soft labels (absent ones included) in a
    protocol, drawn once and judged in its random order. `strata` maps a stratum key to its
    population size N_h and sample size n_h: {"positive|pneumothorax": [N_h, n_h], ...}."""

    protocol = models.ForeignKey("reports.Protocol", on_delete=models.CASCADE, related_name="quality_samples")
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="quality_samples")
    target_width = models.FloatField()
    seed = models.BigIntegerField()
    population = models.PositiveIntegerField()
    strata = models.JSONField(default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["protocol", "label", "-created_at"], name="qualitysample_label_idx")]

    def __str__(self) -> str:
        return f"Quality sample {self.pk} of label {self.label_id}"


class QualitySampleItem(models.Model):
    """One sampled (report, label): what the engine said when drawn, and the curator's verdict."""

    sample = models.ForeignKey(QualitySample, on_delete=models.CASCADE, related_name="items")
    report = models.ForeignKey("reports.Report", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(help_text="Random judging order.")
    stratum = models.CharField(max_length=260)
    predicted = models.CharField(max_length=16, choices=ConfirmValue.choices)
    predicted_p = models.FloatField(null=True, blank=True)
    judged_value = models.CharField(max_length=16, choices=ConfirmValue.choices, blank=True)
    judged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    judged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["sample", "position"]
        constraints = [
            models.UniqueConstraint(fields=["sample", "position"], name="qualityitem_unique_position"),
            models.UniqueConstraint(fields=["sample", "report"], name="qualityitem_unique_report"),
        ]

    def __str__(self) -> str:
        return f"Item {self.position} of sample {self.sample_id}"


class CalibrationMethod(models.TextChoices):
    ISOTONIC = "isotonic", "Isotonic"
    PLATT = "platt", "Platt"


class LabelCalibration(models.Model):
    """A fitted map p -> calibrated p for one label of one protocol, from that protocol's
    confirmations and quality judgements; the active row applies at read time (see
    annotation.selectors.quality.calibration_maps). ECE before / after are on held-out data."""

    protocol = models.ForeignKey("reports.Protocol", on_delete=models.CASCADE, related_name="label_calibrations")
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="calibrations")
    method = models.CharField(max_length=16, choices=CalibrationMethod.choices)
    params = models.JSONField(help_text="annotation.metrics.calibration map")
    fitted_on = models.PositiveIntegerField()
    positives = models.PositiveIntegerField()
    negatives = models.PositiveIntegerField()
    held_out = models.PositiveIntegerField()
    ece_before = models.FloatField(null=True, blank=True)
    ece_after = models.FloatField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["protocol", "label", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["protocol", "label"], condition=Q(active=True), name="labelcalibration_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} calibration of label {self.label_id}"


# --- Curation: versioned phrase edits with their relabel job (issue 8, parts 1-3) ---


class PhraseChangeKind(models.TextChoices):
    EDIT = "edit", "Edit"
    REVERT = "revert", "Revert"


class PhraseChange(models.Model):
    """One saved edit set on a label's phrases (add, disable, enable, edit text, reorder).

    Its `revisions` hold each phrase's state before and after; `job` is the relabel it started.
    `preview` keeps what the preview predicted (changed count, transitions, phrase-set hashes), so
    the prediction can be compared with the job's outcome later. Never edited after creation:
    a revert is a new change with `revert_of` set.
    """

    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="phrase_changes")
    kind = models.CharField(max_length=16, choices=PhraseChangeKind.choices, default=PhraseChangeKind.EDIT)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField(blank=True)
    revert_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reverted_by"
    )
    job = models.ForeignKey("reports.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    hash_before = models.CharField(max_length=64, blank=True)
    hash_after = models.CharField(max_length=64, blank=True)
    preview = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["label", "-created_at"], name="phrasechange_label_idx")]

    def __str__(self) -> str:
        return f"Phrase change {self.pk} on label {self.label_id}"


class PhraseRevision(models.Model):
    """One phrase's state before and after a change: {text, kind, enabled, order}; null = absent."""

    change = models.ForeignKey(PhraseChange, on_delete=models.CASCADE, related_name="revisions")
    # Null once the phrase is gone (a reverted addition is deleted); `before` / `after` keep its text.
    phrase = models.ForeignKey(Phrase, null=True, blank=True, on_delete=models.SET_NULL, related_name="revisions")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["change", "id"]

    def __str__(self) -> str:
        return f"Revision {self.pk} of phrase {self.phrase_id}"


class ReportTerms(models.Model):
    """The words of one report as the phrase preview's word index holds them (derived data).

    `report_id` is not a foreign key: a deleted or moved report's row and postings are taken out by
    annotation/signals.py (a queryset move sends no signal: the refresh does it then).
    """

    report_id = models.BigIntegerField()
    protocol = models.ForeignKey("reports.Protocol", on_delete=models.CASCADE, related_name="+")
    # The report's state when indexed: a report whose updated_at or hash differs is read again.
    report_updated_at = models.DateTimeField()
    text_sha256 = models.CharField(max_length=64)
    terms = models.TextField()  # distinct terms, space-separated

    class Meta:
        constraints = [models.UniqueConstraint(fields=["protocol", "report_id"], name="reportterms_unique_report")]

    def __str__(self) -> str:
        return f"Terms of report {self.report_id}"


class TermPostings(models.Model):
    """The reports of a protocol whose text holds a term: sorted ids, packed (selectors/report_terms.py)."""

    protocol = models.ForeignKey("reports.Protocol", on_delete=models.CASCADE, related_name="+")
    term = models.TextField()
    reports = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["protocol", "term"], name="termpostings_unique_term")]

    def __str__(self) -> str:
        return f"Postings of {self.term!r} in protocol {self.protocol_id}"
