"""Report imports over the API: upload a file, get a job to poll."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reports.importers.parse import FORMATS, FormatError
from reports.models import Protocol
from reports.permissions import IMPORT_ROLES
from reports.services.imports import (
    ImportRejected,
    UploadTooLarge,
    report_import_enqueue,
    upload_too_large,
    upload_was_cut,
)


class ImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV with a header row, or JSON Lines; UTF-8. See docs/IMPORT.md.")
    # The queryset is the caller's own protocols: someone else's id reads as unknown (no leak).
    protocol = serializers.PrimaryKeyRelatedField(queryset=Protocol.objects.none(), help_text="Protocol id.")
    format = serializers.ChoiceField(choices=FORMATS, required=False, help_text="Default: from the file name.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")  # absent when drf-spectacular builds the schema
        user = request.user if request is not None else AnonymousUser()
        self.fields["protocol"].queryset = Protocol.objects.visible_to(user, IMPORT_ROLES)


class ImportOutputSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    status = serializers.CharField()
    url = serializers.CharField(help_text="Where to poll the job: GET /api/v1/jobs/{id}/.")


class ImportCreateApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="imports_create",
        request={"multipart/form-data": ImportInputSerializer},
        responses={
            202: ImportOutputSerializer,
            400: OpenApiResponse(description="Bad input, named by field."),
            413: OpenApiResponse(description="The file is over the import size limit."),
        },
    )
    def post(self, request: Request) -> Response:
        if upload_too_large(request.META.get("CONTENT_LENGTH")):
            return _too_large()
        data = ImportInputSerializer(data=request.data, context={"request": request})
        if upload_was_cut(request._request):
            return _too_large()
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            return _too_large()
        try:
            job = report_import_enqueue(
                protocol=data.validated_data["protocol"], source=upload, filename=upload.name,
                fmt=data.validated_data.get("format"), actor=request.user, channel="api",
            )
        except FormatError as exc:
            raise ValidationError({"format": [str(exc)]}) from None
        except ImportRejected as rejected:
            raise ValidationError({"file": [error.message for error in rejected.errors]}) from None
        except UploadTooLarge:
            return _too_large()
        body = {"job": job.pk, "status": job.status, "url": reverse("api-job-detail", args=[job.pk])}
        return Response(ImportOutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)


def _too_large() -> Response:
    limit_mb = settings.IMPORT_MAX_BYTES // (1024 * 1024)
    return Response(
        {"file": [f"The file is larger than the {limit_mb:,} MB import limit."]},
        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    )
