from __future__ import annotations

from django.urls import path

from annotation.api import confirmations, queue
from annotation.api import phrases as phrase_api

urlpatterns: list = [
    path("queue/next/", queue.QueueNextApi.as_view(), name="api-queue-next"),
    path("studies/<int:study_id>/confirmations/", confirmations.StudyConfirmationsApi.as_view(), name="api-study-confirmations"),
    # phrase curation (issue 8, parts 1-3 and 8)
    path("protocols/<int:protocol_id>/phrases/", phrase_api.ProtocolPhrasesApi.as_view(), name="api-protocol-phrases"),
    path("protocols/<int:protocol_id>/phrase-preview/", phrase_api.PhrasePreviewApi.as_view(), name="api-phrase-preview"),
    path("protocols/<int:protocol_id>/phrase-changes/", phrase_api.PhraseChangesApi.as_view(), name="api-phrase-changes"),
]
