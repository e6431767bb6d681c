from __future__ import annotations

from rest_framework.generics import ListAPIView

from reports.models import ProtocolQuerySet
from reports.selectors.protocols import protocols_with_role_for_user
from reports.serializers import ProtocolSerializer


class ProtocolListApi(ListAPIView):
    """The caller's protocols today, with the caller's role on each (not paginated: a handful)."""

    serializer_class = ProtocolSerializer
    pagination_class = None

    def get_queryset(self) -> ProtocolQuerySet:
        return protocols_with_role_for_user(user=self.request.user)
