"""GET / POST /api/v1/studies/{id}/confirmations/."""
from __future__ import annotations

from django.db.models import Q
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import Confirmation, ConfirmationKind
from annotation.permissions import READ_ROLES, SEE_ALL_READS_ROLES
from annotation.serializers import (
    ConfirmationInSerializer,
    ConfirmationOutSerializer,
    ConflictSerializer,
)
from annotation.services.confirm import (
    ConfirmationConflict,
    ConfirmationInvalid,
    confirmation_submit,
)
from reports.models import Protocol, Study


def _study(request: Request, study_id: int, roles: tuple[str, ...] | None = None) -> Study:
    study = Study.objects.visible_to(request.user, roles).select_related("protocol").filter(pk=study_id).first()
    if study is None:
        raise NotFound("No such study")
    return study


class StudyConfirmationsApi(APIView):
    # Declared on the view (not only built in get) so the schema documents the paged envelope.
    pagination_class = PageNumberPagination

    @extend_schema(
        operation_id="study_confirmations_list",
        responses={200: ConfirmationOutSerializer(many=True)},
        description="Readers are blind to each other: a radiologist sees their own reads and the adjudication; "
        "curators and data scientists see every read.",
    )
    def get(self, request: Request, study_id: int) -> Response:
        study = _study(request, study_id)
        qs = (
            Confirmation.objects.filter(study=study)
            .select_related("reader")
            .prefetch_related("labels__label")
            .order_by("created_at", "id")
        )
        sees_all = (
            Protocol.objects.visible_to(request.user, SEE_ALL_READS_ROLES).filter(pk=study.protocol_id).exists()
        )
        if not sees_all:
            qs = qs.filter(Q(reader=request.user) | Q(kind=ConfirmationKind.ADJUDICATION))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(ConfirmationOutSerializer(page, many=True).data)

    @extend_schema(
        operation_id="study_confirmations_create",
        request=ConfirmationInSerializer,
        responses={
            201: ConfirmationOutSerializer,
            400: OpenApiResponse(description="Unknown label names or values, named."),
            409: ConflictSerializer,
        },
    )
    def post(self, request: Request, study_id: int) -> Response:
        study = _study(request, study_id, READ_ROLES)
        body = ConfirmationInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            confirmation = confirmation_submit(
                study=study,
                reader=request.user,
                values=body.validated_data["labels"],
                version=body.validated_data["version"],
                time_spent_ms=body.validated_data.get("time_spent_ms"),
                request=request._request,
                channel="api",
            )
        except ConfirmationInvalid as invalid:
            return Response(
                {
                    "detail": str(invalid),
                    "unknown_labels": invalid.unknown_labels,
                    "invalid_values": invalid.invalid_values,
                },
                status=400,
            )
        except ConfirmationConflict as conflict:
            return Response(conflict.as_dict(), status=409)
        confirmation = Confirmation.objects.select_related("reader").prefetch_related("labels__label").get(pk=confirmation.pk)
        return Response(ConfirmationOutSerializer(confirmation).data, status=201)
