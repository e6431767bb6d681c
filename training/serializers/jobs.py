"""Input and output shapes of the training job API (issue 9, part 8)."""
from __future__ import annotations

from rest_framework import serializers

from training.services.jobs import (
    MAX_EPOCHS,
    MAX_PARALLEL,
    MAX_PROCESSES,
    MAX_TRIALS,
    METRICS,
    MODEL_CHOICES,
    MODELS,
    PRUNERS,
    STRATEGIES,
)


class TrainingJobCreateSerializer(serializers.Serializer):
    cohort = serializers.IntegerField(min_value=1)
    model = serializers.ChoiceField(
        choices=MODELS, default=MODELS[0],
        help_text="; ".join(f"{name}: {description}" for name, description in MODEL_CHOICES)
        + ". An image model needs the cohort's images converted first (400 otherwise).",
    )
    strategy = serializers.ChoiceField(choices=STRATEGIES, default="random")
    trials = serializers.IntegerField(min_value=1, max_value=MAX_TRIALS, default=5)
    metric = serializers.ChoiceField(choices=METRICS, default=METRICS[0])
    epochs = serializers.IntegerField(min_value=1, max_value=MAX_EPOCHS, default=8)
    pruner = serializers.ChoiceField(choices=PRUNERS, default="median")
    parallel = serializers.IntegerField(min_value=1, max_value=MAX_PARALLEL, default=1, help_text="Trials at once (Celery tasks).")
    processes = serializers.IntegerField(min_value=1, max_value=MAX_PROCESSES, default=1,
                                         help_text="Data-parallel ranks per trial; more than 1 runs torchrun.")
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=0)


class TrainingJobCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()


class TrialOutSerializer(serializers.Serializer):
    number = serializers.IntegerField(allow_null=True)
    slot = serializers.IntegerField()
    attempt = serializers.IntegerField()
    state = serializers.CharField()
    params = serializers.DictField()
    value = serializers.FloatField(allow_null=True)
    proposed_by = serializers.CharField()
    epochs = serializers.IntegerField()


class TrainingJobOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    message = serializers.CharField()
    cohort = serializers.IntegerField()
    cohort_sha256 = serializers.CharField()
    model = serializers.CharField()
    strategy = serializers.CharField()
    metric = serializers.CharField()
    trials = TrialOutSerializer(many=True)
    best_trial = serializers.IntegerField(allow_null=True)
    best_params = serializers.DictField()
    metrics = serializers.DictField(help_text='{"validation"|"test": {"macro_auroc", "labels": {label: {auroc, ap, f1, positives, n, ...}}}}')
    model_sha256 = serializers.CharField(allow_null=True)
    code_version = serializers.CharField()
    versions = serializers.DictField(child=serializers.CharField())


class PredictionQuerySerializer(serializers.Serializer):
    split = serializers.ChoiceField(choices=("validation", "test"), default="test")
    page = serializers.IntegerField(min_value=1, default=1)


class PredictionOutSerializer(serializers.Serializer):
    study = serializers.IntegerField()
    label = serializers.CharField()
    p = serializers.FloatField()
    target = serializers.FloatField(allow_null=True)
    baseline_p = serializers.FloatField()


class PredictionPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    results = PredictionOutSerializer(many=True)
