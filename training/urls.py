from __future__ import annotations

from django.urls import path  # noqa: F401  (helpers add their routes below, one block per area)

from training.views import cohorts as cohort_views
from training.views import jobs as job_views
from training.views import monitoring as monitoring_views

app_name = "training"
urlpatterns: list = [
    # cohorts
    path("cohorts/", cohort_views.cohort_index, name="cohort-index"),
    path("protocols/<int:protocol_id>/cohorts/", cohort_views.cohort_list, name="cohort-list"),
    path("protocols/<int:protocol_id>/cohorts/new/", cohort_views.cohort_new, name="cohort-new"),
    path("protocols/<int:protocol_id>/cohorts/preview/", cohort_views.cohort_preview_view, name="cohort-preview"),
    path("cohorts/<int:cohort_id>/", cohort_views.cohort_detail, name="cohort-detail"),
    path("cohorts/<int:cohort_id>/export/", cohort_views.cohort_export, name="cohort-export"),
    path("cohorts/<int:cohort_id>/images/convert/", cohort_views.cohort_images_convert, name="cohort-images-convert"),
    # training jobs
    path("training/", job_views.job_list, name="job-list"),
    path("training/new/", job_views.job_new, name="job-new"),
    path("training/compare/", job_views.job_compare, name="job-compare"),
    path("training/<int:training_job_id>/", job_views.job_detail, name="job-detail"),
    path("training/<int:training_job_id>/cancel/", job_views.job_cancel, name="job-cancel"),
    path("training/<int:training_job_id>/model/", job_views.job_model, name="job-model"),
    # deployments and monitoring
    path("deployments/", monitoring_views.deployment_list, name="deployment-list"),
    path("deployments/<int:deployment_id>/", monitoring_views.deployment_monitoring, name="deployment-monitoring"),
    path("deployments/<int:deployment_id>/activate/", monitoring_views.deployment_activate_view, name="deployment-activate"),
    path("deployments/<int:deployment_id>/versions/new/", monitoring_views.deployment_version_new, name="deployment-version-new"),
    path("deployments/<int:deployment_id>/analyse/", monitoring_views.deployment_analyse_view, name="deployment-analyse"),
    path("alerts/<int:alert_id>/", monitoring_views.alert_detail, name="alert-detail"),
    path("alerts/<int:alert_id>/acknowledge/", monitoring_views.alert_acknowledge_view, name="alert-acknowledge"),
    path("alerts/<int:alert_id>/resolve/", monitoring_views.alert_resolve_view, name="alert-resolve"),
    path("alerts/<int:alert_id>/queue/", monitoring_views.alert_queue_view, name="alert-queue"),
]
