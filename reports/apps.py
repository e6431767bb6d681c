from __future__ import annotations

from django.apps import AppConfig

IMPORT_JOB = "import"
DICOM_IMPORT_JOB = "dicom_import"
PACS_PULL_JOB = "pacs_pull"


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Protocols, studies and reports"

    def ready(self) -> None:
        from reports.audit_actions import register_audit_action
        from reports.jobs.registry import register_job_kind
        from reports.models import AuditAction

        register_job_kind(IMPORT_JOB, label="Import", task="reports.tasks.import_reports")
        register_job_kind(DICOM_IMPORT_JOB, label="DICOM import", task="reports.tasks.import_dicom")
        register_job_kind(PACS_PULL_JOB, label="PACS retrieval", task="reports.tasks.pull_pacs")
        # reports' own audit actions; other apps register theirs the same way.
        for action in AuditAction:
            register_audit_action(action.value, label=action.label)
