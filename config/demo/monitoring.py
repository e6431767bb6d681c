"""Demo monitoring: a deployed external model with a history, so the Monitoring page is not empty.

The demo protocol gets one deployment, "Chest X-ray triage (demo)", whose model version scores
two labels. Its outputs are drawn from the engine's soft labels with a little noise, except that
after the demo X-ray room's software update (config.demo.seed.NEW_SOFTWARE) its pleural effusion
outputs are wrong about half the time: the kind of silent drop monitoring exists to catch. The outputs go through
the same service as a batch posted to the API (prediction_batch_store), which runs the real
analysis, so the page opens on agreement charts, the software change on the timeline and the
alert it raised.

Idempotent: the deployment is created once, and only studies without an output from the demo
version are scored, so a rerun adds nothing (and a larger demo gets its new studies scored).
"""
from __future__ import annotations

import datetime as dt
import random
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

from annotation.models import SoftLabel
from config.demo.seed import NEW_SOFTWARE, SOFTWARE_UPDATE_DAYS_AGO
from reports.models import Study
from training.models import Deployment, Prediction

if TYPE_CHECKING:
    from config.demo.seed import DemoRun

DEMO_DEPLOYMENT = "Chest X-ray triage (demo)"
DEMO_MODEL = ("demo-cxr-triage", "1.0")
STABLE_LABEL, DRIFTING_LABEL = "Cardiomegaly", "Pleural Effusion"
# What the model's makers measured before deployment; they set the baseline disagreement.
VALIDATION = {
    STABLE_LABEL: {"sensitivity": 0.93, "specificity": 0.96, "n": 1200},
    DRIFTING_LABEL: {"sensitivity": 0.94, "specificity": 0.95, "n": 1200},
}
NOISE = 0.03  # share of outputs on the wrong side of the threshold, before the update
DRIFT = 0.55  # share of the drifting label's outputs wrong after the update


def seed_monitoring(run: DemoRun) -> None:
    """Create the demo deployment once and score the studies it has not scored yet."""
    if not run.labels:
        return  # the model's outputs are drawn from the soft labels, which this run skipped
    protocol = run.demo_protocol
    deployment = Deployment.objects.filter(protocol=protocol, name=DEMO_DEPLOYMENT).select_related(
        "active_version", "protocol"
    ).first()
    if deployment is not None and not _unscored(deployment).exists():
        return  # the usual rerun: done before the services load numpy and scipy (a second or so)
    from training.services.deployments import deployment_create
    from training.services.predictions import prediction_batch_store

    if deployment is None:
        deployment = deployment_create(
            protocol=protocol, name=DEMO_DEPLOYMENT, actor=run.users["scientist"],
            labels=list(VALIDATION), model_name=DEMO_MODEL[0], model_version=DEMO_MODEL[1],
            validation=VALIDATION,
        )
    version = deployment.active_version
    if version is None or (version.model_name, version.model_version) != DEMO_MODEL:
        return  # someone switched the demo deployment to their own model: leave it to them
    items = _demo_outputs(run, deployment)
    if not items:
        return
    result = prediction_batch_store(deployment=deployment, actor=run.users["scientist"], items=items)
    alerts = (result.analysis or {}).get("new_alerts", 0)
    run.say(f"Demo monitoring: {result.accepted} model outputs stored, {alerts} new alert(s).")


def _unscored(deployment: Deployment) -> QuerySet[Study]:
    """The protocol's studies with a report and no output from the active version yet."""
    scored = Prediction.objects.filter(version=deployment.active_version).values("study_id")
    return Study.objects.filter(protocol=deployment.protocol, report__isnull=False).exclude(pk__in=scored)


def _demo_outputs(run: DemoRun, deployment: Deployment) -> list[dict[str, Any]]:
    """The demo model's outputs for the studies it has not scored, in study-date order."""
    studies = list(
        _unscored(deployment).order_by("study_date", "id").values_list("id", "accession", "study_date", "software_version")
    )
    if not studies:
        return []
    values = {
        (study_id, name): value
        for study_id, name, value in SoftLabel.objects.filter(
            report__study__protocol=deployment.protocol, label__name__in=list(VALIDATION)
        ).values_list("report__study_id", "label__name", "value")
    }
    latest = max((day for _, _, day, _ in studies if day is not None), default=None)
    cutoff = latest - dt.timedelta(days=SOFTWARE_UPDATE_DAYS_AGO) if latest is not None else None
    items = []
    for study_id, accession, day, software in studies:
        # Seeded by the study, so a rerun (or a study scored later) draws the same outputs.
        rng = random.Random(f"demo-monitoring:{run.seed}:{accession}")
        # A demo seeded before its studies carried equipment: the drift covers the same last days.
        updated = software == NEW_SOFTWARE if software else bool(cutoff and day and day >= cutoff)
        for name in VALIDATION:
            value = values.get((study_id, name), "absent")
            wrong = rng.random() < (DRIFT if updated and name == DRIFTING_LABEL else NOISE)
            found = (value == "positive") != wrong
            p = rng.uniform(0.35, 0.65) if value == "uncertain" else rng.uniform(0.7, 0.98) if found else rng.uniform(0.02, 0.3)
            items.append({"accession": accession, "label": name, "p": round(p, 3)})
    return items
