from __future__ import annotations

from django.apps import AppConfig

IMPORT_JOB = "import"


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Protocols, studies and reports"

    def ready(self) -> None:
        from reports.jobs.registry import register_job_kind

        register_job_kind(IMPORT_JOB, label="Import", task="reports.tasks.import_reports")
