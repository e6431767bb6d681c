"""Page sizes clients may choose, within bounds the server sets."""
from __future__ import annotations

from rest_framework.pagination import PageNumberPagination


class StudyPagination(PageNumberPagination):
    """?page_size=N up to 500: scripts page through a protocol in fewer requests.

    Study list rows hold no report text, so 500 rows stay a small answer; a larger or invalid
    page_size is clamped to the maximum or falls back to the default (DRF's rule), never an error.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
