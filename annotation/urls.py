from __future__ import annotations

from django.urls import path

from annotation.views import adjudication, agreement, labels, read

app_name = "annotation"
urlpatterns = [
    path("protocols/<int:protocol_id>/labels/", labels.protocol_labels_view, name="protocol-labels"),
    path("protocols/<int:protocol_id>/read/", read.read_next, name="read-next"),
    path("read/<int:study_id>/", read.read_study, name="read-study"),
    path("read/<int:study_id>/confirm/", read.read_confirm, name="read-confirm"),
    path("read/<int:study_id>/skip/", read.read_skip, name="read-skip"),
    path("read/confirmations/<int:confirmation_id>/undo/", read.read_undo, name="read-undo"),
    path("protocols/<int:protocol_id>/agreement/", agreement.agreement, name="agreement"),
    path("protocols/<int:protocol_id>/adjudication/", adjudication.adjudication_queue, name="adjudication-queue"),
    path("adjudication/<int:study_id>/", adjudication.adjudication_study, name="adjudication-study"),
]
