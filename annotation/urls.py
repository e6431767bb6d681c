from __future__ import annotations

from django.urls import path

from annotation.views import adjudication, agreement, labels, read
from annotation.views import matches as match_views
from annotation.views import phrases as phrase_views
from annotation.views import quality as quality_views
from annotation.views import review as review_views

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
    # phrase curation (issue 8, parts 1-3): a label's phrase table, preview, save, revert
    path("protocols/<int:protocol_id>/labels/<int:label_id>/phrases/", phrase_views.phrase_table_view, name="phrase-table"),
    path("protocols/<int:protocol_id>/labels/<int:label_id>/phrases/preview/", phrase_views.phrase_preview_view, name="phrase-preview"),
    path("protocols/<int:protocol_id>/labels/<int:label_id>/phrases/save/", phrase_views.phrase_save_view, name="phrase-save"),
    path("protocols/<int:protocol_id>/phrase-changes/<int:change_id>/revert/", phrase_views.phrase_revert_view, name="phrase-revert"),
    # quality assessment (issue 8, parts 4-7): label, phrase, sample as query parameters
    path("protocols/<int:protocol_id>/matches/", match_views.matches, name="matches"),
    path("protocols/<int:protocol_id>/matches/judge/", match_views.match_judge_view, name="match-judge"),
    path("protocols/<int:protocol_id>/matches/precision/", match_views.phrase_precision_apply_view, name="phrase-precision-apply"),
    path("protocols/<int:protocol_id>/quality/", quality_views.quality, name="quality"),
    path("protocols/<int:protocol_id>/quality/draw/", quality_views.quality_draw, name="quality-draw"),
    path("protocols/<int:protocol_id>/quality/judge/", quality_views.quality_judge, name="quality-judge"),
    path("protocols/<int:protocol_id>/calibration/", quality_views.calibration, name="calibration"),
    path("protocols/<int:protocol_id>/calibration/fit/", quality_views.calibration_fit, name="calibration-fit"),
    path("protocols/<int:protocol_id>/review/", review_views.review, name="review"),
]
