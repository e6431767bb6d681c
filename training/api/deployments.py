"""Deployments over the API: create one, post a batch of predictions, read its alerts.

Scope: a deployment of a protocol the caller is not a member of answers 404; members of other
roles may read alerts but not write (403). See docs/MONITORING.md, API.
"""
from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reports.models import Protocol
from training.models import Deployment
from training.selectors.monitoring import (
    MANAGE_ROLES,
    deployment_alerts,
    deployments_visible_to,
    get_deployment_for_user,
    has_role,
)
from training.serializers.deployments import (
    AlertSerializer,
    BatchErrorSerializer,
    DeploymentCreateInputSerializer,
    DeploymentListSerializer,
    IdOutputSerializer,
    PredictionBatchInputSerializer,
    PredictionBatchOutputSerializer,
    VersionCreateInputSerializer,
)
from training.services.deployments import (
    DeploymentInvalid,
    deployment_create,
    deployment_version_add,
)
from training.services.predictions import PredictionBatchRejected, prediction_batch_store

_WRITE_REFUSED = "Only the protocol's data scientists may change deployments."


class DeploymentListCreateApi(ListAPIView):
    serializer_class = DeploymentListSerializer

    def get_queryset(self):  # noqa: ANN201
        return deployments_visible_to(self.request.user).order_by("id")

    @extend_schema(operation_id="deployments_list")
    def get(self, request: Request) -> Response:
        return super().get(request)

    @extend_schema(
        operation_id="deployments_create",
        request=DeploymentCreateInputSerializer,
        responses={
            201: IdOutputSerializer,
            400: OpenApiResponse(description="Bad input, named by field."),
            403: OpenApiResponse(description="A member of the protocol, but not a data scientist."),
            404: OpenApiResponse(description="No such protocol among the caller's."),
        },
    )
    def post(self, request: Request) -> Response:
        data = DeploymentCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        protocol = Protocol.objects.visible_to(request.user).filter(pk=values["protocol"]).first()
        if protocol is None:
            raise Http404("No such protocol")
        if not has_role(request.user, protocol, MANAGE_ROLES):
            raise PermissionDenied(_WRITE_REFUSED)
        model = values["model"]
        try:
            deployment = deployment_create(
                protocol=protocol, name=values["name"], actor=request.user, labels=values["labels"],
                model_name=model.get("name", ""), model_version=model.get("version", ""),
                training_job_id=model.get("training_job"), thresholds=values.get("thresholds"),
                validation=values.get("validation"), webhook_url=values.get("webhook_url", ""),
            )
        except DeploymentInvalid as invalid:
            return Response({invalid.field: [invalid.message]}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"id": deployment.pk}, status=status.HTTP_201_CREATED)


def _deployment_for_write(request: Request, deployment_id: int) -> Deployment:
    deployment = get_deployment_for_user(request.user, deployment_id)
    if not has_role(request.user, deployment.protocol, MANAGE_ROLES):
        raise PermissionDenied(_WRITE_REFUSED)
    return deployment


class VersionCreateApi(APIView):
    @extend_schema(
        operation_id="deployments_versions_create",
        request=VersionCreateInputSerializer,
        responses={
            201: IdOutputSerializer,
            400: OpenApiResponse(description="Bad input, named by field."),
            403: OpenApiResponse(description="A member of the protocol, but not a data scientist."),
            404: OpenApiResponse(description="No such deployment among the caller's protocols."),
        },
    )
    def post(self, request: Request, deployment_id: int) -> Response:
        """Add a model version to a deployment; it becomes the active one unless activate is false."""
        deployment = _deployment_for_write(request, deployment_id)
        data = VersionCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        model = values["model"]
        try:
            version = deployment_version_add(
                deployment=deployment, actor=request.user, labels=values["labels"],
                model_name=model.get("name", ""), model_version=model.get("version", ""),
                training_job_id=model.get("training_job"), thresholds=values.get("thresholds"),
                validation=values.get("validation"), activate=values["activate"],
            )
        except DeploymentInvalid as invalid:
            return Response({invalid.field: [invalid.message]}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"id": version.pk}, status=status.HTTP_201_CREATED)


class PredictionBatchApi(APIView):
    @extend_schema(
        operation_id="deployments_predictions_create",
        request=PredictionBatchInputSerializer,
        responses={
            201: PredictionBatchOutputSerializer,
            400: OpenApiResponse(BatchErrorSerializer, description="The batch is refused whole; the item is named by index."),
            403: OpenApiResponse(description="A member of the protocol, but not a data scientist."),
            404: OpenApiResponse(description="No such deployment among the caller's protocols."),
        },
    )
    def post(self, request: Request, deployment_id: int) -> Response:
        deployment = _deployment_for_write(request, deployment_id)
        body = request.data
        items = body.get("predictions") if isinstance(body, dict) else None
        try:
            result = prediction_batch_store(deployment=deployment, actor=request.user, items=items)
        except PredictionBatchRejected as rejected:
            return Response(rejected.as_dict(), status=status.HTTP_400_BAD_REQUEST)
        return Response(
            {"accepted": result.accepted, "job": result.job.pk if result.job else None}, status=status.HTTP_201_CREATED
        )


class AlertListApi(APIView):
    @extend_schema(operation_id="deployments_alerts_list", responses={200: AlertSerializer(many=True)})
    def get(self, request: Request, deployment_id: int) -> Response:
        deployment = get_deployment_for_user(request.user, deployment_id)
        return Response(AlertSerializer(deployment_alerts(deployment).order_by("created_at", "id"), many=True).data)
