"""seed_demo's monitoring step: a new user's Monitoring page shows a deployment with a history.

Each test seeds the full demo (300 reports): the alert needs enough studies after the demo's
software update for the detector to confirm the drop.
"""
from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from annotation.apps import RELABEL_JOB
from config.demo.monitoring import DEMO_DEPLOYMENT, DEMO_MODEL, DRIFTING_LABEL, VALIDATION
from config.demo.seed import DEMO_IRB, NEW_SOFTWARE
from reports.models import Job, JobStatus, Study
from training.models import Deployment, MonitoringAlert, Prediction

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    settings.DICOM_STORAGE_DIR = tmp_path / "dicom"
    monkeypatch.setenv("DEMO_PASSWORD", "demo-password-1")
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {
        "deployments": Deployment.objects.count(),
        "predictions": Prediction.objects.count(),
        "alerts": MonitoringAlert.objects.count(),
        "relabel_jobs": Job.objects.filter(kind=RELABEL_JOB).count(),
    }


def test_the_demo_deploys_a_model_whose_drop_after_the_software_update_is_flagged_once(seeded):
    deployment = Deployment.objects.select_related("active_version").get(name=DEMO_DEPLOYMENT)
    version = deployment.active_version
    assert deployment.protocol.irb_number == DEMO_IRB
    assert (version.model_name, version.model_version) == DEMO_MODEL
    assert set(version.labels) == set(VALIDATION)
    studies = Study.objects.filter(protocol=deployment.protocol, report__isnull=False).count()
    assert Prediction.objects.filter(version=version).count() == studies * len(VALIDATION)

    (alert,) = MonitoringAlert.objects.select_related("label", "change_study", "event_study")
    assert alert.label.name == DRIFTING_LABEL
    assert alert.after < alert.before - 0.3
    # The alert names the update that preceded it, and the change point falls after the update.
    assert (alert.event_kind, alert.event_value) == ("software_version", NEW_SOFTWARE)
    assert alert.change_study.software_version == NEW_SOFTWARE
    assert "1 new alert" in seeded
    # The import's relabel job ran inside the seed, and a rerun (every `make run`) adds nothing.
    (job,) = Job.objects.filter(kind=RELABEL_JOB)
    assert job.status == JobStatus.SUCCEEDED
    before = _counts()
    call_command("seed_demo", stdout=io.StringIO())
    assert _counts() == before


def test_the_monitoring_page_opens_on_the_demo_deployment(seeded, client):
    deployment = Deployment.objects.get(name=DEMO_DEPLOYMENT)
    client.force_login(get_user_model().objects.get(username="scientist"))

    listing = client.get(reverse("training:deployment-list"))
    page = client.get(reverse("training:deployment-monitoring", args=[deployment.pk]))

    assert DEMO_DEPLOYMENT.encode() in listing.content
    assert page.status_code == 200
    assert DRIFTING_LABEL.encode() in page.content
    assert NEW_SOFTWARE.encode() in page.content
    assert reverse("training:alert-detail", args=[MonitoringAlert.objects.get().pk]).encode() in page.content

