from __future__ import annotations

from django.urls import path  # noqa: F401  (helpers add their routes below, one block per area)

from training.api import cohorts as cohort_api
from training.api import deployments as deployment_api
from training.api import jobs as training_api

urlpatterns: list = [
    # cohorts
    path("cohorts/", cohort_api.CohortListApi.as_view(), name="api-cohort-list"),
    path("cohorts/<int:cohort_id>/", cohort_api.CohortDetailApi.as_view(), name="api-cohort-detail"),
    path("cohorts/<int:cohort_id>/export/", cohort_api.CohortExportApi.as_view(), name="api-cohort-export"),
    path("cohorts/<int:cohort_id>/images/", cohort_api.CohortImagesApi.as_view(), name="api-cohort-images"),
    # training jobs
    path("training/jobs/", training_api.TrainingJobCreateApi.as_view(), name="api-training-job-create"),
    path("training/jobs/<int:training_job_id>/", training_api.TrainingJobDetailApi.as_view(), name="api-training-job-detail"),
    path("training/jobs/<int:training_job_id>/cancel/", training_api.TrainingJobCancelApi.as_view(), name="api-training-job-cancel"),
    path("training/jobs/<int:training_job_id>/predictions/", training_api.TrainingPredictionsApi.as_view(), name="api-training-job-predictions"),
    path("training/jobs/<int:training_job_id>/model/", training_api.TrainingModelApi.as_view(), name="api-training-job-model"),
    # deployments and monitoring
    path("deployments/", deployment_api.DeploymentListCreateApi.as_view(), name="api-deployment-list"),
    path(
        "deployments/<int:deployment_id>/predictions/", deployment_api.PredictionBatchApi.as_view(),
        name="api-deployment-predictions",
    ),
    path("deployments/<int:deployment_id>/alerts/", deployment_api.AlertListApi.as_view(), name="api-deployment-alerts"),
    path("deployments/<int:deployment_id>/versions/", deployment_api.VersionCreateApi.as_view(), name="api-deployment-versions"),
]
