"""/api/v1/cohorts/: list and freeze cohorts, read one, export it, convert its images to NIfTI
(data scientists on the protocol)."""
from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.permissions import Action, get_protocol_for_action
from training.models import Cohort
from training.selectors.cohorts import cohorts_for_user, get_cohort_for_user
from training.serializers.cohorts import (
    CohortCreatedSerializer,
    CohortCreateSerializer,
    CohortDetailSerializer,
    CohortExportQuerySerializer,
    CohortListQuerySerializer,
    CohortOutSerializer,
    CohortQueuedSerializer,
)
from training.services.cohort_images import cohort_images_request
from training.services.cohorts import CohortEmpty, CohortInvalid, cohort_request, cohort_spec_build
from training.views.cohorts import cohort_export_response


class CohortListApi(APIView):
    # Declared on the view (not only built in get) so the schema documents the paged envelope.
    pagination_class = PageNumberPagination

    @extend_schema(operation_id="cohort_list", parameters=[CohortListQuerySerializer], responses={200: CohortOutSerializer(many=True)})
    def get(self, request: Request) -> Response:
        query = CohortListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        qs = cohorts_for_user(user=request.user, protocol_id=query.validated_data.get("protocol"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(CohortOutSerializer(page, many=True).data)

    @extend_schema(
        operation_id="cohort_create",
        request=CohortCreateSerializer,
        responses={
            201: CohortCreatedSerializer,
            202: OpenApiResponse(CohortQueuedSerializer, description="Large: frozen by a job (GET /api/v1/jobs/{job}/)."),
            400: OpenApiResponse(description="Invalid request, or no study qualifies (the detail says why)."),
            403: OpenApiResponse(description="Not a data scientist on the protocol."),
            404: OpenApiResponse(description="No such protocol for the caller."),
        },
    )
    def post(self, request: Request) -> Response:
        data = CohortCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        protocol = get_protocol_for_action(request.user, data.validated_data["protocol"], Action.EXPORT)
        try:
            spec = cohort_spec_build(protocol=protocol, data=data.validated_data)
            outcome = cohort_request(spec=spec, actor=request.user)
        except CohortInvalid as invalid:
            return Response(invalid.errors, status=400)
        except CohortEmpty as empty:
            return Response({"detail": str(empty)}, status=400)
        if isinstance(outcome, Cohort):
            return Response(CohortCreatedSerializer(outcome).data, status=201)
        return Response(CohortQueuedSerializer(outcome).data, status=202)


class CohortDetailApi(APIView):
    @extend_schema(operation_id="cohort_detail", responses={200: CohortDetailSerializer})
    def get(self, request: Request, cohort_id: int) -> Response:
        return Response(CohortDetailSerializer(get_cohort_for_user(request.user, cohort_id)).data)


class CohortExportApi(APIView):
    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[BaseRenderer, str]:
        # `?format=` names the export file here, not one of DRF's renderers (URL_FORMAT_OVERRIDE):
        # errors answer JSON, the file streams past the renderers.
        renderer = JSONRenderer()
        return renderer, renderer.media_type

    @extend_schema(
        operation_id="cohort_export",
        parameters=[CohortExportQuerySerializer],
        responses={(200, "application/x-ndjson"): OpenApiTypes.BINARY, (200, "text/csv"): OpenApiTypes.BINARY},
        description=(
            "jsonl / csv: one row per study: study, accession, patient, split, labels, targets, source, p, text. "
            "nifti-manifest (JSONL) / nifti-manifest-csv: one row per study with a NIfTI volume: study, series_uid, "
            "path, split, sha256, and the label vector in the cohort's label order. Streamed; audited."
        ),
    )
    def get(self, request: Request, cohort_id: int) -> StreamingHttpResponse:
        cohort = get_cohort_for_user(request.user, cohort_id)
        query = CohortExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return cohort_export_response(request, cohort, query.validated_data["format"], channel="api")


class CohortImagesApi(APIView):
    """The API twin of the cohort page's "Convert images" / "Retry refused" buttons."""

    class InputSerializer(serializers.Serializer):
        retry_refused = serializers.BooleanField(
            default=False, help_text="Also try again the studies whose series the last conversion refused."
        )

    class NothingToDoSerializer(serializers.Serializer):
        job = serializers.IntegerField(allow_null=True, help_text="Always null: no job was started.")
        detail = serializers.CharField()

    @extend_schema(
        operation_id="cohort_images_convert",
        request=InputSerializer,
        responses={
            202: OpenApiResponse(
                CohortQueuedSerializer,
                description="The conversion job, new or already queued / running (GET /api/v1/jobs/{job}/).",
            ),
            200: OpenApiResponse(NothingToDoSerializer, description="No study with images is left to convert."),
            403: OpenApiResponse(description="Not a data scientist on the protocol."),
            404: OpenApiResponse(description="No such cohort for the caller."),
        },
    )
    def post(self, request: Request, cohort_id: int) -> Response:
        cohort = get_cohort_for_user(request.user, cohort_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = cohort_images_request(
            cohort=cohort, actor=request.user, retry_refused=data.validated_data["retry_refused"], request=request,
            channel="api",
        )
        if job is None:
            detail = "Every study of this cohort that has images is converted already."
            return Response(self.NothingToDoSerializer({"job": None, "detail": detail}).data, status=200)
        return Response(CohortQueuedSerializer(job).data, status=202)
