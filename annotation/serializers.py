"""Input and output shapes of the queue and confirmation API."""
from __future__ import annotations

from rest_framework import serializers

from annotation.models import Confirmation, ConfirmValue


class QueueQuerySerializer(serializers.Serializer):
    protocol = serializers.IntegerField(min_value=1)
    label = serializers.IntegerField(min_value=1, required=False, help_text="Only candidates for this label id.")


class QueueLabelSerializer(serializers.Serializer):
    label = serializers.CharField()
    value = serializers.ChoiceField(choices=ConfirmValue.choices)
    p = serializers.FloatField(allow_null=True)


class QueueNextSerializer(serializers.Serializer):
    study = serializers.IntegerField()
    version = serializers.IntegerField()
    labels = QueueLabelSerializer(many=True)


class ConfirmationInSerializer(serializers.Serializer):
    labels = serializers.DictField(
        child=serializers.CharField(),
        allow_empty=True,
        help_text="Label name -> positive | negative | uncertain | absent. Labels left out keep the engine's value.",
    )
    version = serializers.IntegerField(min_value=0, help_text="The study version you saw (from queue/next).")
    time_spent_ms = serializers.IntegerField(min_value=0, max_value=24 * 3600 * 1000, required=False)


class ConfirmationLabelOutSerializer(serializers.Serializer):
    label = serializers.CharField(source="label.name")
    value = serializers.CharField()
    soft_value = serializers.CharField(allow_null=True)
    soft_p = serializers.FloatField(allow_null=True)


class ConfirmationOutSerializer(serializers.ModelSerializer):
    reader = serializers.CharField(source="reader.get_username")
    labels = ConfirmationLabelOutSerializer(many=True)

    class Meta:
        model = Confirmation
        fields = [
            "id", "study", "reader", "kind", "study_version", "supersedes", "is_current", "withdrawn_at",
            "time_spent_ms", "created_at", "labels",
        ]


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    reason = serializers.CharField()
    study = serializers.IntegerField()
    version = serializers.IntegerField()
    review_state = serializers.CharField()
    reads_done = serializers.IntegerField()
