"""GET /api/v1/queue/next/: the caller's next study, leased to them."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import ConfirmValue
from annotation.permissions import Action, get_protocol_for_action
from annotation.selectors.queue import labels_with_soft
from annotation.serializers import QueueNextSerializer, QueueQuerySerializer
from annotation.services.queue import queue_next
from annotation.services.schemas import schema_ensure_stored
from reports.serializers import ErrorSerializer


class QueueNextApi(APIView):
    @extend_schema(
        operation_id="queue_next",
        parameters=[QueueQuerySerializer],
        responses={
            200: QueueNextSerializer,
            204: OpenApiResponse(description="The queue is empty."),
            404: OpenApiResponse(ErrorSerializer, description="No such protocol, or the caller may not read it."),
        },
    )
    def get(self, request: Request) -> Response:
        query = QueueQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        protocol = get_protocol_for_action(
            request.user, query.validated_data["protocol"], Action.READ, wrong_role=404
        )
        schema_ensure_stored(protocol)
        study = queue_next(protocol=protocol, reader=request.user, label_id=query.validated_data.get("label"))
        if study is None:
            return Response(status=204)
        labels, soft = labels_with_soft(protocol=protocol, study=study)
        rows = [
            {
                "label": label.name,
                "value": soft[label.pk].value if label.pk in soft else ConfirmValue.ABSENT,
                "p": soft[label.pk].p if label.pk in soft else None,
            }
            for label in labels
        ]
        return Response(QueueNextSerializer({"study": study.pk, "version": study.version, "labels": rows}).data)
