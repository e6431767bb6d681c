"""GET /api/v1/queue/next/: the caller's next study, leased to them."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import ConfirmValue
from annotation.selectors.queue import READ_ROLES, labels_with_soft
from annotation.serializers import QueueNextSerializer, QueueQuerySerializer
from annotation.services.queue import queue_next
from reports.permissions import get_protocol_for_user


class QueueNextApi(APIView):
    @extend_schema(
        operation_id="queue_next",
        parameters=[QueueQuerySerializer],
        responses={200: QueueNextSerializer, 204: OpenApiResponse(description="The queue is empty.")},
    )
    def get(self, request: Request) -> Response:
        query = QueueQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        protocol = get_protocol_for_user(request.user, query.validated_data["protocol"], READ_ROLES)
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
