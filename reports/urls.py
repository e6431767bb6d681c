from __future__ import annotations

from django.urls import path

from reports.views import audit, images, imports, jobs, protocols, studies

app_name = "reports"
urlpatterns = [
    path("studies/", studies.study_list_view, name="study-list"),
    path("studies/<int:study_id>/", studies.study_detail_view, name="study-detail"),
    path("studies/<int:study_id>/images/", images.study_images, name="study-images"),
    path("series/<int:series_id>/slice.png", images.slice_png, name="slice-png"),
    path("protocols/", protocols.protocol_list_view, name="protocol-list"),
    path("protocols/<int:protocol_id>/members/", protocols.protocol_members_view, name="protocol-members"),
    path(
        "protocols/<int:protocol_id>/members/<int:membership_id>/end/",
        protocols.membership_end_date_view,
        name="membership-end-date",
    ),
    path(
        "protocols/<int:protocol_id>/members/<int:membership_id>/revoke/",
        protocols.membership_revoke_view,
        name="membership-revoke",
    ),
    path("audit/", audit.audit_log_view, name="audit-log"),
    path("imports/new/", imports.import_new, name="import-new"),
    path("imports/dicom/", imports.dicom_import_new, name="dicom-import-new"),
    path("jobs/<int:pk>/", jobs.job_detail, name="job-detail"),
]
