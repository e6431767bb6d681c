"""Studies over the API: a list without report text, and a detail with the (audited) report."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from reports.api.pagination import StudyPagination
from reports.hooks import study_detail_extras
from reports.models import StudyQuerySet
from reports.selectors.studies import study_list
from reports.serializers import StudyDetailSerializer, StudyFilterSerializer, StudyListSerializer
from reports.services.studies import study_report_read

_FILTER_PARAMETERS = [
    OpenApiParameter("protocol", OpenApiTypes.INT, description="Protocol id."),
    OpenApiParameter("modality", OpenApiTypes.STR, description="Modality, e.g. CR or CT (any case)."),
    OpenApiParameter("q", OpenApiTypes.STR, description="Accession prefix."),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="First study date, inclusive."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Last study date, inclusive."),
]


class StudyListApi(ListAPIView):
    serializer_class = StudyListSerializer
    pagination_class = StudyPagination

    def get_queryset(self) -> StudyQuerySet:
        filters = StudyFilterSerializer(data=self.request.query_params)
        # A bad filter answers 400 naming the parameter, never an unfiltered list.
        filters.is_valid(raise_exception=True)
        return study_list(user=self.request.user, filters=filters.to_filters())

    @extend_schema(operation_id="studies_list", parameters=_FILTER_PARAMETERS)
    def get(self, request: Request) -> Response:
        return super().get(request)


class StudyDetailApi(GenericAPIView):
    serializer_class = StudyDetailSerializer

    @extend_schema(operation_id="studies_retrieve", responses={200: StudyDetailSerializer})
    def get(self, request: Request, study_id: int) -> Response:
        study, report = study_report_read(user=request.user, study_id=study_id, request=request._request, channel="api")
        data = StudyDetailSerializer(study, context={"report": report}).data
        data.update(study_detail_extras(study, request.user))
        return Response(data)
