"""Celery entry point for monitoring analyses; imported by TrainingConfig.ready()."""
from __future__ import annotations

from celery import shared_task

from reports.jobs.runner import JobFailed, JobOutcome, run_job
from reports.models import Job
from training.models import Deployment, DeploymentVersion
from training.services.monitoring import monitoring_analyse
from training.services.predictions import in_app_score


def _monitoring_body(job: Job) -> JobOutcome:
    deployment = Deployment.objects.select_related("protocol", "active_version").filter(
        pk=job.params.get("deployment"), protocol=job.protocol
    ).first()
    if deployment is None:
        raise JobFailed("The deployment is gone.")
    version = DeploymentVersion.objects.filter(pk=job.params.get("version"), deployment=deployment).first()
    version = version or deployment.active_version
    # An in-app model scores the studies imported since its last run before the analysis.
    scored = in_app_score(deployment=deployment, version=version, job=job)
    counts = {**monitoring_analyse(deployment=deployment, version=version), "scored": scored}
    return JobOutcome(
        result=counts,
        message=f"Analysed {counts['studies']:,} studies over {counts['labels']} labels: {counts['new_alerts']} new alert(s)",
    )


@shared_task(name="training.monitoring_tasks.monitoring_analyse_task", acks_late=True)
def monitoring_analyse_task(job_id: int) -> None:
    """Run a queued monitoring job; reruns are harmless (alerts are unique per change point)."""
    run_job(job_id, _monitoring_body, failure="The monitoring analysis failed")
