from __future__ import annotations

from django.apps import AppConfig

# Audit actions, here so that ready() registers them without importing the services that record
# them (training.services.cohorts, .cohort_images), which pull in annotation and pydicom.
COHORT_EXPORT_ACTION = "cohort.export"  # an export of a cohort: its own filter on the audit page
COHORT_IMAGES_ACTION = "cohort.images"  # a request to convert (or retry) a cohort's images


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Cohorts, training and monitoring"

    def ready(self) -> None:
        # Task modules are not imported here: workers load them through training.tasks (Celery's
        # autodiscovery), and other processes send jobs by task name (reports.jobs.registry), so
        # `manage.py softlabel` and the web process do not pay for scipy, Optuna or torch at start-up.
        from reports.jobs.registry import register_job_kind

        register_job_kind("cohort_freeze", label="Cohort freeze", task="training.cohort_tasks.cohort_freeze_task")
        from training.job_summaries import cohort_images_summary

        register_job_kind(
            "cohort_images", label="Cohort images to NIfTI", task="training.cohort_tasks.cohort_images_task",
            summary=cohort_images_summary,
        )
        from reports.audit_actions import register_audit_action

        register_audit_action(COHORT_EXPORT_ACTION, label="Exported a cohort")
        register_audit_action(COHORT_IMAGES_ACTION, label="Converted a cohort's images")
        # deployments and monitoring: analyses of large prediction sets run as jobs
        register_job_kind("monitoring", label="Monitoring analysis", task="training.monitoring_tasks.monitoring_analyse_task")
        from reports.hooks import register_import_listener

        register_import_listener(_monitoring_on_import)
        # training jobs: the job's task and its trial tasks run on their own queue
        register_job_kind("training", label="Training", task="training.tasks.train", queue="training")


def _monitoring_on_import(*args: object, **kwargs: object) -> object:
    # Imported on first use: the monitoring service pulls in numpy and scipy.
    from training.services.monitoring import monitoring_on_import

    return monitoring_on_import(*args, **kwargs)
