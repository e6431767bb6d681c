"""API shapes for deployments, predictions and alerts (docs/MONITORING.md, API).

Input checking that must name the offending item (labels, thresholds, the prediction batch) is
done by the services; these serializers describe the shapes for the OpenAPI schema and check types.
"""
from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from training.models import MonitoringAlert


class ModelRefSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=200, help_text="External model's name.")
    version = serializers.CharField(required=False, max_length=100, help_text="External model's version.")
    training_job = serializers.IntegerField(required=False, min_value=1, help_text="Or: an in-app training job id.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "training_job" in attrs:
            return attrs
        if not attrs.get("name") or not attrs.get("version"):
            raise serializers.ValidationError('Give {"name", "version"} of an external model, or {"training_job": id}.')
        return attrs


class DeploymentCreateInputSerializer(serializers.Serializer):
    protocol = serializers.IntegerField(min_value=1)
    name = serializers.CharField(max_length=100)
    model = ModelRefSerializer()
    labels = serializers.ListField(child=serializers.CharField(max_length=100), min_length=1, max_length=200)
    thresholds = serializers.DictField(
        child=serializers.FloatField(), required=False, help_text="{label: operating threshold}; 0.5 when left out."
    )
    validation = serializers.DictField(
        child=serializers.DictField(child=serializers.FloatField()), required=False,
        help_text="{label: {sensitivity, specificity, ppv, auroc, prevalence, n}}: the figures it must hold.",
    )
    webhook_url = serializers.URLField(required=False, allow_blank=True, max_length=200)


class VersionCreateInputSerializer(serializers.Serializer):
    model = ModelRefSerializer()
    labels = serializers.ListField(child=serializers.CharField(max_length=100), min_length=1, max_length=200)
    thresholds = serializers.DictField(child=serializers.FloatField(), required=False)
    validation = serializers.DictField(child=serializers.DictField(child=serializers.FloatField()), required=False)
    activate = serializers.BooleanField(default=True, help_text="Make it the active version (default).")


class IdOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()


class DeploymentListSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    protocol = serializers.IntegerField(source="protocol_id")
    name = serializers.CharField()
    active_version = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_active_version(self, obj: Any) -> dict[str, Any] | None:
        version = obj.active_version
        if version is None:
            return None
        return {"id": version.pk, "number": version.number, "model": version.model_name,
                "version": version.model_version, "labels": version.labels}


class PredictionItemSerializer(serializers.Serializer):
    accession = serializers.CharField(max_length=64)
    label = serializers.CharField(max_length=100)
    p = serializers.FloatField(min_value=0, max_value=1)


class PredictionBatchInputSerializer(serializers.Serializer):
    predictions = PredictionItemSerializer(many=True)


class PredictionBatchOutputSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    job = serializers.IntegerField(allow_null=True, help_text="Set when the analysis was queued as a job.")


class BatchErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(allow_null=True, help_text="Position of the offending item in the list.")
    field = serializers.CharField()
    message = serializers.CharField()


class EventSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["software_version", "model", "manufacturer", "station"])
    value = serializers.CharField()


class AlertSerializer(serializers.ModelSerializer):
    label = serializers.CharField(source="label.name")
    change_accession = serializers.CharField(source="change_study.accession")
    detected_accession = serializers.CharField(source="detected_study.accession")
    event = serializers.SerializerMethodField()
    drop_interval = serializers.SerializerMethodField()

    class Meta:
        model = MonitoringAlert
        fields = [
            "id", "label", "change_accession", "detected_accession", "before", "after", "event",
            "drop", "drop_interval", "detector", "status", "version", "change_study", "detected_study", "created_at",
        ]

    @extend_schema_field(EventSerializer(allow_null=True))
    def get_event(self, obj: MonitoringAlert) -> dict[str, str] | None:
        return {"kind": obj.event_kind, "value": obj.event_value} if obj.event_kind else None

    @extend_schema_field(serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2))
    def get_drop_interval(self, obj: MonitoringAlert) -> list[float]:
        return [obj.drop_low, obj.drop_high]
