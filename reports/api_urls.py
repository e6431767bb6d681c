from __future__ import annotations

from django.urls import path

from reports.api import auth as auth_api
from reports.api import imports as imports_api
from reports.api import jobs as jobs_api
from reports.api import protocols as protocols_api
from reports.api import studies as studies_api

urlpatterns: list = [
    path("auth/token/", auth_api.TokenObtainApi.as_view(), name="api-auth-token"),
    path("studies/", studies_api.StudyListApi.as_view(), name="api-study-list"),
    path("studies/<int:study_id>/", studies_api.StudyDetailApi.as_view(), name="api-study-detail"),
    path("protocols/", protocols_api.ProtocolListApi.as_view(), name="api-protocol-list"),
    path("imports/", imports_api.ImportCreateApi.as_view(), name="api-import-create"),
    path("jobs/<int:pk>/", jobs_api.JobDetailApi.as_view(), name="api-job-detail"),
]
