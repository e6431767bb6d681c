"""Input and output shapes of the cohort API."""
from __future__ import annotations

from rest_framework import serializers

from training.models import AgreementFilter, CohortSource, UncertainPolicy
from training.selectors.cohorts import ALL_EXPORT_FORMATS


class CohortCreateSerializer(serializers.Serializer):
    protocol = serializers.IntegerField(min_value=1)
    name = serializers.CharField(max_length=100)
    labels = serializers.ListField(child=serializers.CharField(max_length=100), allow_empty=True, required=False)
    source = serializers.ChoiceField(choices=CohortSource.choices, default=CohortSource.CONFIRMED)
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=0)
    uncertain = serializers.ChoiceField(choices=UncertainPolicy.choices, default=UncertainPolicy.IGNORE)
    agreement = serializers.ChoiceField(choices=AgreementFilter.choices, default=AgreementFilter.AGREED_OR_ADJUDICATED)
    modality = serializers.ListField(child=serializers.CharField(max_length=16), required=False)
    date_from = serializers.DateField(required=False, allow_null=True)
    date_to = serializers.DateField(required=False, allow_null=True)


class SplitCountsSerializer(serializers.Serializer):
    train = serializers.IntegerField()
    validation = serializers.IntegerField()
    test = serializers.IntegerField()


class CohortCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sha256 = serializers.CharField()
    studies = serializers.IntegerField(source="study_count")
    splits = SplitCountsSerializer()


class CohortQueuedSerializer(serializers.Serializer):
    job = serializers.IntegerField(source="pk")
    status = serializers.CharField()


class CohortOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    protocol = serializers.IntegerField(source="protocol_id")
    name = serializers.CharField()
    version = serializers.IntegerField()
    sha256 = serializers.CharField()
    export_sha256 = serializers.DictField(child=serializers.CharField())
    studies = serializers.IntegerField(source="study_count")
    splits = SplitCountsSerializer()
    labels = serializers.ListField(child=serializers.CharField())
    params = serializers.DictField()
    created_at = serializers.DateTimeField()
    # A cohort outlives its author's account (and the demo's are made by a command): null then.
    created_by = serializers.CharField(source="created_by.username", default=None, allow_null=True)


class CohortDetailSerializer(CohortOutSerializer):
    summary = serializers.DictField()


class CohortListQuerySerializer(serializers.Serializer):
    protocol = serializers.IntegerField(min_value=1, required=False)


class CohortExportQuerySerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=sorted(ALL_EXPORT_FORMATS), default="jsonl")
