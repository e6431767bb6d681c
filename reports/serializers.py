"""DRF input and output shapes of the reports API."""
from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from reports.models import DicomSeries, Protocol, Report, ReviewState, Role, Study
from reports.selectors.studies import StudyFilters, report_sections


class TokenObtainInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    otp = serializers.CharField(
        max_length=10, required=False, allow_blank=True,
        help_text="The 6-digit code of the user's authenticator app; required once they enrolled one.",
    )


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class StudyFilterSerializer(serializers.Serializer):
    protocol = serializers.IntegerField(required=False, min_value=1)
    modality = serializers.CharField(required=False, max_length=16)
    q = serializers.CharField(required=False, max_length=64, help_text="Accession prefix.")
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_to"] < attrs["date_from"]:
            raise serializers.ValidationError({"date_to": "date_to must be on or after date_from."})
        return attrs

    def to_filters(self) -> StudyFilters:
        data = self.validated_data
        return StudyFilters(
            protocol_id=data.get("protocol"),
            modality=data.get("modality", "").strip(),
            accession_prefix=data.get("q", "").strip(),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


class StudyListSerializer(serializers.ModelSerializer):
    protocol = serializers.IntegerField(source="protocol_id", read_only=True)
    protocol_irb = serializers.CharField(source="protocol.irb_number", read_only=True)
    review_state = serializers.ChoiceField(choices=ReviewState.choices, read_only=True)

    class Meta:
        model = Study
        fields = ["id", "accession", "modality", "body_part", "study_date", "protocol", "protocol_irb", "review_state"]
        read_only_fields = fields


class ReportSectionSerializer(serializers.Serializer):
    name = serializers.CharField()
    text = serializers.CharField()


class ReportSerializer(serializers.ModelSerializer):
    sections = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = ["text", "sections", "signed_at"]
        read_only_fields = fields

    @extend_schema_field(ReportSectionSerializer(many=True))
    def get_sections(self, report: Report) -> list[dict[str, str]]:
        return [{"name": s.name, "text": s.text} for s in report_sections(report)]


class DicomSeriesSerializer(serializers.ModelSerializer):
    class Meta:
        model = DicomSeries
        fields = ["id", "series_instance_uid", "modality", "manufacturer", "model", "software_versions", "description",
                  "instances"]
        read_only_fields = fields


class StudyDetailSerializer(StudyListSerializer):
    report = serializers.SerializerMethodField()
    series = serializers.SerializerMethodField()

    class Meta(StudyListSerializer.Meta):
        fields = [*StudyListSerializer.Meta.fields, "report", "series"]
        read_only_fields = fields

    @extend_schema_field(DicomSeriesSerializer(many=True))
    def get_series(self, study: Study) -> list[dict[str, Any]]:
        """The study's DICOM series (de-identified UIDs), in import order."""
        series = DicomSeries.objects.filter(dicom_study__study=study).order_by("dicom_study_id", "id")
        return DicomSeriesSerializer(series, many=True).data

    @extend_schema_field(ReportSerializer(allow_null=True))
    def get_report(self, study: Study) -> dict[str, Any] | None:
        report = self.context.get("report")
        return ReportSerializer(report).data if report is not None else None


class ProtocolSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(choices=Role.choices, read_only=True)

    class Meta:
        model = Protocol
        fields = ["id", "irb_number", "title", "role"]
        read_only_fields = fields
