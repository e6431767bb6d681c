"""A training job's kept model is deployed, and scores new studies when reports are imported."""
from __future__ import annotations

import pytest

from reports.models import AccessEvent, AuditAction, Job, JobStatus
from reports.services.imports import report_import
from tests.reports.factories import ReportFactory, StudyFactory, UserFactory
from tests.training.monitoring.factories import schema_labels
from training.ml import textclf
from training.models import Cohort, Prediction, TrainingPrediction, TrainingRun
from training.monitoring_tasks import monitoring_analyse_task
from training.services.artifacts import artifact_keep, artifacts_root
from training.services.deployments import DeploymentInvalid, deployment_create

pytestmark = pytest.mark.django_db

LABELS = ["Edema", "Effusion"]


@pytest.fixture
def trained_job(protocol, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    schema_labels(protocol)
    cohort = Cohort.objects.create(
        protocol=protocol, name="c", version=1, labels=LABELS, params={}, sha256="0" * 64, study_count=0,
        splits={}, summary={},
    )
    job = Job.objects.create(kind="training", protocol=protocol, status=JobStatus.SUCCEEDED)
    run = TrainingRun.objects.create(
        job=job, cohort=cohort, model_name="ngram-bag", strategy="random", trial_budget=1, study_name=f"mon-{job.pk}",
        cohort_sha256="0" * 64, thresholds={"Edema": 0.4, "Effusion": 0.5}, model_card={"cohort": {"labels": LABELS}},
        results={"metrics": {"validation": {"labels": {"Edema": {"auroc": 0.91}}}}},
    )
    params = textclf.TrainParams(buckets=1024, embed_dim=8)
    weights = textclf.save_weights(textclf.build_model(n_labels=2, params=params), labels=LABELS, params=params)
    path, _ = artifact_keep(run=run, weights=weights, card={})
    run.artifact_path = str(path.relative_to(artifacts_root()))
    run.save(update_fields=["artifact_path"])
    for p, target in [(0.9, 1.0), (0.3, 1.0), (0.1, 0.0), (0.45, 0.0)]:
        TrainingPrediction.objects.create(run=run, study=StudyFactory(protocol=protocol), label="Edema",
                                          split="validation", p=p, target=target, baseline_p=0.0)
    return job


def test_deploying_a_training_job_takes_its_labels_thresholds_and_validation_figures(protocol, trained_job):
    deployment = deployment_create(protocol=protocol, name="in-app", actor=None, labels=[], training_job_id=trained_job.pk)
    version = deployment.active_version
    assert version.training_job_id == trained_job.pk
    assert version.labels == LABELS
    assert version.thresholds == {"Edema": 0.4, "Effusion": 0.5}
    assert version.validation["Edema"] == {
        "n": 4, "prevalence": 0.5, "sensitivity": 0.5, "specificity": 0.5, "ppv": 0.5, "auroc": 0.91,
    }


def test_an_image_model_job_is_not_deployed_in_app(protocol, trained_job):
    # The monitoring job scores new reports' text; an image model has no input for them.
    TrainingRun.objects.filter(job=trained_job).update(model_name="cnn3d-small")
    with pytest.raises(DeploymentInvalid, match="reads images"):
        deployment_create(protocol=protocol, name="img", actor=None, labels=[], training_job_id=trained_job.pk)


def test_a_job_of_another_protocol_cannot_be_deployed(other_protocol, trained_job):
    schema_labels(other_protocol)
    with pytest.raises(DeploymentInvalid):
        deployment_create(protocol=other_protocol, name="x", actor=None, labels=[], training_job_id=trained_job.pk)


def test_an_import_queues_scoring_of_the_new_studies(protocol, trained_job, tmp_path, monkeypatch,
                                                     django_capture_on_commit_callbacks):
    deployment = deployment_create(protocol=protocol, name="in-app", actor=None, labels=[], training_job_id=trained_job.pk)
    ReportFactory(study=StudyFactory(protocol=protocol))  # imported before: scored too (backfill)
    sent = []
    monkeypatch.setattr("reports.services.jobs.job_enqueue", lambda job_id, kind: sent.append((job_id, kind)))
    path = tmp_path / "new.csv"
    path.write_text("accession,text,software_version\nNEW1,FINDINGS: edema.,VA10\nNEW2,FINDINGS: clear.,VA10\n")
    with django_capture_on_commit_callbacks(execute=True):
        report_import(protocol=protocol, path=path, fmt="csv", actor=UserFactory(), channel="command")
    # The import also queues a relabel (annotation's import listener) for the new reports.
    assert sorted(kind for _, kind in sent) == ["monitoring", "relabel"]
    monitoring_id = next(job_id for job_id, kind in sent if kind == "monitoring")
    monitoring_analyse_task(monitoring_id)
    job = Job.objects.get(pk=monitoring_id)
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.result["scored"] == 3
    version = deployment.active_version
    assert Prediction.objects.filter(version=version).count() == 3 * len(LABELS)
    assert AccessEvent.objects.filter(action=AuditAction.REPORT_READ, channel="task").count() == 1
    # Scoring again finds nothing new.
    monitoring_analyse_task(Job.objects.create(kind="monitoring", protocol=protocol,
                                               params={"deployment": deployment.pk, "version": version.pk}).pk)
    assert Prediction.objects.filter(version=version).count() == 3 * len(LABELS)


def test_each_scoring_that_reads_reports_is_one_report_read_audit_row(protocol, trained_job, monkeypatch):
    from reports.services import audit
    from training.services.predictions import in_app_score

    deployment = deployment_create(protocol=protocol, name="in-app", actor=None, labels=[], training_job_id=trained_job.pk)
    version = deployment.active_version
    # A spy, not a mock: the real audit row is still written, and the test sees which path wrote it.
    through_report_read = []
    real = audit.audit_report_read
    monkeypatch.setattr(audit, "audit_report_read", lambda **kw: through_report_read.append(kw) or real(**kw))
    for _ in range(2):
        ReportFactory(study=StudyFactory(protocol=protocol), text="FINDINGS: Edema.")

    assert in_app_score(deployment=deployment, version=version) == 2
    assert in_app_score(deployment=deployment, version=version) == 0  # nothing new: nothing read
    ReportFactory(study=StudyFactory(protocol=protocol), text="FINDINGS: Clear.")
    assert in_app_score(deployment=deployment, version=version) == 1

    rows = AccessEvent.objects.filter(action=AuditAction.REPORT_READ, channel="task").order_by("id")
    assert [row.detail["reports"] for row in rows] == [2, 1]
    assert len(through_report_read) == 2
    assert all(row.protocol_id == protocol.pk and "Edema" not in str(row.detail) for row in rows)
