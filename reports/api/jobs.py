"""Background jobs over the API: status and progress, scoped to the caller's protocols."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reports.permissions import get_job_for_user


class JobRowErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(allow_null=True, help_text="Physical line of the file; null for the whole file.")
    field = serializers.CharField(allow_blank=True)
    message = serializers.CharField()


class JobOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    percent = serializers.IntegerField()
    message = serializers.CharField(allow_blank=True)
    errors = JobRowErrorSerializer(many=True)
    result = serializers.DictField(help_text="For imports: created, updated, unchanged, warnings.")


class JobDetailApi(APIView):
    @extend_schema(operation_id="jobs_retrieve", responses={200: JobOutputSerializer})
    def get(self, request: Request, pk: int) -> Response:
        job = get_job_for_user(request.user, pk)
        return Response(JobOutputSerializer(job).data)
