"""Training jobs: a run per reports.Job, its Optuna trials, and the predictions of the best model.

The job's state machine (queued -> running -> succeeded | failed | cancelled), heartbeat and
cancel live on reports.Job; a TrainingRun holds what the training needs and what it found.
Trials are our own rows beside Optuna's storage (which has no heartbeat for ask / tell): each
running trial heartbeats here, and our reaper fails a trial whose worker died and retries it a
bounded number of times (training.services.trials).

Every number on the results page is computed from TrainingPrediction rows: one per study,
label and held-out split, with the model's p, the target and the engine's soft-label p.
"""
from __future__ import annotations

from django.db import models
from django.utils import timezone

__all__ = ["TrainingPrediction", "TrainingRun", "TrainingStrategy", "TrainingTrial", "TrialState"]


class TrainingStrategy(models.TextChoices):
    FIXED = "fixed", "Fixed parameters"
    RANDOM = "random", "Random search"
    TPE = "tpe", "Bayesian (TPE)"
    GP = "gp", "Bayesian (Gaussian process)"


class TrainingRun(models.Model):
    """The training side of one job: what was asked, how to reproduce it, and the best model."""

    job = models.OneToOneField("reports.Job", on_delete=models.CASCADE, related_name="training_run")
    cohort = models.ForeignKey("training.Cohort", on_delete=models.PROTECT, related_name="training_runs")
    model_name = models.CharField(max_length=32)
    strategy = models.CharField(max_length=16, choices=TrainingStrategy.choices)
    trial_budget = models.PositiveSmallIntegerField()
    metric = models.CharField(max_length=32, default="macro_auroc")
    pruner = models.CharField(max_length=16, default="median")
    epochs = models.PositiveSmallIntegerField(default=8)
    parallel = models.PositiveSmallIntegerField(default=1, help_text="Trials run at once (Celery tasks).")
    seed = models.IntegerField(default=0)
    study_name = models.CharField(max_length=100, unique=True, help_text="The Optuna study's name.")
    # Reproducibility: what the data, the code and the libraries were.
    cohort_sha256 = models.CharField(max_length=64)
    code_version = models.CharField(max_length=100, blank=True)
    versions = models.JSONField(default=dict, blank=True)
    best_trial = models.IntegerField(null=True, blank=True, help_text="Optuna number of the best trial.")
    best_params = models.JSONField(default=dict, blank=True)
    thresholds = models.JSONField(default=dict, blank=True, help_text="{label: threshold chosen on validation}")
    # Computed once from the stored predictions when the run ends (training.selectors.jobs.run_results).
    results = models.JSONField(default=dict, blank=True)
    artifact_path = models.CharField(max_length=300, blank=True)
    artifact_sha256 = models.CharField("weights' SHA-256", max_length=64, blank=True)
    artifact_bytes = models.PositiveBigIntegerField(default=0)
    model_card = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Training run of job {self.job_id}"


class TrialState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMPLETE = "complete", "Complete"
    PRUNED = "pruned", "Pruned"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class TrainingTrial(models.Model):
    """One slot of the trial budget: claimed by a worker, which asks Optuna, trains and tells.

    `attempt` counts the tries of this slot: a trial whose worker died is failed (in Optuna too)
    and the slot is queued again with the same params, up to MAX_TRIAL_ATTEMPTS.
    """

    FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED, TrialState.CANCELLED)

    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="trials")
    slot = models.PositiveIntegerField()
    attempt = models.PositiveSmallIntegerField(default=1)
    number = models.IntegerField(null=True, blank=True, help_text="Optuna's trial number.")
    state = models.CharField(max_length=16, choices=TrialState.choices, default=TrialState.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    value = models.FloatField(null=True, blank=True)
    curve = models.JSONField(default=list, blank=True, help_text="[{epoch, train_loss, val_loss, val_metric, seconds}]")
    proposed_by = models.CharField(max_length=16, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    message = models.CharField(max_length=300, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "slot", "attempt"]
        constraints = [
            models.UniqueConstraint(fields=["run", "slot", "attempt"], name="trainingtrial_unique_attempt"),
        ]
        indexes = [models.Index(fields=["state", "heartbeat_at"], name="trainingtrial_reaper_idx")]

    def __str__(self) -> str:
        return f"Trial {self.slot}.{self.attempt} of run {self.run_id} ({self.state})"


class TrainingPrediction(models.Model):
    """The best model's p for one study and label of a held-out split, beside target and baseline."""

    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="predictions")
    study = models.ForeignKey("reports.Study", on_delete=models.PROTECT, related_name="+")
    label = models.CharField(max_length=100)
    split = models.CharField(max_length=16)
    p = models.FloatField()
    target = models.FloatField(null=True, blank=True, help_text="1, 0, or null for no target.")
    baseline_p = models.FloatField(help_text="The engine's soft-label p; 0 when the label is absent.")

    class Meta:
        ordering = ["run", "split", "study_id", "label"]
        constraints = [
            models.UniqueConstraint(fields=["run", "study", "label"], name="trainingprediction_unique"),
        ]
        indexes = [models.Index(fields=["run", "split", "study"], name="trainingprediction_split_idx")]

    def __str__(self) -> str:
        return f"{self.label} p={self.p:.2f} for study {self.study_id}"
