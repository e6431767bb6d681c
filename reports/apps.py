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
        from reports.job_summaries import (
            dicom_import_summary,
            pacs_pull_summary,
            report_import_summary,
        )
        from reports.jobs.registry import register_job_kind
        from reports.models import AuditAction

        register_job_kind(IMPORT_JOB, label="Import", task="reports.tasks.import_reports", summary=report_import_summary)
        register_job_kind(
            DICOM_IMPORT_JOB, label="DICOM import", task="reports.tasks.import_dicom", summary=dicom_import_summary
        )
        register_job_kind(PACS_PULL_JOB, label="PACS retrieval", task="reports.tasks.pull_pacs", summary=pacs_pull_summary)
        # reports' own audit actions; other apps register theirs the same way.
        for action in AuditAction:
            register_audit_action(action.value, label=action.label)
        # Two-step sign-in (reports.totp): its audit actions, and what each new session owes.
        from django.contrib.auth.signals import user_logged_in

        from reports.services.totp import TOTP_AUDIT_ACTIONS
        from reports.totp.policy import remember_at_login

        for action, label in TOTP_AUDIT_ACTIONS:
            register_audit_action(action, label=label)
        user_logged_in.connect(remember_at_login, dispatch_uid="reports.totp.remember_at_login")
