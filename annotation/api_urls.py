from __future__ import annotations

from django.urls import path

from annotation.api import confirmations, queue

urlpatterns: list = [
    path("queue/next/", queue.QueueNextApi.as_view(), name="api-queue-next"),
    path("studies/<int:study_id>/confirmations/", confirmations.StudyConfirmationsApi.as_view(), name="api-study-confirmations"),
]
